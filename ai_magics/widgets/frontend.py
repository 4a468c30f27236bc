"""Deciding whether live widgets can be shown: only in a Jupyter kernel, with ipywidgets installed."""

from __future__ import annotations

import importlib.util


def in_kernel() -> bool:
    """True inside a Jupyter kernel (ipykernel's shell), False in terminal IPython or a plain script."""
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and hasattr(shell, "kernel")


def use_widgets(setting: str) -> bool:
    """Resolve the ``widgets`` setting ('auto', 'on', 'off') for the current front end."""
    if setting == "off":
        return False
    available = importlib.util.find_spec("ipywidgets") is not None and in_kernel()
    return available if setting in ("auto", "on") else False
