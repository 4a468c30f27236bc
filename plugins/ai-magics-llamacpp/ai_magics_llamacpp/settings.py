"""Settings of the llama.cpp backend: ``%config LlamaCpp.<name>`` in a notebook, or environment variables.

The settings object joins the running IPython shell's configurables the first time the plugin is used, so
``%config LlamaCpp`` lists it and ``c.LlamaCpp.n_ctx = 8192`` in ``ipython_config.py`` applies.
"""

from __future__ import annotations

import os

from traitlets import Bool, Int, default
from traitlets.config import Configurable

from ai_magics.shell_settings import ShellSettings

DEFAULT_ENV = "AI_MAGICS_LLAMACPP_DEFAULT"
FALSE_WORDS = {"0", "false", "no", "off"}


class LlamaCpp(Configurable):
    """ai-magics llama.cpp backend. In a notebook: ``%config LlamaCpp.default_for_gguf = False``."""

    default_for_gguf = Bool(
        help="Load GGUF models on CPU with llama.cpp unless --backend says otherwise (False: the built-in "
        "transformers backend is the default again). Environment: AI_MAGICS_LLAMACPP_DEFAULT=0 turns it off."
    ).tag(config=True)
    n_ctx = Int(4096, help="Context window in tokens (prompt + generated); 0 = the model's own.").tag(config=True)
    n_threads = Int(
        0, help="CPU threads for generation; 0 = llama-cpp-python's default (half the logical CPUs)."
    ).tag(config=True)
    n_batch = Int(512, help="Prompt tokens evaluated per batch.").tag(config=True)
    reuse_kv_prefix = Bool(
        False,
        help="Keep the KV cache of the part of a prompt that the previous one shared (faster long chats), instead "
        "of evaluating every prompt afresh. Off by default: llama.cpp's logits differ in the last digits between "
        "the two ways, so greedy and seeded runs would not always repeat exactly.",
    ).tag(config=True)

    @default("default_for_gguf")
    def _default_from_env(self) -> bool:
        return os.environ.get(DEFAULT_ENV, "1").strip().lower() not in FALSE_WORDS


_settings = ShellSettings(LlamaCpp)


def get_settings() -> LlamaCpp:
    """The process-wide settings, attached to the running IPython shell (if any) so ``%config`` reaches them."""
    return _settings.get()


def reset_settings() -> None:
    """Forget the settings object (tests); the next use makes a new one."""
    _settings.reset()


def thread_count(configured: int) -> int:
    """Threads for generation and for prompt batches: the configured number, else llama-cpp-python's own default
    for generation, half the logical CPUs.

    That is one thread per physical core on machines with SMT, and it leaves a core free on small ones: llama.cpp's
    threads wait for each other by spinning, so they slow down sharply (10x was seen on 2 cores) when another
    process wants the same cores. Prompt batches use the same number (llama-cpp-python would use every CPU)."""
    return configured if configured > 0 else max(1, (os.cpu_count() or 2) // 2)
