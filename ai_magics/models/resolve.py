"""Turn what the user typed after ``--model`` into a model source: an alias, a trained model, a path or a hub id."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Callable

from ai_magics.errors import AIMagicsError
from ai_magics.models import trained
from ai_magics.registry import ModelSource, Registry

HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")
TRAINED_MARKER = "ai_magics_trained.json"  # written by %%train into every folder it saves


def saved_by_train(folder: Path) -> ModelSource | None:
    """The source for a folder ``%%train --save`` wrote (its marker names the kind and format), else None."""
    try:
        marker = json.loads((folder / TRAINED_MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(marker, dict) or "kind" not in marker:
        return None
    return ModelSource(
        model_id=str(folder), path=str(folder), kind=str(marker["kind"]),
        file_format=str(marker.get("file_format", "trained")),
    )  # fmt: skip


def known_models(registry: Registry) -> list[str]:
    """Every name ``--model`` accepts without a path: aliases, then trained models."""
    return sorted(registry.models) + sorted(trained.names())


def unknown_model(name: str, registry: Registry) -> AIMagicsError:
    """The error for a model name that is none of the things we can load."""
    return AIMagicsError(
        f"Unknown model {name!r}. Known models: {', '.join(known_models(registry)) or 'none'}. You can also give "
        "a local folder or .gguf file, or a Hugging Face hub id written as 'organisation/name' (downloaded "
        "before, if this machine is offline)."
    )


def resolve_model(
    name: str, registry: Registry, resolver: Callable[[str], ModelSource | None] | None = None
) -> ModelSource:
    """The source for ``name``, or a clear error listing the known aliases.

    Order: trained models, aliases, then ``resolver`` (the plugins' ``ai_magics_resolve_model`` answers), then
    local paths and hub ids."""
    name = (name or "").strip()
    if not name:
        raise AIMagicsError("No model was given. Pass --model NAME, e.g. --model smollm2.")
    if trained.has(name):
        return trained.source(name)
    if name in registry.models:
        return registry.models[name].locate()
    if resolver is not None:
        source = resolver(name)
        if source is not None:
            return source
    path = Path(name).expanduser()
    if path.exists():
        if path.is_file() and path.suffix == ".gguf":
            resolved = path.resolve()
            return ModelSource(model_id=str(resolved), path=str(resolved.parent), gguf_file=resolved.name)
        if path.is_dir():
            resolved = path.resolve()
            return saved_by_train(resolved) or ModelSource(model_id=str(resolved), path=str(resolved))
        raise AIMagicsError(
            f"{name!r} is a file, not a model folder. Give the folder that holds config.json and the weights, "
            "or a .gguf file."
        )
    base = name.split("@", 1)[0]
    if name.startswith((".", "/", "~")) or base.endswith(".gguf") or base.count("/") > 1:
        raise AIMagicsError(f"There is no model at {name!r}: that path does not exist. Check the spelling.")
    revision = None
    if "@" in name:
        name, revision = name.split("@", 1)
    if HUB_ID.match(name):
        return ModelSource(model_id=name, path=name, revision=revision)
    raise unknown_model(name, registry)
