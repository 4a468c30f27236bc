"""Incremental detokenisation: turn a growing list of token ids into text pieces, one per token.

Decoding token by token breaks multi-byte characters and loses spaces that depend on context; this keeps a
small window of earlier tokens as context and holds text back while it ends in an incomplete character.
"""

from __future__ import annotations

from typing import Any


class IncrementalDecoder:
    """Feed token ids one at a time; each call returns the new text they complete (maybe '')."""

    def __init__(self, tokenizer: Any, skip_special_tokens: bool = True) -> None:
        self._tokenizer = tokenizer
        self._skip = skip_special_tokens
        self._ids: list[int] = []
        self._prefix_offset = 0
        self._read_offset = 0

    def push(self, token_id: int) -> str:
        """Add one token id and return the text it makes available."""
        self._ids.append(token_id)
        decode = self._tokenizer.decode
        prefix = decode(self._ids[self._prefix_offset : self._read_offset], skip_special_tokens=self._skip)
        text = decode(self._ids[self._prefix_offset :], skip_special_tokens=self._skip)
        if len(text) > len(prefix) and not text.endswith("\ufffd"):
            self._prefix_offset = self._read_offset
            self._read_offset = len(self._ids)
            return text[len(prefix) :]
        return ""

    def flush(self) -> str:
        """Any text still held back at the end (an incomplete character is returned as is)."""
        prefix = self._tokenizer.decode(self._ids[self._prefix_offset : self._read_offset], skip_special_tokens=self._skip)
        text = self._tokenizer.decode(self._ids[self._prefix_offset :], skip_special_tokens=self._skip)
        self._prefix_offset = self._read_offset = len(self._ids)
        return text[len(prefix) :] if len(text) > len(prefix) else ""

    @property
    def token_ids(self) -> list[int]:
        return list(self._ids)
