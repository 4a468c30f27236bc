"""Incremental detokenisation with the real SmolLM2 tokenizer: pieces always add up to the full decode."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ai_magics.backends.detokenize import IncrementalDecoder

TEXTS = [
    "Hello, world! How are you today?",
    "你好，世界！这是一个测试。",
    "Emoji: 🎉🚀 family 👩‍👩‍👧 flag 🇫🇷 and done.",
    "Mixed: naïve café, Ünïcödé, 日本語のテキスト, русский текст.",
    "  leading spaces, tabs\tand\nnew lines\n\n  indented",
    "def f(x):\n    return x ** 2  # 平方",
    "🎉",
]


@pytest.fixture(scope="module")
def tokenizer(smollm2_converted_dir):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(smollm2_converted_dir)


def stream(tokenizer, ids: list[int], skip_special_tokens: bool = True) -> list[str]:
    decoder = IncrementalDecoder(tokenizer, skip_special_tokens=skip_special_tokens)
    pieces = [decoder.push(i) for i in ids]
    pieces.append(decoder.flush())
    assert decoder.token_ids == ids
    return pieces


@pytest.mark.parametrize("text", TEXTS)
def test_pieces_add_up_to_the_full_decode(tokenizer, text):
    ids = tokenizer.encode(text, add_special_tokens=False)
    pieces = stream(tokenizer, ids)
    assert "".join(pieces) == tokenizer.decode(ids, skip_special_tokens=True) == text
    assert len(pieces) == len(ids) + 1
    assert not any("\ufffd" in p for p in pieces), "a piece showed half a character"


def test_multibyte_characters_are_held_back_until_complete(tokenizer):
    ids = tokenizer.encode("你好🚀", add_special_tokens=False)
    assert any("\ufffd" in tokenizer.decode([i]) for i in ids), "expected byte-level tokens for this text"
    pieces = stream(tokenizer, ids)[:-1]
    assert "" in pieces  # some tokens complete no character on their own
    assert [p for p in pieces if p] == ["你", "好", "🚀"] or "".join(pieces) == "你好🚀"
    assert "".join(pieces) == "你好🚀"


def test_spaces_between_words_are_kept(tokenizer):
    ids = tokenizer.encode("one two  three", add_special_tokens=False)
    pieces = stream(tokenizer, ids)
    assert "".join(pieces) == "one two  three"
    assert pieces[0] == "one"


def test_special_tokens_are_skipped_or_kept(tokenizer):
    eos = tokenizer.eos_token_id
    ids = tokenizer.encode("Hi there", add_special_tokens=False) + [eos]
    assert "".join(stream(tokenizer, ids)) == "Hi there"
    kept = "".join(stream(tokenizer, ids, skip_special_tokens=False))
    assert kept == tokenizer.decode(ids, skip_special_tokens=False) and kept.endswith(tokenizer.eos_token)


def test_flush_returns_an_incomplete_character_at_the_end(tokenizer):
    ids = tokenizer.encode("🚀", add_special_tokens=False)
    assert len(ids) > 1
    decoder = IncrementalDecoder(tokenizer)
    assert decoder.push(ids[0]) == ""
    tail = decoder.flush()
    assert tail == tokenizer.decode(ids[:1]) and "\ufffd" in tail
    assert decoder.flush() == ""


@settings(max_examples=40, deadline=None)
@given(st.text(min_size=1, max_size=40))
def test_round_trip_on_arbitrary_text(tokenizer, text):
    ids = tokenizer.encode(text, add_special_tokens=False)
    assert "".join(stream(tokenizer, ids)) == tokenizer.decode(ids, skip_special_tokens=True)
