"""Settings of the OpenAI-compatible server backend: ``%config OpenAIServer.<name>``, or environment variables.

The API key is read when a request is made: ``OpenAIServer.api_key`` if set, else the environment variable named
by ``OpenAIServer.api_key_env`` (default ``OPENAI_API_KEY``). It is held in a string whose repr is masked, so
``%config OpenAIServer`` and the cell's value show ``'********'``, never the key.
"""

from __future__ import annotations

import json
import os
from typing import Any

from traitlets import Dict, Float, Unicode, default, observe, validate
from traitlets.config import Configurable

from ai_magics.errors import AIMagicsError
from ai_magics.shell_settings import ShellSettings

BASE_URL_ENVS = ("AI_MAGICS_OPENAI_BASE_URL", "OPENAI_BASE_URL")
MODELS_ENV = "AI_MAGICS_OPENAI_MODELS"
EXTRA_BODY_ENV = "AI_MAGICS_OPENAI_EXTRA_BODY"
DEFAULT_BASE_URL = "http://127.0.0.1:8000/v1"
MASK = "********"


class Secret(str):
    """A string that never shows itself in a repr (``%config``, ``Out[]``, tracebacks of values)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return repr(MASK) if self else "''"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(repr(self))


class OpenAIServer(Configurable):
    """ai-magics OpenAI-compatible server backend. In a notebook: ``%config OpenAIServer.base_url = '...'``."""

    base_url = Unicode(
        help="Base URL of the server's OpenAI API, ending in /v1 (llama.cpp, vLLM, Ollama, a hosted API). "
        "Environment: AI_MAGICS_OPENAI_BASE_URL or OPENAI_BASE_URL; default http://127.0.0.1:8000/v1."
    ).tag(config=True)
    api_key = Unicode(
        "", help="API key (shown masked). Prefer the environment variable named by api_key_env."
    ).tag(config=True)
    api_key_env = Unicode(
        "OPENAI_API_KEY", help="Environment variable the API key is read from when api_key is not set."
    ).tag(config=True)
    models = Unicode(
        help="Comma-separated server model names to register as aliases 'server:NAME'; 'alias=NAME' also "
        "registers 'alias'. Environment: AI_MAGICS_OPENAI_MODELS."
    ).tag(config=True)
    default_model = Unicode(
        "", help="Server model used by --model server (empty: the first model the server lists)."
    ).tag(config=True)
    extra_body = Dict(
        help="Extra JSON fields sent with every request, for server-specific options, e.g. "
        "{'repeat_penalty': 1.0, 'top_k': 50} for llama.cpp's server. Environment: AI_MAGICS_OPENAI_EXTRA_BODY "
        "(JSON)."
    ).tag(config=True)
    timeout = Float(120.0, help="Seconds to wait to connect, and for each streamed token.").tag(config=True)

    def __init__(self, **kwargs: Any) -> None:
        self._ready = False
        super().__init__(**kwargs)
        self._ready = True

    @default("base_url")
    def _base_url_from_env(self) -> str:
        for name in BASE_URL_ENVS:
            if os.environ.get(name, "").strip():
                return os.environ[name].strip().rstrip("/")
        return DEFAULT_BASE_URL

    @default("models")
    def _models_from_env(self) -> str:
        return os.environ.get(MODELS_ENV, "")

    @default("extra_body")
    def _extra_body_from_env(self) -> dict:
        text = os.environ.get(EXTRA_BODY_ENV, "").strip()
        if not text:
            return {}
        try:
            value = json.loads(text)
        except ValueError as exc:
            raise AIMagicsError(f"{EXTRA_BODY_ENV} is not valid JSON ({exc}). Write a JSON object.") from None
        if not isinstance(value, dict):
            raise AIMagicsError(f"{EXTRA_BODY_ENV} must be a JSON object, like {{\"top_k\": 40}}.")
        return value

    @validate("api_key")
    def _mask_key(self, proposal: dict) -> Secret:
        return Secret(proposal["value"].strip())

    @validate("base_url")
    def _check_base_url(self, proposal: dict) -> str:
        value = proposal["value"].strip().rstrip("/")
        if not value.startswith(("http://", "https://")):
            raise AIMagicsError(f"OpenAIServer.base_url must start with http:// or https://, not {value[:40]!r}.")
        return value

    @observe("models")
    def _models_changed(self, change: dict) -> None:
        if self._ready and change["old"] != change["new"]:
            from ai_magics.plugins import reload_plugins

            reload_plugins()  # the aliases are registered again from the new list

    def key(self) -> Secret:
        """The API key to send ('' for none): the setting, else the environment variable."""
        if self.api_key:
            return Secret(self.api_key)
        return Secret(os.environ.get(self.api_key_env, "").strip()) if self.api_key_env else Secret("")

    def model_names(self) -> list[tuple[str, str]]:
        """(alias, server model) pairs from ``models``: 'NAME' gives ('server:NAME', NAME)."""
        pairs = []
        for item in self.models.split(","):
            item = item.strip()
            if not item:
                continue
            alias, _, model = item.partition("=") if "=" in item else (f"server:{item}", "", item)
            pairs.append((alias.strip(), model.strip()))
        return pairs


_settings = ShellSettings(OpenAIServer)


def get_settings() -> OpenAIServer:
    """The process-wide settings, attached to the running IPython shell (if any) so ``%config`` reaches them."""
    return _settings.get()


def reset_settings() -> None:
    """Forget the settings object (tests); the next use makes a new one from the environment."""
    _settings.reset()
