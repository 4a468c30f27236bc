"""Multi-turn chat: the messages sent to the model, and the history kept between cells."""

from __future__ import annotations

from typing import Any

from ai_magics.errors import AIMagicsError

ROLES = ("system", "user", "assistant")


def check_history(history: Any, name: str = "conversation") -> list[dict[str, str]]:
    """Validate a conversation history: a list of {'role', 'content'} dicts."""
    if not isinstance(history, list):
        raise AIMagicsError(
            f"{name!r} holds a {type(history).__name__}, not a conversation. A conversation is a list of "
            "{'role': ..., 'content': ...} messages; use a new name, or `del` it to start over."
        )
    for i, message in enumerate(history):
        if not (isinstance(message, dict) and message.get("role") in ROLES and isinstance(message.get("content"), str)):
            raise AIMagicsError(
                f"Message {i} of conversation {name!r} is not a {{'role': 'system'|'user'|'assistant', "
                f"'content': str}} dict: {message!r:.80}. Fix or remove it."
            )
    return history


def build_messages(prompt: str, system: str | None, history: list[dict[str, str]] | None) -> list[dict[str, str]]:
    """The messages for one turn: the system message (new or from history), the history, then the prompt."""
    messages = list(history or [])
    if system is not None:
        messages = [m for m in messages if m["role"] != "system"]
        messages.insert(0, {"role": "system", "content": system})
    messages.append({"role": "user", "content": prompt})
    return messages


def record_turn(history: list[dict[str, str]], prompt: str, reply: str, system: str | None) -> None:
    """Append one finished turn to ``history`` in place (and set its system message if one was given)."""
    if system is not None:
        history[:] = [m for m in history if m["role"] != "system"]
        history.insert(0, {"role": "system", "content": system})
    history.append({"role": "user", "content": prompt})
    history.append({"role": "assistant", "content": reply})
