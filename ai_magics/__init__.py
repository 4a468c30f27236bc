"""ai-magics: Jupyter cell magics (%%generate, %%classify, %%train) that run real models on your machine.

Load it in a notebook with ``%load_ext ai_magics``. The same tasks are a Python API::

    import ai_magics
    ai_magics.generate("The quick brown fox", max_new_tokens=32)

Heavy libraries (torch, transformers) are imported on first use, not on import.
"""

from __future__ import annotations

from typing import Any

from ai_magics.errors import AIMagicsError
from ai_magics.hookspecs import hookimpl

__version__ = "0.1.0"
__all__ = [
    "AIMagicsError",
    "classify",
    "generate",
    "get_cache",
    "hookimpl",
    "load_ipython_extension",
    "run_task",
    "train",
    "stream_generate",
    "unload_ipython_extension",
]

_LAZY = {
    "generate": "ai_magics.tasks.generate.api",
    "stream_generate": "ai_magics.tasks.generate.api",
    "get_cache": "ai_magics.cache",
    "run_task": "ai_magics.tasks.runner",
    "train": "ai_magics.tasks.train.api",
    "classify": "ai_magics.tasks.classify.api",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'ai_magics' has no attribute {name!r}")


def load_ipython_extension(ipython: Any) -> None:
    """Called by ``%load_ext ai_magics``."""
    from ai_magics.magics import load_ipython_extension as load

    load(ipython)


def unload_ipython_extension(ipython: Any) -> None:
    """Called by ``%unload_ext ai_magics``."""
    from ai_magics.magics import unload_ipython_extension as unload

    unload(ipython)
