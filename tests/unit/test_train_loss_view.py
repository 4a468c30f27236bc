"""The loss views: the live widget (SVG curve, progress, metrics, Stop) replaced by a static PNG at the end, and
the terminal's tqdm bar with a text summary."""

from __future__ import annotations

import io

import pytest

from ai_magics.widgets import loss_view
from ai_magics.widgets.loss_view import Curve, PlainLossView, StaticCurve, WidgetLossView


def filled_curve(steps: int = 50) -> Curve:
    curve = Curve()
    for step in range(1, steps + 1):
        curve.add(step, (step - 1) // 10 + 1, 1.0 / step)
        if step % 10 == 0:
            curve.add_epoch(step // 10, step, {"train_loss": 0.1, "val_loss": 0.2 / step})
    return curve


def test_curve_smooths_and_keeps_validation_per_epoch():
    curve = filled_curve()
    assert curve.smoothed[0] == 1.0 and curve.smoothed[-1] > curve.losses[-1]  # lags behind a falling loss
    assert curve.val_steps == [10, 20, 30, 40, 50] and curve.epoch == 5


def test_svg_draws_both_lines_and_caps_points():
    svg = loss_view.svg_curve(filled_curve(50))
    assert svg.startswith("<svg") and svg.count("<polyline") == 3 and svg.count("<circle") == 5
    long = loss_view.svg_curve(filled_curve(5000))  # 500 epochs
    lines = [part.split('"')[0].split() for part in long.split('points="')[1:]]
    assert all(len(points) <= loss_view.MAX_POINTS + 2 for points in lines) and "<circle" not in long


def test_progress_line_has_eta():
    line = loss_view.progress_line(filled_curve(50), 100, 10.0)
    assert line.startswith("step 50/100 · epoch 5") and "0:10 elapsed, ETA 0:10" in line
    assert loss_view.format_seconds(3725) == "1:02:05"


def test_png_and_the_static_display():
    png = loss_view.render_png(filled_curve())
    assert png.startswith(b"\x89PNG")
    bundle = StaticCurve(png, "done.")._repr_mimebundle_()
    assert set(bundle) == {"image/png", "text/html", "text/plain"}
    assert "data:image/png;base64," in bundle["text/html"] and bundle["text/plain"] == "done."


def test_plain_view_prints_a_bar_and_a_summary():
    out = io.StringIO()
    view = PlainLossView(out=out, show_png=False)
    view.start(20, lambda: None)
    for step in range(1, 21):
        view.step(step, 1, 0.5)
    view.epoch(1, 20, {"train_loss": 0.5, "val_loss": 0.4})
    view.finish("tabular: trained 20 steps.", False)
    text = out.getvalue()
    assert "20/20" in text and text.rstrip().endswith("tabular: trained 20 steps.")


def test_plain_view_in_a_kernel_also_shows_the_png(monkeypatch):
    shown = []
    monkeypatch.setattr("IPython.display.display", lambda obj, **kw: shown.append(obj))
    view = PlainLossView(out=io.StringIO(), show_png=True)
    view.start(3, lambda: None)
    for step in (1, 2, 3):
        view.step(step, 1, 1.0)
    view.finish("done.", False)
    assert len(shown) == 1 and isinstance(shown[0], StaticCurve)


class FakeHandle:
    def __init__(self) -> None:
        self.updates: list = []

    def update(self, obj) -> None:
        self.updates.append(obj)


def test_widget_view_is_replaced_by_the_static_png(monkeypatch):
    pytest.importorskip("ipywidgets")
    handle = FakeHandle()
    displayed = []
    monkeypatch.setattr("IPython.display.display", lambda obj, **kw: displayed.append(obj) or handle)
    stops = []
    view = WidgetLossView("demo")
    view.start(31, lambda: stops.append(True))
    for step in range(1, 31):
        view.step(step, 1, 1.0 / step)
    view.epoch(1, 30, {"train_loss": 0.3, "val_loss": 0.25, "val_accuracy": 0.9})
    view._throttle = loss_view.Throttle(0.0)  # the next step redraws at once
    view.step(31, 2, 0.1)
    assert "val_accuracy 0.9" in view._metrics.value
    assert "<svg" in view._plot.value and view._bar.max == 31 and view._bar.value == 31
    view._button.click()
    assert stops == [True] and view._button.disabled
    view.finish("demo: trained 31 steps.", True)
    assert len(displayed) == 1 and len(handle.updates) == 1
    final = handle.updates[0]
    assert isinstance(final, StaticCurve) and final.summary == "demo: trained 31 steps."


def test_widget_updates_are_throttled(monkeypatch):
    pytest.importorskip("ipywidgets")
    monkeypatch.setattr("IPython.display.display", lambda obj, **kw: FakeHandle())
    view = WidgetLossView()
    view.start(10_000, lambda: None)
    redraws, metric_updates = [], []
    view._bar.observe(lambda change: redraws.append(change), names="value")
    view._metrics.observe(lambda change: metric_updates.append(change), names="value")
    for step in range(1, 10_001):
        view.step(step, step // 4 + 1, 1.0)
        if step % 4 == 0:  # tiny epochs: 2,500 of them
            view.epoch(step // 4, step, {"train_loss": 1.0, "val_loss": 1.0})
    view.finish("done.", False)
    assert len(redraws) < 50 and len(metric_updates) < 50  # a handful of redraws, not one per step or epoch


def test_make_loss_view_picks_by_widgets_setting():
    assert isinstance(loss_view.make_loss_view(True), WidgetLossView)
    assert isinstance(loss_view.make_loss_view(False), PlainLossView)
