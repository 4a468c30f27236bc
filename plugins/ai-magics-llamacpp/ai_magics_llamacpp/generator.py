"""A llama.cpp model as an ai-magics TextGenerator: one piece of text per token, stoppable between tokens.

Tokens come from ``Llama.generate`` (the loop ``create_completion`` itself runs on), so greedy output is the
same as raw llama-cpp-python's. Every prompt is evaluated afresh, so the same greedy or seeded cell gives the same
text every time; ``%config LlamaCpp.reuse_kv_prefix = True`` keeps the KV cache of a shared prompt prefix instead
(faster long chats, at the price of that exact repeatability).
"""

from __future__ import annotations

import atexit
import codecs
import threading
import weakref
from datetime import datetime
from typing import Any, Callable, Iterator

from ai_magics.errors import AIMagicsError
from ai_magics.generation import SamplingOptions


def _eog_tokens(llm: Any) -> frozenset[int]:
    """Every end-of-generation token of the vocabulary (EOS, EOT, <|im_end|>, ...)."""
    import llama_cpp

    model = getattr(llm, "_model", None)
    vocab = getattr(model, "vocab", None)
    is_eog = getattr(llama_cpp, "llama_vocab_is_eog", None) or getattr(llama_cpp, "llama_token_is_eog", None)
    if vocab is None or is_eog is None:
        return frozenset({llm.token_eos()})
    return frozenset(t for t in range(llm.n_vocab()) if is_eog(vocab, t))


def _token_text(llm: Any, token: int) -> str:
    if token < 0:
        return ""
    return llm.detokenize([token], special=True).decode("utf-8", errors="replace")


def kv_cache_bytes(metadata: dict[str, str], n_ctx: int) -> int:
    """Bytes of the f16 K and V caches for ``n_ctx`` tokens, from the GGUF metadata (0 if it lacks the sizes)."""
    arch = metadata.get("general.architecture", "")
    try:
        layers = int(metadata[f"{arch}.block_count"])
        embd = int(metadata[f"{arch}.embedding_length"])
        heads = int(metadata[f"{arch}.attention.head_count"])
        kv_heads = int(metadata.get(f"{arch}.attention.head_count_kv", heads))
    except (KeyError, ValueError):
        return 0
    return 2 * layers * n_ctx * (embd * kv_heads // max(heads, 1)) * 2


class ChatTemplate:
    """The model's Jinja chat template, rendered as transformers' ``apply_chat_template`` renders it."""

    def __init__(self, source: str, bos_token: str, eos_token: str) -> None:
        from jinja2.ext import loopcontrols
        from jinja2.sandbox import ImmutableSandboxedEnvironment

        def raise_exception(message: str) -> None:
            raise AIMagicsError(f"The model's chat template refused these messages: {message}")

        env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[loopcontrols])
        env.globals["raise_exception"] = raise_exception
        env.globals["strftime_now"] = lambda fmt: datetime.now().strftime(fmt)
        self._template = env.from_string(source)
        self._tokens = {"bos_token": bos_token, "eos_token": eos_token}

    def render(self, messages: list[dict[str, str]]) -> str:
        return self._template.render(messages=messages, add_generation_prompt=True, **self._tokens)


_open_models: weakref.WeakSet[Any] = weakref.WeakSet()


@atexit.register
def _close_open_models() -> None:
    """Free llama.cpp models before the interpreter tears down llama_cpp's module globals; a model freed by its
    ``__del__`` after that prints "Exception ignored in: Llama.__del__" at the end of every kernel or script."""
    for llm in list(_open_models):
        try:
            llm.close()
        except Exception:  # noqa: S110 (at exit: nothing left to report to)
            pass


class LlamaCppGenerator:
    """A loaded ``llama_cpp.Llama`` and what generate needs from it, as the model cache holds it.

    One generation runs at a time on a model (llama.cpp keeps one KV cache per context): starting a second
    while the first is still being iterated fails with a clear message instead of corrupting the first.
    """

    def __init__(self, llm: Any, model_id: str, nbytes: int) -> None:
        self.llm = llm
        self.model_id = model_id
        self.nbytes = nbytes
        try:
            _open_models.add(llm)
        except TypeError:  # not weak-referenceable (a stand-in in a test): nothing to free at exit
            pass
        self.ignore_eos = False  # benchmarks set this to generate exactly max_new_tokens tokens
        self.eog_tokens = _eog_tokens(llm)
        self._busy = threading.Lock()
        template = llm.metadata.get("tokenizer.chat_template")
        self._chat = (
            ChatTemplate(template, _token_text(llm, llm.token_bos()), _token_text(llm, llm.token_eos()))
            if template
            else None
        )

    def has_chat_template(self) -> bool:
        return self._chat is not None

    def format_chat(self, messages: list[dict[str, str]]) -> str:
        if self._chat is None:
            raise AIMagicsError(f"Model {self.model_id!r} has no chat template.")
        return self._chat.render(messages)

    @staticmethod
    def reuse_kv_prefix() -> bool:
        from ai_magics_llamacpp.settings import get_settings

        return get_settings().reuse_kv_prefix

    def encode(self, prompt: str, chat: bool = False) -> list[int]:
        """Token ids of ``prompt``: special tokens written in it are parsed; BOS is added unless ``chat``."""
        return self.llm.tokenize(prompt.encode("utf-8"), add_bos=not chat, special=True)

    def sampling_kwargs(self, options: SamplingOptions) -> dict[str, Any]:
        """``Llama.generate`` arguments for ``options`` (repeat penalty off, as in the other backends)."""
        if options.greedy:
            return {"temp": 0.0, "repeat_penalty": 1.0}
        return {
            "temp": options.temperature,
            "top_k": options.top_k,
            "top_p": options.top_p,
            "min_p": 0.0,
            "typical_p": 1.0,
            "repeat_penalty": 1.0,
        }

    def stream(
        self, prompt: str, options: SamplingOptions, should_stop: Callable[[], bool], chat: bool = False
    ) -> Iterator[str]:
        import llama_cpp

        tokens = self.encode(prompt, chat=chat)
        n_ctx = self.llm.n_ctx()
        if len(tokens) >= n_ctx:
            raise AIMagicsError(
                f"The prompt is {len(tokens)} tokens but the llama.cpp context holds {n_ctx}. Shorten the prompt "
                "or the conversation, or raise %config LlamaCpp.n_ctx and run `%ai_magics clear`."
            )
        if not self._busy.acquire(blocking=False):
            raise AIMagicsError(
                f"Model {self.model_id!r} (llama.cpp) is still busy with another generation. Finish or stop that "
                "one first (or use --backend transformers for this one)."
            )
        try:
            budget = min(options.max_new_tokens, n_ctx - len(tokens))
            seed = options.seed if options.seed is not None and not options.greedy else llama_cpp.LLAMA_DEFAULT_SEED
            self.llm.set_seed(seed)
            decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
            detokenize, eog, ignore_eos = self.llm.detokenize, self.eog_tokens, self.ignore_eos
            produced = 0
            if not self.reuse_kv_prefix():
                self.llm.reset()  # evaluate the whole prompt, as a fresh create_completion does
            tokens_iter = self.llm.generate(tokens, reset=True, **self.sampling_kwargs(options))
            try:
                for token in tokens_iter:
                    if token in eog and not ignore_eos:
                        break
                    yield decoder.decode(detokenize([token]))
                    produced += 1
                    if produced >= budget or should_stop():
                        break
            finally:
                tokens_iter.close()
            tail = decoder.decode(b"", final=True)
            if tail:
                yield tail
        finally:
            self._busy.release()
