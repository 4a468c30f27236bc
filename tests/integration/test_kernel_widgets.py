"""%%generate in a real Jupyter kernel: the live widget appears, a Stop click is handled during the run,
the partial text is kept, and the widget is replaced by static text for saved notebooks."""

from __future__ import annotations

import pytest
from kernel_session import execute, running_kernel, shell_reply

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

    state = {"button": None, "updates": 0, "clicked": False}

    def on_message(msg):
        content = msg["content"]
        if msg["msg_type"] == "comm_open" and content["data"]["state"].get("_model_name") == "ButtonModel":
            state["button"] = content["comm_id"]
        if msg["msg_type"] == "comm_msg" and "value" in content["data"].get("state", {}):
            state["updates"] += 1
            if state["updates"] >= 3 and not state["clicked"] and state["button"]:
                # A cell queued while this one runs must still run afterwards, in order.
                state["queued"] = kernel.execute("queued_during_run = 42")
                kernel.session.send(kernel.shell_channel.socket, "comm_msg", {
                    "comm_id": state["button"], "data": {"method": "custom", "content": {"event": "click"}},
                })  # fmt: skip
                state["clicked"] = True

    reply, messages = execute(
        kernel, f"%%generate --backend transformers -n 400 -t 0 --no-chat --out partial\n{PROMPT}", on_message
    )
    assert reply["content"]["status"] == "ok"
    assert state["clicked"], "the widget never streamed updates"
    queued_reply = shell_reply(kernel, state["queued"])
    assert queued_reply["content"]["status"] == "ok"
    reply, messages_after = execute(kernel, "print(len(partial.split()), queued_during_run)")
    words = int(next(m for m in messages_after if m["msg_type"] == "stream")["content"]["text"].split()[0])
    assert 0 < words < 250  # stopped well before 400 tokens
    updates = [m for m in messages if m["msg_type"] == "update_display_data"]
    assert updates, "the live widget was not replaced by static text"
    final = updates[-1]["content"]["data"]
    assert "stopped" in final["text/plain"]
    assert "application/vnd.jupyter.widget-view+json" not in final
