"""Filling {name} fields in a cell body from the notebook's variables."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from ai_magics.errors import AIMagicsError
from ai_magics.interpolate import interpolate

NS = {
    "topic": "otters",
    "n": 3,
    "pi": 3.14159,
    "obj": SimpleNamespace(name="Ada", inner=SimpleNamespace(year=1843)),
    "d": {"key": "value", "a b": "spaced"},
    "items": ["zero", "one"],
    "width": 8,
}


def error(body: str, ns: dict | None = None) -> str:
    with pytest.raises(AIMagicsError) as info:
        interpolate(body, NS if ns is None else ns)
    message = str(info.value)
    assert "\n" not in message
    return message


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("Write about {topic}.", "Write about otters."),
        ("{n} facts about {topic}", "3 facts about otters"),
        ("{obj.name} in {obj.inner.year}", "Ada in 1843"),
        ("{d[key]}", "value"),
        ("{items[1]}", "one"),
        ("{pi:.2f}|{n:>4}|{topic:^10}|", "3.14|   3|  otters  |"),
        ("{topic!r}", "'otters'"),
        ("[{topic:>{width}}]", "[  otters]"),
        ("{{literal}} and {{ {topic} }}", "{literal} and { otters }"),
        ("{{}}", "{}"),
        ("}}{{", "}{"),
        ("", ""),
        ("line one\n{topic}\nline three", "line one\notters\nline three"),
    ],
)
def test_fields_are_filled(body, expected):
    assert interpolate(body, NS) == expected


def test_a_body_without_braces_is_returned_as_is():
    body = "No fields here: 100% plain text."
    assert interpolate(body, {}) is body


def test_only_the_notebook_namespace_is_read():
    assert interpolate("{len}", {"len": "shadowed"}) == "shadowed"
    message = error("{len}", {})
    assert "no variable 'len'" in message


def test_an_undefined_name_is_named():
    message = error("Tell me about {animal} and {topic}.")
    assert "{animal}" in message and "no variable 'animal'" in message and "{{ and }}" in message


def test_an_undefined_base_of_an_attribute_is_named():
    assert "no variable 'person'" in error("{person.name}")


def test_a_missing_attribute_or_key_is_explained():
    attr = error("{obj.age}")
    assert "AttributeError" in attr and "age" in attr
    key = error("{d[nope]}")
    assert "KeyError" in key and "nope" in key
    index = error("{items[5]}")
    assert "IndexError" in index


def test_a_bad_format_spec_is_explained():
    message = error("{topic:.2f}")
    assert "ValueError" in message and "{{ and }}" in message


@pytest.mark.parametrize("body", ["a { b", "a } b", "{topic", "topic}", "{{topic}", "{", "}"])
def test_unmatched_braces(body):
    message = error(body)
    assert "unmatched brace" in message and "{{ and }}" in message


@pytest.mark.parametrize("body", ["{}", "x {} y", "{0}", "{1[a]}", "{topic} {}"])
def test_empty_or_numbered_fields(body):
    message = error(body)
    assert "'{}' or a numbered field" in message and "{topic}" in message


def test_json_in_a_cell_needs_doubled_braces():
    assert interpolate('{{"name": "{topic}"}}', NS) == '{"name": "otters"}'
    assert "no variable" in error('{"name": 1}')
