"""%%generate in a real Jupyter kernel: the live widget appears, a Stop click is handled during the run,
the partial text is kept, and the widget is replaced by static text for saved notebooks."""

from __future__ import annotations

import pytest
from kernel_session import StopClicker, execute, running_kernel, shell_reply

pytestmark = pytest.mark.integration
PROMPT = "The quick brown fox jumps over the lazy dog"


@pytest.fixture(scope="module")
def kernel():
    with running_kernel() as client:
        yield client


def test_stop_button_click_during_generation_keeps_partial_text(kernel):
    reply, _ = execute(kernel, "%load_ext ai_magics\n%config AIMagics.widgets = 'on'")
    assert reply["content"]["status"] == "ok"
    # Load the model first, so the measured run below is pure generation.
    reply, _ = execute(kernel, f"%%generate --backend transformers -n 2 --temperature 0 --no-chat\n{PROMPT}")
    assert reply["content"]["status"] == "ok"

    queued: list[str] = []  # a cell queued while this one runs must still run afterwards, in order
    clicker = StopClicker(kernel, after=3, before_click=lambda: queued.append(kernel.execute("queued_during_run = 42")))
    reply, messages = execute(
        kernel, f"%%generate --backend transformers -n 400 -t 0 --no-chat --out partial\n{PROMPT}", clicker
    )
    assert reply["content"]["status"] == "ok"
    assert clicker.clicked, "the widget never streamed updates"
    queued_reply = shell_reply(kernel, queued[0])
    assert queued_reply["content"]["status"] == "ok"
    reply, messages_after = execute(kernel, "print(len(partial.split()), queued_during_run)")
    words = int(next(m for m in messages_after if m["msg_type"] == "stream")["content"]["text"].split()[0])
    assert 0 < words < 250  # stopped well before 400 tokens
    updates = [m for m in messages if m["msg_type"] == "update_display_data"]
    assert updates, "the live widget was not replaced by static text"
    final = updates[-1]["content"]["data"]
    assert "stopped" in final["text/plain"]
    assert "application/vnd.jupyter.widget-view+json" not in final
