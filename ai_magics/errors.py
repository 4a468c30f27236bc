"""The one exception type users see: a problem they can fix, with a message that says what and how."""

from __future__ import annotations


def one_line(exc: BaseException, limit: int = 300) -> str:
    """A library exception's text as one line without its closing period (cut at ``limit`` characters), to quote
    inside our messages."""
    text = " ".join(str(exc).split()).rstrip(".") or type(exc).__name__
    return text if len(text) <= limit else text[: limit - 3].rstrip() + "..."


class AIMagicsError(ValueError):
    """Bad input or an unusable model. The message is one paragraph: what was wrong, what to do.

    The magics show it without a traceback; the Python API raises it as is.
    """


class GenerationInterrupted(AIMagicsError):
    """A kernel interrupt ended work early; what was produced so far is kept on ``partial``."""

    def __init__(self, message: str, partial: object = None) -> None:
        super().__init__(message)
        self.partial = partial
