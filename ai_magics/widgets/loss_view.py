"""Showing a training run: a live loss curve with progress, ETA, metrics and a Stop button, or a tqdm bar.

The live view (ipywidgets) draws the curve as inline SVG, redrawn at most ~10 times a second, so the widget
costs the training loop almost nothing. When training ends (or stops), the widget is closed and replaced by a
static PNG of the curve (matplotlib, Agg) with a one-line summary, so a saved notebook or nbconvert's HTML
shows it without widget state. In terminal IPython or a script, a tqdm bar and a text summary are printed.
"""

from __future__ import annotations

import base64
import html
import io
import sys
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Protocol, TextIO

from ai_magics.widgets.frontend import in_kernel
from ai_magics.widgets.throttle import Throttle
from ai_magics.widgets.ui_poll import UIEventPump

UPDATE_INTERVAL = 0.1  # seconds between progress updates: 10 a second
PLOT_INTERVAL = 0.5  # seconds between redraws of the curve (the costlier update)
SMOOTHING = 0.9  # exponential moving average of the step loss
MAX_POINTS = 300  # the live SVG draws at most this many points per line
MAX_MARKERS = 50  # validation points get a marker while there are at most this many


class LossView(Protocol):
    """Where a training run's progress goes."""

    def start(self, total_steps: int, on_stop: Callable[[], None]) -> None: ...

    def step(self, step: int, epoch: int, loss: float) -> None: ...

    def epoch(self, epoch: int, step: int, metrics: dict[str, float]) -> None: ...

    def finish(self, summary: str, stopped: bool) -> None: ...


@dataclass
class Curve:
    """The points of a loss curve: every step's loss, its moving average, and validation loss per epoch."""

    steps: list[int] = field(default_factory=list)
    losses: list[float] = field(default_factory=list)
    smoothed: list[float] = field(default_factory=list)
    val_steps: list[int] = field(default_factory=list)
    val_losses: list[float] = field(default_factory=list)
    metrics: dict[str, float] = field(default_factory=dict)
    epoch: int = 0

    def add(self, step: int, epoch: int, loss: float) -> None:
        self.steps.append(step)
        self.losses.append(loss)
        last = self.smoothed[-1] if self.smoothed else loss
        self.smoothed.append(SMOOTHING * last + (1 - SMOOTHING) * loss if loss == loss else last)
        self.epoch = epoch

    def add_epoch(self, epoch: int, step: int, metrics: dict[str, float]) -> None:
        self.metrics = dict(metrics)
        self.epoch = epoch
        if "val_loss" in metrics:
            self.val_steps.append(step)
            self.val_losses.append(metrics["val_loss"])


def format_seconds(seconds: float) -> str:
    """'0:07', '12:34' or '1:02:03'."""
    seconds = int(max(0.0, seconds))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


def progress_line(curve: Curve, total: int, elapsed: float) -> str:
    """'step 120/400 · epoch 3 · loss 0.4123 · 0:03 elapsed, ETA 0:07'."""
    step = curve.steps[-1] if curve.steps else 0
    eta = elapsed / step * (total - step) if step else 0.0
    loss = f" · loss {curve.smoothed[-1]:.4g}" if curve.smoothed else ""
    timing = f"{format_seconds(elapsed)} elapsed, ETA {format_seconds(eta)}"
    return f"step {step}/{total} · epoch {curve.epoch}{loss} · {timing}"


def metrics_line(metrics: dict[str, float]) -> str:
    """'train_loss 0.31 · val_loss 0.35 · val_accuracy 0.912'."""
    return " · ".join(f"{k} {v:.4g}" for k, v in metrics.items())


