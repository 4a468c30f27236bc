"""Making a trained model usable by name: save it, register ``NAME``, and put it in the shared cache."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ai_magics.cache import get_cache
from ai_magics.models import trained
from ai_magics.registry import ModelSource
from ai_magics.tasks.train.persistence import check_folder, prepare_folder, remove_session_folder


def save_folder(save: str | None, name: str | None = None, check_only: bool = False) -> Path | None:
    """The folder to save into (``save``, or a new session folder); with ``check_only`` just validate ``save``."""
    if check_only:
        if save is not None:
            check_folder(save)
        return None
    return prepare_folder(save, name)


def register_trained(name: str, folder: Path, trainer: Any, model: Any, device: str | None) -> Any:
    """Register ``name`` -> ``folder`` and cache ``model`` under the key ``--model NAME`` will look up.

    An earlier model of that name is dropped from the cache (on every device) and its session folder deleted.
    Returns the model as cached (moved to the device and dtype that key names).
    """
    from ai_magics.models.loading import plan_model

    source = ModelSource(
        model_id=f"trained:{name}", path=str(folder), kind=trainer.kind, file_format=trainer.file_format
    )
    previous = trained.source(name) if trained.has(name) else None
    trained.register(name, source)
    try:
        plan = plan_model(name, trainer.kind, device=device)
        cached = trainer.for_cache(model, plan.key.device, plan.key.dtype)
        get_cache().put(plan.key, cached)
        for entry in get_cache().entries():  # the earlier model of this name, cached for another device or dtype
            if entry.key.model_id == source.model_id and entry.key != plan.key:
                get_cache().evict(entry.key)
    except BaseException:
        if previous is None:
            trained.forget(name)
        else:
            trained.register(name, previous)
        raise
    if previous is not None and previous.path != source.path:
        remove_session_folder(previous.path)
    return cached
