"""The ai-magics plugin: an ``openai`` backend for OpenAI-compatible HTTP servers, and ``server:NAME`` models.

Entry point (see pyproject.toml)::

    [project.entry-points.ai_magics]
    openai = "ai_magics_openai.plugin"

``--model server:NAME`` is the model NAME on the server: the names listed in ``OpenAIServer.models`` (or
``AI_MAGICS_OPENAI_MODELS``) are registered as aliases, and ``"smol=NAME"`` there also registers ``smol``. With an
ai-magics that has the ``ai_magics_resolve_model`` hook, any ``server:NAME`` works, and ``server`` alone is the
server's default model (``OpenAIServer.default_model``, else the first it lists).
"""

from __future__ import annotations

from typing import Any, Callable

from ai_magics import hookimpl
from ai_magics.errors import AIMagicsError
from ai_magics.registry import Backend, LoadRequest, ModelAlias, ModelSource

from ai_magics_openai.settings import get_settings

BACKEND_NAME = "openai"
FORMAT = "openai"
PREFIX = "server:"
DEFAULT_ALIAS = "server"
KINDS = ("causal-lm",)


def server_source(model_id: str) -> ModelSource:
    """The source for ``server`` (the default model) or ``server:NAME``."""
    return ModelSource(model_id=model_id, path=get_settings().base_url, kind="causal-lm", file_format=FORMAT)


def server_model(model_id: str) -> str:
    """The server's name for a model id: 'server:NAME' gives NAME, 'server' gives '' (the default)."""
    return model_id[len(PREFIX) :] if model_id.startswith(PREFIX) else ""


def load(request: LoadRequest) -> Any:
    """Check that the server answers (and takes the key), then return a generator for the model."""
    from ai_magics_openai.client import list_models
    from ai_magics_openai.generator import ServerGenerator, current_endpoint

    if request.kind not in KINDS:
        raise AIMagicsError(f"The openai backend generates text; it cannot load {request.kind} models.")
    endpoint = current_endpoint()
    try:
        available = list_models(endpoint)
    except AIMagicsError as exc:
        if "HTTP 404" not in str(exc):  # a server without GET /models still generates
            raise
        available = []
    name = server_model(request.source.model_id) or get_settings().default_model or (available[:1] or [""])[0]
    if not name:
        raise AIMagicsError(
            f"The server at {endpoint.shown_url} lists no model, so --model server has nothing to use. Name one: "
            "--model server:NAME, or %config OpenAIServer.default_model = 'NAME'."
        )
    return ServerGenerator(name, request.source.model_id)


@hookimpl
def ai_magics_register_backends(register: Callable[[Backend], None]) -> None:
    register(
        Backend(
            BACKEND_NAME, KINDS, (FORMAT,), load,
            "any OpenAI-compatible HTTP server (llama.cpp, vLLM, Ollama, hosted), streamed over SSE",
        )  # fmt: skip
    )


@hookimpl
def ai_magics_register_models(register: Callable[[ModelAlias], None]) -> None:
    for alias, model in get_settings().model_names():
        register(
            ModelAlias(
                alias, "causal-lm", lambda m=model: server_source(PREFIX + m),
                f"{model!r} on the OpenAI-compatible server",
            )  # fmt: skip
        )


@hookimpl(optionalhook=True)
def ai_magics_resolve_model(name: str) -> ModelSource | None:
    """``server:NAME`` for any NAME, and ``server`` for the server's default model (with ai-magics versions that
    have this hook; before, only the names in ``OpenAIServer.models`` are known)."""
    if name == DEFAULT_ALIAS or (name.startswith(PREFIX) and len(name) > len(PREFIX)):
        return server_source(name)
    return None


@hookimpl
def ai_magics_select_backend(source: ModelSource, kind: str) -> str | None:
    return BACKEND_NAME if source.file_format == FORMAT and kind in KINDS else None
