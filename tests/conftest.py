"""Shared fixtures: a tiny random causal LM built locally, and fresh process-wide state for every test."""

from __future__ import annotations

import os

# Never reach for the hub: everything the tests load is built locally or shipped in a wheel.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from collections.abc import Iterator  # noqa: E402
from contextlib import contextmanager  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402


@pytest.fixture(scope="session")
def smollm2_converted_dir() -> Path:
    """The SmolLM2 GGUF converted to safetensors (the persistent conversion cache: converted at most once)."""
    from ai_magics.backends.gguf_conversion import ensure_converted
    from ai_magics.models.builtin_aliases import locate_smollm2

    source = locate_smollm2()
    return ensure_converted(Path(source.path) / source.gguf_file)


@pytest.fixture(scope="session")
def tiny_causal_lm_dir(tmp_path_factory: pytest.TempPathFactory, smollm2_converted_dir: Path) -> Path:
    """A folder with a tiny random LlamaForCausalLM (2 layers, hidden 32) and the SmolLM2 tokenizer."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer, LlamaConfig

    folder = tmp_path_factory.mktemp("tiny-llama")
    tokenizer = AutoTokenizer.from_pretrained(smollm2_converted_dir)
    tokenizer.save_pretrained(folder)
    config = LlamaConfig(
        vocab_size=len(tokenizer), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
        intermediate_size=64, max_position_embeddings=512, bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id,
    )  # fmt: skip
    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_config(config)
    model.save_pretrained(folder, safe_serialization=True)
    assert any(folder.glob("*.safetensors"))
    return folder


@pytest.fixture(autouse=True)
def fresh_process_state(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each unit test sees a new plugin host, model cache and settings object (the old ones come back after).

    Integration tests are left alone: they share one shell, its settings and the loaded models across tests.
    """
    if request.node.get_closest_marker("integration") or "integration" in request.node.path.parts:
        return
    import ai_magics.cache.model_cache as model_cache
    import ai_magics.config as config
    import ai_magics.plugins as plugins

    monkeypatch.setattr(plugins, "_host", None)
    monkeypatch.setattr(model_cache, "_cache", None)
    monkeypatch.setattr(config, "_settings", None)
    monkeypatch.delenv(plugins.DISABLE_ENV, raising=False)


@contextmanager
def _single_torch_thread() -> Iterator[None]:
    """One torch thread, then the previous count: the two cores here are shared with other test runs, and OpenMP
    threads spinning on a busy core made MiniLM 2x, SmolLM2 10x and a fine-tuning step 3x slower than one thread."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


@pytest.fixture(scope="module")
def one_torch_thread_per_module() -> Iterator[None]:
    """One torch thread while a module runs (``pytest.mark.usefixtures("one_torch_thread_per_module")``)."""
    with _single_torch_thread():
        yield


@pytest.fixture
def one_torch_thread() -> Iterator[None]:
    """One torch thread for one test."""
    with _single_torch_thread():
        yield


@pytest.fixture
def forget_trained_models() -> Iterator[None]:
    """Models a test trains under names starting with ``t_`` are forgotten after it."""
    from ai_magics.models import trained

    yield
    for name in list(trained.names()):
        if name.startswith("t_"):
            trained.forget(name)
