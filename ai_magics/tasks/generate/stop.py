"""Stop strings: end generation when one appears, without ever showing part of it."""

from __future__ import annotations


class StopMatcher:
    """Feed text pieces; get back the text safe to show, and whether a stop string was reached.

    Text that could be the start of a stop string is held back until the next piece decides it.
    """

    def __init__(self, stops: tuple[str, ...]) -> None:
        self._stops = tuple(s for s in stops if s)
        self._held = ""

    def feed(self, piece: str) -> tuple[str, bool]:
        """Return (text to emit, stopped)."""
        if not self._stops:
            return piece, False
        buffer = self._held + piece
        cut = min((i for i in (buffer.find(s) for s in self._stops) if i >= 0), default=-1)
        if cut >= 0:
            self._held = ""
            return buffer[:cut], True
        keep = 0
        for stop in self._stops:
            for n in range(min(len(stop) - 1, len(buffer)), 0, -1):
                if buffer.endswith(stop[:n]):
                    keep = max(keep, n)
                    break
        self._held = buffer[len(buffer) - keep :] if keep else ""
        return buffer[: len(buffer) - keep], False

    def flush(self) -> str:
        """Text held back when generation ended for another reason."""
        held, self._held = self._held, ""
        return held
