"""The contract between the generate task and backends: sampling options and the TextGenerator protocol.

A backend that can generate text returns, for kind ``causal-lm``, an object implementing
:class:`TextGenerator`. The generate task drives it the same way for every backend, so widgets, stop
strings, events and interrupts behave alike whether tokens come from transformers, llama.cpp or a server.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterator, Protocol, runtime_checkable


@dataclass(frozen=True)
class SamplingOptions:
    """How to pick tokens. ``temperature == 0`` means greedy decoding (top_p/top_k are then ignored)."""

    max_new_tokens: int = 128
    temperature: float = 0.7
    top_p: float = 0.9
    top_k: int = 50
    seed: int | None = None

    @property
    def greedy(self) -> bool:
        return self.temperature == 0


@runtime_checkable
class TextGenerator(Protocol):
    """A loaded text generator, as the model cache holds it."""

    nbytes: int

    def has_chat_template(self) -> bool:
        """Whether the model ships a chat template."""
        ...

    def format_chat(self, messages: list[dict[str, str]]) -> str:
        """Render chat messages (role/content dicts) into a prompt that ends where the assistant speaks."""
        ...

    def stream(
        self, prompt: str, options: SamplingOptions, should_stop: Callable[[], bool], chat: bool = False
    ) -> Iterator[str]:
        """Yield one piece of text per generated token (possibly '' while a character is incomplete).

        Ends at an end-of-sequence token, after ``options.max_new_tokens`` tokens, or as soon as
        ``should_stop()`` returns True. ``chat`` says the prompt came from :meth:`format_chat` (so it already
        carries its special tokens).
        """
        ...
