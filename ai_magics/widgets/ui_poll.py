"""Processing widget messages (a Stop click) while a cell is still running.

The kernel does not read comm messages while it executes a cell, so a button's click would arrive only after
the work ends. jupyter-ui-poll lets us handle pending UI events between two steps of our own loop.
"""

from __future__ import annotations

from typing import Any, Callable


class UIEventPump:
    """Enter while work runs; call :meth:`pump` between steps to deliver pending widget events."""

    def __init__(self) -> None:
        self._context: Any = None
        self._poll: Callable[[int], Any] | None = None

    def __enter__(self) -> UIEventPump:
        try:
            from jupyter_ui_poll import ui_events

            self._context = ui_events()
            self._poll = self._context.__enter__()
        except Exception:  # not in a kernel that supports it: Stop then works after the cell only
            self._context = self._poll = None
        return self

    def pump(self, max_events: int = 5) -> None:
        """Deliver up to ``max_events`` pending front-end messages."""
        if self._poll is not None:
            try:
                self._poll(max_events)
            except Exception:
                self._poll = None

    def __exit__(self, *exc: object) -> None:
        if self._context is not None:
            try:
                self._context.__exit__(None, None, None)
            finally:
                self._context = self._poll = None
