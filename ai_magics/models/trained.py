"""Models trained in this session by ``%%train --name NAME``: names that ``--model NAME`` resolves to.

A trained model is saved to a folder (``--save DIR`` or a session folder) and put in the shared cache under
``trained:NAME``; if the cache evicts it, it is loaded again from that folder.
"""

from __future__ import annotations

import threading

from ai_magics.errors import AIMagicsError
from ai_magics.registry import ModelSource

_sources: dict[str, ModelSource] = {}
_lock = threading.Lock()


def register(name: str, source: ModelSource) -> None:
    """Make ``name`` resolve to ``source`` (replacing an earlier model of that name)."""
    if not name or not name.strip():
        raise AIMagicsError("A trained model needs a name: pass --name NAME.")
    with _lock:
        _sources[name] = source


def has(name: str) -> bool:
    with _lock:
        return name in _sources


def source(name: str) -> ModelSource:
    with _lock:
        return _sources[name]


def names() -> list[str]:
    with _lock:
        return list(_sources)


def forget(name: str) -> None:
    with _lock:
        _sources.pop(name, None)
