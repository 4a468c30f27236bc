"""A real Jupyter kernel for the tests that need the kernel protocol (widget comms, Stop clicks)."""

from __future__ import annotations

import queue
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any


@contextmanager
def running_kernel() -> Iterator[Any]:
    """A fresh python3 kernel's client, shut down afterwards."""
    from jupyter_client.manager import start_new_kernel

    manager, client = start_new_kernel(kernel_name="python3")
    try:
        yield client
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)


def execute(
    client: Any, code: str, on_message: Callable[[dict], None] | None = None, timeout: float = 600
) -> tuple[dict, list[dict]]:
    """Run ``code``; call ``on_message`` for each iopub message while it runs; return (reply, messages)."""
    msg_id = client.execute(code)
    messages = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            msg = client.get_iopub_msg(timeout=1)
        except queue.Empty:
            continue
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        messages.append(msg)
        if on_message is not None:
            on_message(msg)
        if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
            break
    return shell_reply(client, msg_id), messages


_replies: dict[str, dict] = {}


def shell_reply(client: Any, msg_id: str, timeout: float = 120) -> dict:
    """The shell reply to request ``msg_id`` (replies to other requests are kept for their own callers)."""
    deadline = time.monotonic() + timeout
    while msg_id not in _replies and time.monotonic() < deadline:
        try:
            reply = client.get_shell_msg(timeout=1)
        except queue.Empty:
            continue
        _replies[reply["parent_header"].get("msg_id")] = reply
    return _replies.pop(msg_id)


class StopClicker:
    """An iopub listener (for :func:`execute`) that clicks a widget's Stop button the way a front end does, with a
    ``comm_msg`` on the shell channel, once the widgets have sent ``after`` value updates. ``before_click`` runs
    just before the click."""

    def __init__(self, client: Any, after: int, before_click: Callable[[], None] | None = None) -> None:
        self.client = client
        self.after = after
        self.before_click = before_click
        self.button: str | None = None
        self.updates = 0
        self.clicked = False

    def __call__(self, msg: dict) -> None:
        content = msg["content"]
        if msg["msg_type"] == "comm_open" and content["data"]["state"].get("_model_name") == "ButtonModel":
            self.button = content["comm_id"]
        if msg["msg_type"] == "comm_msg" and "value" in content["data"].get("state", {}):
            self.updates += 1
            if self.updates >= self.after and not self.clicked and self.button:
                if self.before_click is not None:
                    self.before_click()
                self.client.session.send(self.client.shell_channel.socket, "comm_msg", {
                    "comm_id": self.button, "data": {"method": "custom", "content": {"event": "click"}},
                })  # fmt: skip
                self.clicked = True
