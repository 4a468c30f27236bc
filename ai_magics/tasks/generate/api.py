"""The Python API of the generate task: ``generate`` returns the text, ``stream_generate`` yields it."""

from __future__ import annotations

import time
from typing import Any, Iterator

from ai_magics.errors import AIMagicsError
from ai_magics.events import DoneEvent, TokenEvent
from ai_magics.generation import SamplingOptions
from ai_magics.models.loading import ModelPlan, plan_model, use_model
from ai_magics.plugins import get_plugin_host
from ai_magics.tasks.generate.conversation import build_messages, check_history, record_turn
from ai_magics.tasks.generate.options import check_prompt, sampling_options, stop_strings
from ai_magics.tasks.generate.stop import StopMatcher

TASK = "generate"


class GenerationStream:
    """An iterator over the pieces of a generation, with the text so far and a :meth:`stop` method.

    Iterating loads the model (through the shared cache, pinned while it runs), then yields one piece of text
    per token. ``stop()`` ends it between two tokens; the text produced so far stays in :attr:`text`.
    A conversation history, when given, gets the finished turn appended (also after a stop).
    """

    def __init__(
        self, prompt: str, plan: ModelPlan, sampling: SamplingOptions, stops: tuple[str, ...],
        chat: bool | None, system: str | None, conversation: list[dict[str, str]] | None,
    ) -> None:  # fmt: skip
        self.prompt = prompt
        self.plan = plan
        self.sampling = sampling
        self.stops = stops
        self.chat = chat
        self.system = system
        self.conversation = conversation
        self.text = ""
        self.tokens = 0
        self.started: float | None = None
        self.finished: float | None = None
        self.stopped = False
        self._stop_requested = False
        self._iterator: Iterator[str] | None = None

    @property
    def elapsed(self) -> float:
        """Seconds spent generating (from the first forward pass, so model loading is not counted)."""
        if self.started is None:
            return 0.0
        return (self.finished or time.perf_counter()) - self.started

    def stop(self) -> None:
        """Ask the generation to end after the current token."""
        self._stop_requested = True

    def __iter__(self) -> Iterator[str]:
        if self._iterator is None:
            self._iterator = self._run()
        return self._iterator

    def close(self) -> None:
        """End the generation now (as after an interrupt), keeping the text so far."""
        self.stopped = True
        if self._iterator is not None:
            self._iterator.close()

    def _prompt_text(self, generator: Any) -> tuple[str, bool]:
        use_chat = generator.has_chat_template() if self.chat is None else self.chat
        if use_chat and not generator.has_chat_template():
            raise AIMagicsError(
                f"Model {self.plan.source.model_id!r} has no chat template, so --chat, --system and "
                "--conversation cannot be used with it. Use --no-chat and write the whole prompt yourself."
            )
        if not use_chat:
            if self.system is not None or self.conversation is not None:
                raise AIMagicsError(
                    "--system and --conversation need the chat template; drop --no-chat to use them."
                )
            return self.prompt, False
        history = self.conversation or []
        return generator.format_chat(build_messages(self.prompt, self.system, history)), True

    def _run(self) -> Iterator[str]:
        host = get_plugin_host()
        listeners = host.has_listeners("ai_magics_on_token")
        model_name = self.plan.source.model_id
        matcher = StopMatcher(self.stops)
        try:
            with use_model(self.plan) as generator:
                prompt, is_chat = self._prompt_text(generator)
                self.started = time.perf_counter()
                pieces = generator.stream(prompt, self.sampling, lambda: self._stop_requested, chat=is_chat)
                try:
                    for piece in pieces:
                        self.tokens += 1
                        shown, hit_stop = matcher.feed(piece)
                        if shown:
                            self.text += shown
                        if listeners and shown:
                            host.emit("ai_magics_on_token", TokenEvent(TASK, model_name, shown, self.tokens))
                        yield shown
                        if hit_stop:
                            break
                    else:
                        tail = matcher.flush()
                        if tail:
                            self.text += tail
                            yield tail
                finally:
                    if hasattr(pieces, "close"):
                        pieces.close()
        finally:
            self.finished = time.perf_counter()
            self.stopped = self.stopped or self._stop_requested
            if self.conversation is not None and self.started is not None:
                record_turn(self.conversation, self.prompt, self.text, self.system)
            if host.has_listeners("ai_magics_on_done"):
                summary = {"tokens": self.tokens, "seconds": self.elapsed, "text": self.text}
                host.emit("ai_magics_on_done", DoneEvent(TASK, model_name, self.stopped, summary))


def stream_generate(
    prompt: str,
    model: str | None = None,
    *,
    max_new_tokens: int = 128,
    temperature: float = 0.7,
    top_p: float = 0.9,
    top_k: int = 50,
    seed: int | None = None,
    stop: str | list[str] | None = None,
    chat: bool | None = None,
    system: str | None = None,
    conversation: list[dict[str, str]] | None = None,
    device: str | None = None,
    dtype: str | None = None,
    backend: str | None = None,
) -> GenerationStream:
    """Start a generation and return its stream (nothing runs until you iterate it).

    ``temperature=0`` decodes greedily. ``chat=None`` uses the model's chat template when it has one.
    ``conversation`` is a list of messages that gets this turn appended, for multi-turn chat.
    """
    prompt = check_prompt(prompt)
    sampling = sampling_options(max_new_tokens, temperature, top_p, top_k, seed)
    stops = stop_strings(stop)
    if conversation is not None:
        check_history(conversation)
    if system is not None and not isinstance(system, str):
        raise AIMagicsError(f"system must be text, not {type(system).__name__}.")
    plan = plan_model(model, "causal-lm", device=device, dtype=dtype, backend=backend)
    return GenerationStream(prompt, plan, sampling, stops, chat, system, conversation)


def generate(prompt: str, model: str | None = None, **options: Any) -> str:
    """Generate text for ``prompt`` and return it (same options as :func:`stream_generate`)."""
    stream = stream_generate(prompt, model, **options)
    for _ in stream:
        pass
    return stream.text
