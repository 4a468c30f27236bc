"""Loading a model by name through the shared cache: resolve, pick device/dtype/backend, pin while in use."""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Iterator

from ai_magics.cache import ModelKey, get_cache
from ai_magics.cache.device import resolve_device, resolve_dtype
from ai_magics.config import get_settings
from ai_magics.errors import AIMagicsError
from ai_magics.models.resolve import resolve_model
from ai_magics.plugins import get_plugin_host
from ai_magics.registry import LoadRequest, ModelSource

KIND_NAMES = {"causal-lm": "text generator", "text-encoder": "text encoder"}


@dataclass(frozen=True)
class ModelPlan:
    """Everything decided before loading: the source, the backend, and the cache key."""

    source: ModelSource
    backend: str
    key: ModelKey
    request: LoadRequest


def plan_model(
    name: str | None, kind: str, device: str | None = None, dtype: str | None = None, backend: str | None = None,
    default: str | None = None,
) -> ModelPlan:  # fmt: skip
    """Decide how ``name`` will be loaded for ``kind``, failing clearly on bad names, devices or kinds."""
    settings = get_settings()
    host = get_plugin_host()
    registry = host.registry
    source = resolve_model(name or default or settings.default_model, registry, host.resolve_model)
    if source.kind is not None and source.kind != kind:
        have = KIND_NAMES.get(source.kind, source.kind)
        want = KIND_NAMES.get(kind, kind)
        fits = [n for n, a in registry.models.items() if a.kind == kind]
        raise AIMagicsError(
            f"Model {source.model_id!r} is a {have}, not a {want}. Use a {want} here"
            + (f", such as {', '.join(map(repr, fits))}." if fits else ".")
        )
    resolved_device = resolve_device(device or settings.device)
    resolved_dtype = resolve_dtype(dtype or settings.dtype, resolved_device)
    chosen = backend or host.select_backend(source, kind, resolved_device)
    if chosen is None or chosen not in registry.backends:
        names = ", ".join(sorted(registry.backends)) or "none"
        what = f"Backend {backend!r} is not installed" if backend else f"No backend can load {source.model_id!r}"
        raise AIMagicsError(f"{what}. Installed backends: {names}. See `%ai_magics plugins`.")
    spec = registry.backends[chosen]
    if kind not in spec.kinds or source.file_format not in spec.formats:
        raise AIMagicsError(
            f"Backend {chosen!r} cannot load {source.file_format} models for {KIND_NAMES.get(kind, kind)}s "
            f"(it loads {', '.join(spec.formats)} models for: {', '.join(spec.kinds)}). Choose another --backend."
        )
    key = ModelKey(source.model_id, source.revision, kind, resolved_device, resolved_dtype, chosen)
    return ModelPlan(source, chosen, key, LoadRequest(source, kind, resolved_device, resolved_dtype))


@contextmanager
def use_model(plan: ModelPlan) -> Iterator[Any]:
    """Yield the loaded model for ``plan``, pinned in the shared cache while the block runs."""
    spec = get_plugin_host().registry.backends[plan.backend]

    def estimate() -> int:  # called by the cache on a miss only
        if spec.estimate is None:
            return 0
        try:
            return int(spec.estimate(plan.request))
        except Exception:  # an estimate is advisory: a file it cannot read will fail the load itself, clearly
            return 0

    with get_cache().use(plan.key, lambda: spec.load(plan.request), estimate) as model:
        yield model
