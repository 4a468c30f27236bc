"""Validating generate's options from Python: each bad value gets its own one-line reason."""

from __future__ import annotations

import math

import pytest

from ai_magics.errors import AIMagicsError
from ai_magics.generation import SamplingOptions
from ai_magics.tasks.generate.options import MAX_NEW_TOKENS_LIMIT, check_prompt, sampling_options, stop_strings


def error(**options) -> str:
    with pytest.raises(AIMagicsError) as info:
        sampling_options(**options)
    message = str(info.value)
    assert "\n" not in message
    return message


def test_defaults():
    options = sampling_options()
    assert options == SamplingOptions(128, 0.7, 0.9, 50, None)
    assert not options.greedy


def test_good_values_are_normalised():
    options = sampling_options(max_new_tokens=1, temperature=0, top_p=1, top_k=0, seed=0)
    assert options.greedy and isinstance(options.temperature, float) and isinstance(options.top_p, float)
    assert options == SamplingOptions(1, 0.0, 1.0, 0, 0)
    assert sampling_options(max_new_tokens=MAX_NEW_TOKENS_LIMIT, seed=2**63 - 1).max_new_tokens == MAX_NEW_TOKENS_LIMIT


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({"max_new_tokens": 0}, "max_new_tokens must be between 1 and 32768, not 0"),
        ({"max_new_tokens": -5}, "max_new_tokens must be between 1 and 32768, not -5"),
        ({"max_new_tokens": MAX_NEW_TOKENS_LIMIT + 1}, "max_new_tokens must be between 1 and 32768"),
        ({"max_new_tokens": 2.0}, "max_new_tokens must be a whole number, not 2.0"),
        ({"max_new_tokens": "64"}, "max_new_tokens must be a whole number, not '64'"),
        ({"max_new_tokens": True}, "max_new_tokens must be a whole number, not True"),
        ({"temperature": -0.1}, "(0 = greedy, about 0.7 for varied text), not -0.1."),
        ({"temperature": "hot"}, "temperature must be a number, not 'hot'"),
        ({"temperature": math.nan}, "temperature must be a finite number, not nan"),
        ({"temperature": math.inf}, "temperature must be a finite number, not inf"),
        ({"temperature": None}, "temperature must be a number, not None"),
        ({"top_p": 0}, "top_p must be in (0, 1], not 0.0"),
        ({"top_p": 1.01}, "top_p must be in (0, 1], not 1.01"),
        ({"top_k": -1}, "top_k must be 0 (no limit) or more, not -1"),
        ({"top_k": 2.5}, "top_k must be a whole number, not 2.5"),
        ({"seed": -1}, "seed must be between 0 and 2**63 - 1, not -1"),
        ({"seed": 2**63}, "seed must be between 0 and 2**63 - 1"),
        ({"seed": "42"}, "seed must be a whole number, not '42'"),
    ],
)
def test_bad_values_name_the_option(options, expected):
    assert expected in error(**options)


def test_too_high_a_temperature_names_the_limit():
    message = error(temperature=150)
    assert "100" in message


def test_stop_strings():
    assert stop_strings(None) == ()
    assert stop_strings("###") == ("###",)
    assert stop_strings(["a", "\n\n"]) == ("a", "\n\n")
    assert stop_strings(("x",)) == ("x",)


@pytest.mark.parametrize(
    ("stop", "expected"), [(["ok", 3], "list of strings"), ([""], "cannot be empty"), ("", "cannot be empty")]
)
def test_bad_stop_strings(stop, expected):
    with pytest.raises(AIMagicsError, match=expected):
        stop_strings(stop)


def test_a_stop_that_is_not_a_string_or_list_is_a_clear_error():
    with pytest.raises(AIMagicsError, match="stop must be a string or a list of strings"):
        stop_strings(5)


def test_check_prompt():
    assert check_prompt("  Hello  ") == "  Hello  "
    with pytest.raises(AIMagicsError, match="The prompt is empty"):
        check_prompt(" \n\t ")
    with pytest.raises(AIMagicsError, match="must be text, not bytes"):
        check_prompt(b"hello")
    with pytest.raises(AIMagicsError, match="must be text, not NoneType"):
        check_prompt(None)


def test_stream_generate_validates_before_loading_anything():
    from ai_magics.tasks.generate.api import stream_generate

    with pytest.raises(AIMagicsError, match="max_new_tokens"):
        stream_generate("Hi", "no-such-model-anywhere", max_new_tokens=0)
    with pytest.raises(AIMagicsError, match="Message 0 of conversation"):
        stream_generate("Hi", "no-such-model-anywhere", conversation=[{"role": "bot", "content": "x"}])
    with pytest.raises(AIMagicsError, match="system must be text"):
        stream_generate("Hi", "no-such-model-anywhere", system=["Be brief."])
    with pytest.raises(AIMagicsError, match="Unknown model 'no-such-model-anywhere'"):
        stream_generate("Hi", "no-such-model-anywhere")


def test_a_vanishing_temperature_is_greedy_not_an_overflow():
    assert sampling_options(8, 1e-300, 0.9, 50, None).greedy  # logits / 1e-300 would be inf: NaN probabilities
    assert not sampling_options(8, 1e-3, 0.9, 50, None).greedy
