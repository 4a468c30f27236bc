"""A model on an OpenAI-compatible server as an ai-magics TextGenerator: SSE chunks become the streamed pieces.

The generator holds only the server's model name; the base URL, key, timeout and extra fields are read from
:mod:`ai_magics_openai.settings` at every request, so changing them takes effect at the next cell.
"""

from __future__ import annotations

import json
from typing import Any, Callable, Iterator

from ai_magics.generation import SamplingOptions

from ai_magics_openai.client import Endpoint, stream_text
from ai_magics_openai.settings import get_settings

CHAT_MARKER = "\x00ai-magics-chat-messages\x00"


def current_endpoint() -> Endpoint:
    settings = get_settings()
    return Endpoint(settings.base_url, settings.key(), settings.timeout)


class ServerGenerator:
    """Generation by a model that a server runs. The chat template is the server's: chat prompts travel as
    messages to /chat/completions, plain prompts to /completions."""

    nbytes = 0  # nothing is held in this process

    def __init__(self, model: str, model_id: str) -> None:
        self.model = model
        self.model_id = model_id

    def has_chat_template(self) -> bool:
        return True

    def format_chat(self, messages: list[dict[str, str]]) -> str:
        return CHAT_MARKER + json.dumps(messages, ensure_ascii=False)

    def request_body(self, prompt: str, options: SamplingOptions, chat: bool) -> tuple[str, dict[str, Any], bool]:
        """(path, JSON body, whether it is a chat request) for one generation."""
        body: dict[str, Any] = {"model": self.model, "max_tokens": options.max_new_tokens, "stream": True}
        if chat and prompt.startswith(CHAT_MARKER):
            path, is_chat = "/chat/completions", True
            body["messages"] = json.loads(prompt[len(CHAT_MARKER) :])
        else:
            path, is_chat = "/completions", False
            body["prompt"] = prompt
        body["temperature"] = options.temperature
        if not options.greedy:
            body["top_p"] = options.top_p
        if options.seed is not None:
            body["seed"] = options.seed
        body.update(get_settings().extra_body)
        return path, body, is_chat

    def stream(
        self, prompt: str, options: SamplingOptions, should_stop: Callable[[], bool], chat: bool = False
    ) -> Iterator[str]:
        path, body, is_chat = self.request_body(prompt, options, chat)
        produced = 0
        pieces = stream_text(current_endpoint(), path, body, is_chat, should_stop, self.model)
        try:
            for piece in pieces:
                yield piece
                produced += 1
                if produced >= options.max_new_tokens:
                    return
        finally:
            pieces.close()
