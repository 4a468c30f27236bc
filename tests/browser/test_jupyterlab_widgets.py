"""The live widgets in a real JupyterLab, and the same in Notebook 7, in a real Chromium on the real default
models.

The test notebook (tests/browser/conftest.py: CELLS) is opened once per front end and its cells are run one
after the other by keyboard (Shift+Enter), as a person would. Every wait is on the kernel's state (the cell's
prompt and the server's execution_state), never a fixed sleep. Screenshots of each state go to
test-artifacts/browser/<front end>-NN-<state>.png.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

README_IMAGE = Path(__file__).resolve().parents[2] / "docs" / "images" / "live-widgets.png"
FOOTER = re.compile(r"(\d+) tokens in [\d.]+ s \([\d.]+ tok/s\)(, stopped)?")


def continues(earlier: str, later: str) -> bool:
    """``later`` starts with ``earlier`` (whose last characters may still change as tokens are decoded)."""
    head = earlier.rstrip()
    return later.startswith(head[: max(0, len(head) - 2)])


def registered_tasks() -> set[str]:
    from ai_magics.plugins import PluginHost

    return set(PluginHost().registry.tasks)


@pytest.fixture(scope="module", params=["lab", "notebook"])
def frontend(request, open_notebook):
    """The test notebook open in JupyterLab, then in Notebook 7: extension loaded, SmolLM2 loaded."""
    if request.param == "notebook":
        pytest.importorskip("notebook", minversion="7")
    with open_notebook(request.param) as notebook:
        notebook.run("setup")
        notebook.run("warm")
        notebook.shot(notebook.page, "00-ready")
        yield notebook


def test_generate_text_grows_live_then_becomes_static_text(frontend):
    shots = []

    def screenshot(seen):  # the README's picture: a few lines of text, Stop and tok/s visible
        if not shots and len(seen[-1].split()) >= 16:
            shots.append(frontend.shot(frontend.cell("stream"), "01-streaming-cell"))

    frontend.start("stream")
    seen = frontend.watch("stream", ".ai-magics-stream", on_change=screenshot)
    frontend.wait_done("stream")
    frontend.shot(frontend.page, "02-stream-finished")
    assert len(seen) >= 3, f"the widget's text was seen only {len(seen)} time(s) while the cell ran: {seen}"
    assert len(seen[0]) < len(seen[-1]), seen
    for earlier, later in zip(seen, seen[1:]):
        assert continues(earlier, later), (earlier, later)
    # The widget is gone; the static text and its footer stay (what a saved notebook shows).
    assert frontend.cell("stream").locator(".ai-magics-stream").count() == 0
    final = frontend.output_text("stream")
    assert FOOTER.search(final), final
    assert continues(seen[-1], final), (seen[-1], final)
    if shots and frontend.server.app == "lab":
        frontend.artifacts.publish(shots[0], README_IMAGE)


def test_stop_click_keeps_partial_text_and_kernel_idle(frontend):
    frontend.start("stop")
    seen = frontend.watch("stop", ".ai-magics-stream", until=lambda s: len(s[-1].split()) >= 8)
    assert seen and frontend.running("stop"), "the long generation finished before it could be stopped"
    button = frontend.cell("stop").locator("button.ai-magics-stop")
    assert button.is_visible()
    frontend.shot(frontend.cell("stop"), "03-before-stop")
    before_click = seen[-1]
    button.click()
    frontend.wait_done("stop", timeout=60)
    frontend.shot(frontend.page, "04-stopped")
    final = frontend.output_text("stop")
    footer = FOOTER.search(final)
    assert footer and footer.group(2), final
    assert 0 < int(footer.group(1)) < 1500
    assert continues(before_click, final), (before_click, final)
    assert frontend.kernel_idle()
    # The kernel takes the next cell, and the partial text is in --out.
    frontend.run("after_stop", timeout=60)
    words = int(re.search(r"(\d+) words kept", frontend.output_text("after_stop")).group(1))
    assert words >= len(before_click.split()) - 1


def test_train_curve_updates_live_then_static_image(frontend):
    if "train" not in registered_tasks():
        pytest.skip("the %%train plugin is not registered yet")

    def screenshot(seen):
        if len(seen) == 3:
            frontend.shot(frontend.cell("train"), "05-training-live")

    frontend.start("train")
    seen = frontend.watch("train", ".ai-magics-loss-curve", on_change=screenshot)
    frontend.wait_done("train")
    frontend.shot(frontend.cell("train"), "06-training-done")
    steps = [int(m.group(1)) for m in (re.search(r"step (\d+)", text) for text in seen) if m]
    assert len(steps) >= 3, f"the loss curve was redrawn only {len(steps)} time(s) during the run: {steps}"
    assert steps == sorted(steps) and steps[0] < steps[-1], steps
    image = frontend.cell("train").locator("img[alt='training loss curve'], .jp-RenderedImage img").first
    image.wait_for(state="visible", timeout=30_000)
    assert image.evaluate("img => img.complete && img.naturalWidth > 100")
    assert frontend.cell("train").locator(".ai-magics-loss-curve").count() == 0
    assert "registered as 'seed_model'" in frontend.output_text("train")


def test_bad_input_shows_the_short_error(frontend):
    frontend.run("bad", timeout=60)
    frontend.shot(frontend.cell("bad"), "07-bad-input")
    text = frontend.output_text("bad")
    assert "UsageError: Unknown model 'nosuchmodel'" in text, text
    assert "Traceback" not in text and len(text) < 800, text
    assert frontend.kernel_idle()
