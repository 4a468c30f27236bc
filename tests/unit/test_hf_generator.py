"""The KV-cached decode loop on a tiny random Llama: identical to generate(), seeded, stoppable, bounded."""

from __future__ import annotations

import inspect

import pytest

from ai_magics.generation import SamplingOptions, TextGenerator

PROMPT = "The quick brown fox"


@pytest.fixture(scope="module")
def tiny(tiny_causal_lm_dir):
    """The tiny model loaded by the real transformers backend (a TransformersGenerator)."""
    import torch

    from ai_magics.backends.transformers_backend import load_causal_lm
    from ai_magics.registry import LoadRequest, ModelSource

    source = ModelSource(model_id="tiny", path=str(tiny_causal_lm_dir))
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # a model this small only loses to thread hand-offs on a busy 2-core machine
    yield load_causal_lm(LoadRequest(source, "causal-lm", "cpu", "float32"))
    torch.set_num_threads(threads)


def ids_of(tiny, prompt: str = PROMPT):
    return tiny.encode(prompt)


def decode(tiny, options: SamplingOptions, eos_ids=None, should_stop=lambda: False, prompt: str = PROMPT):
    from ai_magics.backends.hf_generator import decode_token_ids

    eos = tiny.eos_ids if eos_ids is None else eos_ids
    return list(decode_token_ids(tiny.model, ids_of(tiny, prompt), options, eos, should_stop))


def reference_greedy(tiny, max_new_tokens: int, prompt: str = PROMPT) -> list[int]:
    import torch

    input_ids = ids_of(tiny, prompt)
    with torch.inference_mode():
        out = tiny.model.generate(
            input_ids, attention_mask=torch.ones_like(input_ids), do_sample=False, max_new_tokens=max_new_tokens,
            pad_token_id=tiny.tokenizer.pad_token_id,
        )  # fmt: skip
    new = out[0, input_ids.shape[1] :].tolist()
    if new and new[-1] in tiny.eos_ids:
        new = new[:-1]  # generate() keeps the end-of-sequence token; the loop does not yield it
    return new


def test_the_loaded_generator_fits_the_protocol(tiny):
    assert isinstance(tiny, TextGenerator)
    assert tiny.nbytes > 10**6 and tiny.device == "cpu"
    assert tiny.tokenizer.eos_token_id in tiny.eos_ids and tiny.model.config.eos_token_id in tiny.eos_ids


@pytest.mark.parametrize("prompt", [PROMPT, "你好", "x"])
def test_greedy_decoding_equals_model_generate(tiny, prompt):
    expected = reference_greedy(tiny, 24, prompt)
    assert len(expected) > 0
    assert decode(tiny, SamplingOptions(max_new_tokens=24, temperature=0), prompt=prompt) == expected


def test_greedy_ignores_the_seed_and_is_deterministic(tiny):
    a = decode(tiny, SamplingOptions(max_new_tokens=10, temperature=0, seed=1))
    b = decode(tiny, SamplingOptions(max_new_tokens=10, temperature=0, seed=2))
    assert a == b


def test_seeded_sampling_is_reproducible(tiny):
    options = SamplingOptions(max_new_tokens=16, temperature=1.0, top_p=1.0, top_k=0, seed=1234)
    first = decode(tiny, options, eos_ids=set())
    assert decode(tiny, options, eos_ids=set()) == first
    other = decode(tiny, SamplingOptions(max_new_tokens=16, temperature=1.0, top_p=1.0, top_k=0, seed=4321), set())
    assert other != first
    assert first != decode(tiny, SamplingOptions(max_new_tokens=16, temperature=0), eos_ids=set())


def test_top_k_one_sampling_is_greedy(tiny):
    greedy = decode(tiny, SamplingOptions(max_new_tokens=12, temperature=0), eos_ids=set())
    sampled = decode(tiny, SamplingOptions(max_new_tokens=12, temperature=0.8, top_k=1, seed=5), eos_ids=set())
    assert sampled == greedy


@pytest.mark.parametrize("n", [1, 7])
def test_max_new_tokens_is_respected(tiny, n):
    assert len(decode(tiny, SamplingOptions(max_new_tokens=n, temperature=0), eos_ids=set())) == n
    assert len(decode(tiny, SamplingOptions(max_new_tokens=n, temperature=1.0, seed=0), eos_ids=set())) == n


