"""Settings shared by the magics and the Python API, configurable with ``%config AIMagics.<name>``."""

from __future__ import annotations

from traitlets import Enum, TraitError, Unicode, validate
from traitlets.config import Configurable

from ai_magics.errors import AIMagicsError


class InvalidSetting(AIMagicsError, TraitError):
    """A rejected ``%config`` value (a TraitError, so traitlets keeps the old value)."""


class AIMagics(Configurable):
    """ai-magics settings. In a notebook: ``%config AIMagics.device = 'cpu'``."""

    default_model = Unicode("smollm2", help="Model alias, path or hub id used by %%generate.").tag(config=True)
    default_classify_model = Unicode("minilm", help="Model used by zero-shot %%classify.").tag(config=True)
    device = Unicode("auto", help="'auto' (CUDA > MPS > CPU), 'cpu', 'cuda', 'cuda:N' or 'mps'.").tag(config=True)
    dtype = Unicode(
        "auto", help="'auto' (fp32 on CPU, bf16/fp16 on GPU), 'float32', 'bfloat16' or 'float16'."
    ).tag(config=True)
    memory_budget = Unicode(
        "auto", help="Bytes the model cache may hold: 'auto' (free memory less a reserve), or e.g. '4GB', '512MB'."
    ).tag(config=True)
    widgets = Enum(["auto", "on", "off"], "auto", help="Live ipywidgets views: 'auto' uses them in a kernel.").tag(
        config=True
    )
    disabled_plugins = Unicode(
        "", help="Comma-separated plugin names not to load (also: AI_MAGICS_DISABLE_PLUGINS)."
    ).tag(config=True)

    @validate("memory_budget")
    def _check_budget(self, proposal: dict) -> str:
        from ai_magics.cache.memory import parse_bytes

        value = proposal["value"]
        if value.strip().lower() != "auto":
            try:
                parse_bytes(value)
            except AIMagicsError as exc:
                raise InvalidSetting(str(exc)) from None
        return value


_settings: AIMagics | None = None


def get_settings() -> AIMagics:
    """The process-wide settings object (the same one ``%config AIMagics`` changes)."""
    global _settings
    if _settings is None:
        _settings = AIMagics()
    return _settings


def use_settings(settings: AIMagics) -> None:
    """Make ``settings`` the process-wide one (the extension does this with a shell-configured instance)."""
    global _settings
    _settings = settings


def require_choice(value: str, choices: list[str], what: str) -> str:
    """Return ``value`` if it is one of ``choices``, else fail with a message naming them."""
    if value not in choices:
        raise AIMagicsError(f"Unknown {what} {value!r}. Choose one of: {', '.join(choices)}.")
    return value
