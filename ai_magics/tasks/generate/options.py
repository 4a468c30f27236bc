"""Checking generate's options, with messages that say what to write instead."""

from __future__ import annotations

import math
from typing import Any

from ai_magics.errors import AIMagicsError
from ai_magics.generation import SamplingOptions

MAX_NEW_TOKENS_LIMIT = 32768
MIN_TEMPERATURE = 1e-6


def _number(name: str, value: Any, kind: type) -> Any:
    if isinstance(value, bool) or not isinstance(value, (int, float) if kind is float else int):
        noun = "a number" if kind is float else "a whole number"
        raise AIMagicsError(f"{name} must be {noun}, not {value!r}.")
    if kind is float and not math.isfinite(value):
        raise AIMagicsError(f"{name} must be a finite number, not {value!r}.")
    return kind(value)


def sampling_options(
    max_new_tokens: Any = 128, temperature: Any = 0.7, top_p: Any = 0.9, top_k: Any = 50, seed: Any = None
) -> SamplingOptions:
    """Validated sampling options; each bad value gets its own one-line reason."""
    max_new_tokens = _number("max_new_tokens", max_new_tokens, int)
    if not 1 <= max_new_tokens <= MAX_NEW_TOKENS_LIMIT:
        raise AIMagicsError(
            f"max_new_tokens must be between 1 and {MAX_NEW_TOKENS_LIMIT}, not {max_new_tokens}: it is how many "
            "tokens to generate at most."
        )
    temperature = _number("temperature", temperature, float)
    if 0 < temperature < MIN_TEMPERATURE:
        temperature = 0.0  # logits / 1e-300 overflow to inf (NaN probabilities); the limit T -> 0 is greedy
    if not 0 <= temperature <= 100:
        raise AIMagicsError(
            f"temperature must be between 0 and 100 (0 = greedy, about 0.7 for varied text), not {temperature}."
        )
    top_p = _number("top_p", top_p, float)
    if not 0 < top_p <= 1:
        raise AIMagicsError(f"top_p must be in (0, 1], not {top_p}: it keeps the most likely tokens up to that mass.")
    top_k = _number("top_k", top_k, int)
    if top_k < 0:
        raise AIMagicsError(f"top_k must be 0 (no limit) or more, not {top_k}.")
    if seed is not None:
        seed = _number("seed", seed, int)
        if not 0 <= seed < 2**63:
            raise AIMagicsError(f"seed must be between 0 and 2**63 - 1, not {seed}.")
    return SamplingOptions(max_new_tokens, temperature, top_p, top_k, seed)


def stop_strings(stop: Any) -> tuple[str, ...]:
    """Stop strings as a tuple: a single string or a list of non-empty strings."""
    if stop is None:
        return ()
    if isinstance(stop, str):
        stop = [stop]
    if not isinstance(stop, (list, tuple)) or not all(isinstance(s, str) for s in stop):
        raise AIMagicsError(f"stop must be a string or a list of strings, not {stop!r}.")
    if any(s == "" for s in stop):
        raise AIMagicsError("A stop string cannot be empty: every text contains the empty string.")
    return tuple(stop)


def check_prompt(prompt: Any) -> str:
    """The prompt, or a clear error if it is empty or not text."""
    if not isinstance(prompt, str):
        raise AIMagicsError(f"The prompt must be text, not {type(prompt).__name__}.")
    if not prompt.strip():
        raise AIMagicsError(
            "The prompt is empty. Write it in the cell under %%generate (or pass it to ai_magics.generate)."
        )
    return prompt
