"""Rate-limiting view updates so the front end is never the bottleneck."""

from __future__ import annotations

import time

DEFAULT_INTERVAL = 1 / 15  # 15 updates a second: smooth to the eye, cheap for the kernel


class Throttle:
    """``ready()`` is True at most once per ``interval`` seconds (and always the first time)."""

    def __init__(self, interval: float = DEFAULT_INTERVAL, clock=time.monotonic) -> None:
        self.interval = interval
        self._clock = clock
        self._last = float("-inf")

    def ready(self) -> bool:
        now = self._clock()
        if now - self._last >= self.interval:
            self._last = now
            return True
        return False