def _thin(xs: list[int], ys: list[float]) -> tuple[list[int], list[float]]:
    stride = max(1, -(-len(xs) // MAX_POINTS))
    return xs[::stride] + ([xs[-1]] if (len(xs) - 1) % stride else []), ys[::stride] + (
        [ys[-1]] if (len(ys) - 1) % stride else []
    )


def svg_curve(curve: Curve, width: int = 560, height: int = 180) -> str:
    """The curve as an inline SVG: raw step loss (faint), smoothed loss (blue), validation per epoch (orange)."""
    if not curve.steps:
        return f'<svg width="{width}" height="{height}"></svg>'
    xs, raw = _thin(curve.steps, curve.losses)
    _, smooth = _thin(curve.steps, curve.smoothed)
    values = [v for v in smooth + curve.val_losses if v == v and abs(v) != float("inf")] or [0.0]
    lo, hi = min(values), max(values)
    hi = hi if hi > lo else lo + 1.0
    pad_l, pad_r, pad_t, pad_b = 46, 10, 8, 20
    sx = (width - pad_l - pad_r) / max(curve.steps[-1], 1)
    sy = (height - pad_t - pad_b) / (hi - lo)
    floor, ceiling = lo - 0.1 * (hi - lo), hi + 0.1 * (hi - lo)  # raw losses are clipped to this band

    def line(px: list[int], py: list[float]) -> str:
        clipped = (y if floor <= y <= ceiling else (floor if y < floor else ceiling) for y in py)  # NaN: ceiling
        return " ".join(f"{pad_l + sx * x:.1f},{pad_t + sy * (hi - y):.1f}" for x, y in zip(px, clipped))

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" '
        'font-size="10">',
        f'<rect x="{pad_l}" y="{pad_t}" width="{width - pad_l - pad_r}" height="{height - pad_t - pad_b}" '
        'fill="none" stroke="#ddd"/>',
        f'<polyline points="{line(xs, raw)}" fill="none" stroke="#1f77b4" stroke-opacity="0.25" stroke-width="1"/>',
        f'<polyline points="{line(xs, smooth)}" fill="none" stroke="#1f77b4" stroke-width="2"/>',
    ]
    if curve.val_steps:
        val = line(*_thin(curve.val_steps, curve.val_losses))
        parts.append(f'<polyline points="{val}" fill="none" stroke="#ff7f0e" stroke-width="1.5"/>')
        if len(curve.val_steps) <= MAX_MARKERS:
            for point in val.split():
                cx, cy = point.split(",")
                parts.append(f'<circle cx="{cx}" cy="{cy}" r="3" fill="#ff7f0e"/>')
    parts += [
        f'<text x="{pad_l - 4}" y="{pad_t + 8}" text-anchor="end" fill="#555">{hi:.3g}</text>',
        f'<text x="{pad_l - 4}" y="{height - pad_b}" text-anchor="end" fill="#555">{lo:.3g}</text>',
        f'<text x="{width - pad_r}" y="{height - 5}" text-anchor="end" fill="#555">step {curve.steps[-1]}</text>',
        f'<text x="{pad_l + 4}" y="{height - 5}" fill="#1f77b4">train loss (smoothed)</text>',
    ]
    if curve.val_steps:
        parts.append(f'<text x="{pad_l + 130}" y="{height - 5}" fill="#ff7f0e">validation loss</text>')
    parts.append("</svg>")
    return "".join(parts)


def render_png(curve: Curve, title: str = "training loss") -> bytes:
    """The curve as a PNG (matplotlib's Agg renderer, no pyplot state touched)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6.4, 3.2), dpi=100)
    ax = fig.subplots()
    if curve.steps:
        ax.plot(curve.steps, curve.losses, color="#1f77b4", alpha=0.25, linewidth=1, label="train loss")
        ax.plot(curve.steps, curve.smoothed, color="#1f77b4", linewidth=2, label="train loss (smoothed)")
    if curve.val_steps:
        ax.plot(curve.val_steps, curve.val_losses, "o-", color="#ff7f0e", label="validation loss")
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)
    if curve.steps:
        ax.legend(fontsize=8, loc="upper right")
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()


class StaticCurve:
    """The final curve as a PNG and a summary: what a saved notebook shows in place of the widget."""

    def __init__(self, png: bytes, summary: str) -> None:
        self.png, self.summary = png, summary

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        data = base64.b64encode(self.png).decode("ascii")
        return {
            "image/png": data,
            "text/html": (
                f'<img src="data:image/png;base64,{data}" alt="training loss curve"/>'
                f'<div style="color:#555;font-size:90%">{html.escape(self.summary)}</div>'
            ),
            "text/plain": self.summary,
        }


class PlainLossView:
    """A tqdm bar while training and a text summary after (terminal IPython, scripts, headless runs).

    In a kernel (widgets turned off) the static PNG of the curve is shown too.
    """

    def __init__(self, out: TextIO | None = None, title: str = "train", show_png: bool | None = None) -> None:
        self._out = out or sys.stdout
        self._title = title
        self._show_png = in_kernel() if show_png is None else show_png
        self._throttle = Throttle(UPDATE_INTERVAL)
        self.curve = Curve()
        self._bar: Any = None
        self._shown = 0

    def start(self, total_steps: int, on_stop: Callable[[], None]) -> None:
        from tqdm import tqdm

        self._bar = tqdm(total=total_steps, desc=self._title, unit="step", file=self._out, mininterval=UPDATE_INTERVAL,
                         dynamic_ncols=True, leave=True)  # fmt: skip

    def step(self, step: int, epoch: int, loss: float) -> None:
        self.curve.add(step, epoch, loss)
        if self._throttle.ready():
            self._refresh(step)

    def _refresh(self, step: int) -> None:
        if self._bar is None:
            return
        self._bar.update(step - self._shown)
        self._shown = step
        postfix = {"epoch": self.curve.epoch, "loss": f"{self.curve.smoothed[-1]:.4g}"}
        postfix.update({k: f"{v:.4g}" for k, v in self.curve.metrics.items() if k.startswith("val_")})
        self._bar.set_postfix(postfix, refresh=False)

    def epoch(self, epoch: int, step: int, metrics: dict[str, float]) -> None:
        self.curve.add_epoch(epoch, step, metrics)

    def finish(self, summary: str, stopped: bool) -> None:
        if self._bar is not None:
            if self.curve.steps:
                self._refresh(self.curve.steps[-1])
            self._bar.close()
        self._out.write(summary + "\n")
        self._out.flush()
        if self._show_png and self.curve.steps:
            from IPython.display import display

            display(StaticCurve(render_png(self.curve, self._title), summary))


class WidgetLossView:
    """The live ipywidgets view: SVG loss curve, progress bar with ETA, latest metrics, Stop button."""

    def __init__(self, title: str = "train") -> None:
        self._title = title
        self._throttle = Throttle(UPDATE_INTERVAL)
        self._plot_throttle = Throttle(PLOT_INTERVAL)
        self._pump = UIEventPump()
        self.curve = Curve()
        self._handle: Any = None
        self._box: Any = None
        self._total = 0
        self._started = 0.0

    def start(self, total_steps: int, on_stop: Callable[[], None]) -> None:
        import ipywidgets as w
        from IPython.display import display

        self._total = total_steps
        self._started = time.perf_counter()
        self._plot = w.HTML(value=svg_curve(self.curve))
        self._bar = w.IntProgress(value=0, min=0, max=max(total_steps, 1), description=self._title,
                                  layout=w.Layout(width="60%"))  # fmt: skip
        self._progress = w.HTML(value="")
        self._metrics = w.HTML(value="")
        self._button = w.Button(description="Stop", button_style="danger", icon="stop", layout=w.Layout(width="auto"))
        self._button.add_class("ai-magics-stop")
        self._plot.add_class("ai-magics-loss-curve")

        def clicked(_button: Any) -> None:
            self._button.disabled = True
            self._button.description = "Stopping…"
            on_stop()

        self._button.on_click(clicked)
        self._box = w.VBox([self._plot, w.HBox([self._bar, self._button]), self._progress, self._metrics])
        self._handle = display(self._box, display_id=True)
        self._pump.__enter__()

    def step(self, step: int, epoch: int, loss: float) -> None:
        self.curve.add(step, epoch, loss)
        if self._throttle.ready():
            self._redraw()

    def epoch(self, epoch: int, step: int, metrics: dict[str, float]) -> None:
        self.curve.add_epoch(epoch, step, metrics)  # shown at the next (throttled) redraw

    def _redraw(self) -> None:
        elapsed = time.perf_counter() - self._started
        if self._plot_throttle.ready():
            self._plot.value = svg_curve(self.curve)
        self._bar.value = self.curve.steps[-1] if self.curve.steps else 0
        line = html.escape(progress_line(self.curve, self._total, elapsed))
        self._progress.value = f'<span style="color:#555">{line}</span>'
        if self.curve.metrics:
            latest = html.escape(metrics_line(self.curve.metrics))
            self._metrics.value = f'<span style="color:#555">epoch {self.curve.epoch}: {latest}</span>'
        self._pump.pump()

    def finish(self, summary: str, stopped: bool) -> None:
        self._pump.__exit__(None, None, None)
        if self._box is not None:
            for child in (self._plot, self._bar, self._progress, self._metrics, self._button, *self._box.children):
                child.close()
            self._box.close()
        if self._handle is not None:
            self._handle.update(StaticCurve(render_png(self.curve, self._title), summary))


def make_loss_view(widgets: bool, title: str = "train") -> LossView:
    """The live widget view where widgets are on, else the tqdm/text view."""
    return WidgetLossView(title) if widgets else PlainLossView(title=title)