def test_should_stop_ends_between_tokens(tiny):
    calls = []

    def should_stop() -> bool:
        calls.append(1)
        return len(calls) > 3

    tokens = decode(tiny, SamplingOptions(max_new_tokens=50, temperature=0), eos_ids=set(), should_stop=should_stop)
    assert len(tokens) == 3 and len(calls) == 4
    assert decode(tiny, SamplingOptions(max_new_tokens=50, temperature=0), set(), should_stop=lambda: True) == []


def test_an_end_of_sequence_token_ends_generation_and_is_not_yielded(tiny):
    greedy = decode(tiny, SamplingOptions(max_new_tokens=8, temperature=0), eos_ids=set())
    stop_at = greedy[3]
    shortened = decode(tiny, SamplingOptions(max_new_tokens=8, temperature=0), eos_ids={stop_at})
    assert shortened == greedy[: greedy.index(stop_at)]


def test_stream_yields_one_piece_per_token_and_adds_up_to_the_decode(tiny):
    options = SamplingOptions(max_new_tokens=20, temperature=0)
    token_ids = decode(tiny, options)
    pieces = list(tiny.stream(PROMPT, options, lambda: False))
    assert len(token_ids) <= len(pieces) <= len(token_ids) + 1
    assert "".join(pieces) == tiny.tokenizer.decode(token_ids, skip_special_tokens=True)


def test_stream_can_be_stopped(tiny):
    stop = {"now": False}
    pieces = []
    for piece in tiny.stream(PROMPT, SamplingOptions(max_new_tokens=50, temperature=0), lambda: stop["now"]):
        pieces.append(piece)
        if len(pieces) == 2:
            stop["now"] = True
    assert 2 <= len(pieces) <= 3  # two tokens, plus at most the decoder's held-back tail


def test_chat_template_and_encoding(tiny):
    assert tiny.has_chat_template()
    prompt = tiny.format_chat([{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}])
    assert "Be brief." in prompt and "Hi" in prompt and prompt.rstrip().endswith("assistant")
    plain = tiny.encode("Hi").tolist()[0]
    assert plain == tiny.tokenizer("Hi")["input_ids"]
    chat_ids = tiny.encode(prompt, chat=True).tolist()[0]
    assert tiny.tokenizer.decode(chat_ids) == prompt  # no special tokens added twice
    options = SamplingOptions(max_new_tokens=5, temperature=0)
    assert len(list(tiny.stream(prompt, options, lambda: False, chat=True))) <= 6


def test_cache_argument_names_a_forward_parameter(tiny):
    from ai_magics.backends.hf_generator import cache_argument

    name = cache_argument(tiny.model)
    assert name in ("cache", "past_key_values")
    assert name in inspect.signature(tiny.model.forward).parameters


def test_logits_processors_follow_the_options():
    from transformers import TemperatureLogitsWarper, TopKLogitsWarper, TopPLogitsWarper

    from ai_magics.backends.hf_generator import _logits_processors

    assert len(_logits_processors(SamplingOptions(temperature=0))) == 0
    kinds = [type(p) for p in _logits_processors(SamplingOptions(temperature=0.7, top_p=0.9, top_k=50))]
    assert kinds == [TemperatureLogitsWarper, TopKLogitsWarper, TopPLogitsWarper]
    assert [type(p) for p in _logits_processors(SamplingOptions(temperature=1.0, top_p=1.0, top_k=0))] == []


def test_generation_stops_at_the_end_of_the_context_window(tiny_causal_lm_dir):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from ai_magics.backends.hf_generator import TransformersGenerator, within_context
    from ai_magics.errors import AIMagicsError
    from ai_magics.generation import SamplingOptions

    model = AutoModelForCausalLM.from_pretrained(tiny_causal_lm_dir)
    generator = TransformersGenerator(model, AutoTokenizer.from_pretrained(tiny_causal_lm_dir), "cpu")
    generator.eos_ids = set()  # never stop early: only the window can end it
    limit = model.config.max_position_embeddings  # 512
    prompt_tokens = generator.encode("Hello there").shape[1]
    pieces = list(generator.stream("Hello there", SamplingOptions(max_new_tokens=5000, temperature=0), lambda: False))
    assert len(pieces) == limit - prompt_tokens  # one piece per token: the window's room, not 5000
    assert within_context(model, 10, SamplingOptions(max_new_tokens=5000)).max_new_tokens == limit - 10
    assert within_context(model, 10, SamplingOptions(max_new_tokens=7)).max_new_tokens == 7
    with pytest.raises(AIMagicsError, match=f"reads at most {limit} tokens"):
        within_context(model, limit, SamplingOptions())
