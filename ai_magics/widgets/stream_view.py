"""Showing generated text as it streams: a live widget with tokens/s and Stop, or plain text."""

from __future__ import annotations

import html
import sys
from typing import Any, Callable, Protocol, TextIO

from ai_magics.widgets.throttle import Throttle
from ai_magics.widgets.ui_poll import UIEventPump


def stats_line(tokens: int, elapsed: float, stopped: bool) -> str:
    """'64 tokens in 3.7 s (17.3 tok/s)', with ', stopped' when the run was cut short."""
    rate = tokens / elapsed if elapsed > 0 else 0.0
    return f"{tokens} tokens in {elapsed:.1f} s ({rate:.1f} tok/s)" + (", stopped" if stopped else "")


class StreamView(Protocol):
    """Where a generation's text goes while it streams."""

    def start(self, on_stop: Callable[[], None]) -> None: ...

    def add(self, piece: str, text: str, tokens: int, elapsed: float) -> None: ...

    def finish(self, text: str, tokens: int, elapsed: float, stopped: bool) -> None: ...


class PlainStreamView:
    """Text written to a stream as it arrives (terminal IPython, scripts, headless runs)."""

    def __init__(self, out: TextIO | None = None, show_stats: bool = True) -> None:
        self._out = out or sys.stdout
        self._flush = Throttle()
        self._show_stats = show_stats

    def start(self, on_stop: Callable[[], None]) -> None:
        pass

    def add(self, piece: str, text: str, tokens: int, elapsed: float) -> None:
        if piece:
            self._out.write(piece)
            if self._flush.ready():
                self._out.flush()

    def finish(self, text: str, tokens: int, elapsed: float, stopped: bool) -> None:
        tail = f"\n[{stats_line(tokens, elapsed, stopped)}]\n" if self._show_stats else "\n"
        self._out.write(tail)
        self._out.flush()


class StaticText:
    """The final text as a plain display object, so saved notebooks show it without widget state."""

    def __init__(self, text: str, footer: str) -> None:
        self.text, self.footer = text, footer

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        body = html.escape(self.text)
        return {
            "text/plain": f"{self.text}\n[{self.footer}]",
            "text/html": (
                f'<pre style="white-space:pre-wrap;margin:0">{body}</pre>'
                f'<div style="color:#777;font-size:85%">{html.escape(self.footer)}</div>'
            ),
        }


class WidgetStreamView:
    """A live ipywidgets view: growing text, tokens/s and a Stop button, updated at most ~15 times a second."""

    def __init__(self, title: str = "generate") -> None:
        self._title = title
        self._throttle = Throttle()
        self._pump = UIEventPump()
        self._handle: Any = None
        self._box: Any = None

    def start(self, on_stop: Callable[[], None]) -> None:
        import ipywidgets as w
        from IPython.display import display

        self._text = w.HTML(value=self._render(""), layout=w.Layout(width="100%"))
        self._stats = w.HTML(value='<span style="color:#777">loading model…</span>')
        self._button = w.Button(description="Stop", button_style="danger", icon="stop",
                                layout=w.Layout(width="auto"))  # fmt: skip
        self._button.add_class("ai-magics-stop")
        self._text.add_class("ai-magics-stream")

        def clicked(_button: Any) -> None:
            self._button.disabled = True
            self._button.description = "Stopping…"
            on_stop()

        self._button.on_click(clicked)
        self._box = w.VBox([self._text, w.HBox([self._button, self._stats])])
        self._handle = display(self._box, display_id=True)
        self._pump.__enter__()

    @staticmethod
    def _render(text: str) -> str:
        return f'<pre style="white-space:pre-wrap;margin:0;min-height:1.5em">{html.escape(text)}</pre>'

    def add(self, piece: str, text: str, tokens: int, elapsed: float) -> None:
        if self._throttle.ready():
            self._text.value = self._render(text)
            self._stats.value = f'<span style="color:#777">{html.escape(stats_line(tokens, elapsed, False))}</span>'
            self._pump.pump()

    def finish(self, text: str, tokens: int, elapsed: float, stopped: bool) -> None:
        self._pump.__exit__(None, None, None)
        if self._box is not None:
            for child in (self._text, self._stats, self._button, *self._box.children):
                child.close()
            self._box.close()
        if self._handle is not None:
            self._handle.update(StaticText(text, stats_line(tokens, elapsed, stopped)))


def make_stream_view(widgets: bool, title: str = "generate") -> StreamView:
    """The widget view where widgets are on, else the plain-text view."""
    return WidgetStreamView(title) if widgets else PlainStreamView()
