"""Multi-turn chat helpers: validating a history, building one turn's messages, recording the turn."""

from __future__ import annotations

import pytest

from ai_magics.errors import AIMagicsError
from ai_magics.tasks.generate.conversation import build_messages, check_history, record_turn


def test_a_valid_history_is_returned_as_is():
    history = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"},
               {"role": "assistant", "content": "Hello!"}]  # fmt: skip
    assert check_history(history) is history
    assert check_history([]) == []


@pytest.mark.parametrize("value", ["hello", {"role": "user"}, ("a", "b"), None, 3])
def test_a_history_that_is_not_a_list_is_refused(value):
    with pytest.raises(AIMagicsError) as info:
        check_history(value, "chat")
    message = str(info.value)
    assert "'chat'" in message and type(value).__name__ in message and "\n" not in message


@pytest.mark.parametrize(
    "message",
    [{"role": "robot", "content": "x"}, {"role": "user"}, {"content": "x"}, {"role": "user", "content": 3},
     "just text", ["user", "hi"]],
)  # fmt: skip
def test_a_bad_message_is_named_by_its_index(message):
    history = [{"role": "user", "content": "ok"}, message]
    with pytest.raises(AIMagicsError) as info:
        check_history(history, "chat")
    text = str(info.value)
    assert text.startswith("Message 1 of conversation 'chat'") and "\n" not in text


def test_a_very_long_bad_message_is_shortened_in_the_error():
    with pytest.raises(AIMagicsError) as info:
        check_history([{"role": "x", "content": "y" * 10_000}])
    assert len(str(info.value)) < 400


def test_build_messages_without_history():
    assert build_messages("Hi", None, None) == [{"role": "user", "content": "Hi"}]
    assert build_messages("Hi", "Be brief.", []) == [
        {"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}
    ]  # fmt: skip


def test_build_messages_keeps_history_and_does_not_change_it():
    history = [{"role": "system", "content": "Old."}, {"role": "user", "content": "a"},
               {"role": "assistant", "content": "b"}]  # fmt: skip
    snapshot = [dict(m) for m in history]
    same_system = build_messages("c", None, history)
    assert same_system == [*history, {"role": "user", "content": "c"}]
    new_system = build_messages("c", "New.", history)
    assert new_system[0] == {"role": "system", "content": "New."}
    assert [m for m in new_system if m["role"] == "system"] == [{"role": "system", "content": "New."}]
    assert new_system[1:] == [history[1], history[2], {"role": "user", "content": "c"}]
    assert history == snapshot


def test_record_turn_appends_in_place():
    history: list[dict[str, str]] = []
    alias = history
    record_turn(history, "Hi", "Hello!", None)
    record_turn(history, "Bye", "", "Be brief.")  # an empty (stopped) reply is still recorded
    assert alias is history
    assert history == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello!"},
        {"role": "user", "content": "Bye"}, {"role": "assistant", "content": ""},
    ]  # fmt: skip
    record_turn(history, "Again", "Sure.", "Be kind.")
    assert [m["content"] for m in history if m["role"] == "system"] == ["Be kind."]
    assert history[0]["role"] == "system" and len(history) == 7
    assert check_history(history) is history
