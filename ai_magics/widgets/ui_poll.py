"""Processing widget messages (a Stop click) while a cell is still running.

The kernel does not read messages while it executes a cell, so a button's click would arrive only after the
work ends. Between two steps of our own loop we deliver pending widget messages ourselves:

- ipykernel 7+ (a shell-channel thread forwards messages to the main thread over an inproc socket): read that
  socket without blocking, hand ``comm_msg`` messages to the comm manager, and hold everything else (the next
  cell's ``execute_request``...) to re-dispatch, in order, when the cell ends.
- older ipykernel: jupyter-ui-poll, which does the same through ``kernel.do_one_iteration``.
"""

from __future__ import annotations

import asyncio
from typing import Any, Callable


def _current_kernel() -> Any:
    try:
        from IPython import get_ipython
    except ImportError:
        return None
    shell = get_ipython()
    return getattr(shell, "kernel", None)


class _InprocShellPump:
    """Delivers comm messages from ipykernel 7's main-thread inproc socket; holds the rest for later."""

    def __init__(self, kernel: Any) -> None:
        import comm

        self._kernel = kernel
        self._pair = kernel.shell_channel_thread.manager.get_shell_channel_to_subshell_pair(None)
        self._socket = self._pair.to_socket
        self._comms = getattr(kernel, "comm_manager", None) or comm.get_comm_manager()
        self._held: list[Any] = []

    def pump(self, max_events: int) -> None:
        session = self._kernel.session
        for _ in range(max_events):
            if not self._socket.poll(0):
                return
            frames = self._socket.recv_multipart(copy=False)
            try:
                idents, msg_frames = session.feed_identities(frames, copy=False)
                # Peek at the header only: a full parse records the signature, and the kernel would then
                # reject a held message as a duplicate when it is replayed.
                kind = session.deserialize(msg_frames, content=False, copy=False)["header"].get("msg_type")
                if kind != "comm_msg":
                    self._held.append(frames)
                    continue
                msg = session.deserialize(msg_frames, content=True, copy=False)
            except Exception:
                self._held.append(frames)
                continue
            self._comms.comm_msg(None, idents, msg)

    def close(self) -> None:
        """Hand held messages back to the kernel, in arrival order, to run after this cell."""
        held, self._held = self._held, []
        callback = getattr(self._kernel, "shell_main", None)
        for frames in held:
            asyncio.ensure_future(callback(None, frames))


class _JupyterUIPollPump:
    """jupyter-ui-poll for kernels that still have ``do_one_iteration``."""

    def __init__(self) -> None:
        from jupyter_ui_poll import ui_events

        self._context = ui_events()
        self._poll: Callable[[int], Any] = self._context.__enter__()

    def pump(self, max_events: int) -> None:
        self._poll(max_events)

    def close(self) -> None:
        self._context.__exit__(None, None, None)


def _make_pump() -> Any:
    kernel = _current_kernel()
    if kernel is None:
        return None
    thread = getattr(kernel, "shell_channel_thread", None)
    if thread is not None and hasattr(kernel, "shell_main"):
        return _InprocShellPump(kernel)
    if hasattr(kernel, "do_one_iteration"):
        return _JupyterUIPollPump()
    return None


class UIEventPump:
    """Enter while work runs; call :meth:`pump` between steps to deliver pending widget events."""

    def __init__(self) -> None:
        self._impl: Any = None
        self._broken = False

    def __enter__(self) -> UIEventPump:
        try:
            self._impl = _make_pump()
        except Exception:  # an unknown kernel layout: Stop then acts after the cell only
            self._impl = None
        return self

    def pump(self, max_events: int = 10) -> None:
        """Deliver up to ``max_events`` pending front-end messages."""
        if self._impl is not None and not self._broken:
            try:
                self._impl.pump(max_events)
            except Exception:  # stop pumping, but still hand back what was held
                self._broken = True

    def __exit__(self, *exc: object) -> None:
        impl, self._impl = self._impl, None
        if impl is not None:
            impl.close()
