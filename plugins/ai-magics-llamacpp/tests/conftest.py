"""Fixtures of the llama.cpp plugin's tests: fresh process-wide state, SmolLM2's GGUF file, the IPython shell."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

SEED_PROMPT = "The quick brown fox jumps over the lazy dog"


@pytest.fixture
def fresh(monkeypatch: pytest.MonkeyPatch):
    """A new plugin host, ai-magics settings and LlamaCpp settings (the model cache is kept: loads are shared)."""
    import ai_magics.config as config
    import ai_magics.plugins as plugins
    import ai_magics_llamacpp.settings as llamacpp_settings

    monkeypatch.delenv(plugins.DISABLE_ENV, raising=False)
    monkeypatch.delenv(llamacpp_settings.DEFAULT_ENV, raising=False)
    monkeypatch.setattr(plugins, "_host", None)
    monkeypatch.setattr(config, "_settings", None)
    from ai_magics.shell_settings import ShellSettings

    # Fresh settings, kept out of the test session's IPython shell.
    monkeypatch.setattr(llamacpp_settings, "_settings", ShellSettings(llamacpp_settings.LlamaCpp, shell=lambda: None))
    yield


@pytest.fixture(scope="session")
def smollm2_gguf() -> Path:
    from ai_magics.models.builtin_aliases import locate_smollm2

    source = locate_smollm2()
    return Path(source.path) / source.gguf_file


@pytest.fixture(scope="session")
def raw_llama(smollm2_gguf: Path):
    """SmolLM2 in raw llama-cpp-python, loaded the way the backend loads it (same context, batch and threads)."""
    llama_cpp = pytest.importorskip("llama_cpp", reason="llama-cpp-python is not installed (make install)")
    from ai_magics_llamacpp.settings import LlamaCpp, thread_count

    settings = LlamaCpp()
    threads = thread_count(settings.n_threads)
    return llama_cpp.Llama(
        model_path=str(smollm2_gguf), n_ctx=settings.n_ctx, n_batch=settings.n_batch, n_threads=threads,
        n_threads_batch=threads, verbose=False,
    )  # fmt: skip


@pytest.fixture(scope="session")
def ipython():
    """The test session's IPython shell (the one tests/integration uses, if it started first), extension loaded."""
    from IPython.testing import globalipapp

    globalipapp.start_ipython()
    shell = globalipapp.get_ipython()
    if "ai_magics" not in shell.extension_manager.loaded:
        shell.run_line_magic("load_ext", "ai_magics")
    return shell
