"""The llama.cpp rows of ``bench/generate.py``: the llama.cpp backend against raw llama-cpp-python, one run.

Every path runs on the same loaded ``Llama`` object (same threads, context and batch), greedy, ``n`` new tokens
with end-of-sequence ignored, the prompt evaluated afresh each time (the backend's default). Paths: raw
``Llama.generate`` with per-token detokenizing (the loop ``create_completion`` runs; the baseline), raw
``create_completion(stream=True)``, ``ai_magics.generate``, ``ai_magics.stream_generate`` and ``%%generate`` in an
IPython shell. The paths take turns in each round, so a neighbour's load on a shared machine hits them alike; each
reports its best round.
"""

from __future__ import annotations

import os
import sys
import time
from typing import Any, Callable

from _common import Row

RAW = "raw llama-cpp-python"


def measure(prompt: str, n: int, repeats: int, shell: Any) -> tuple[list[Row], dict[str, float]] | None:
    """The rows, and the best rates by path; None when the llama.cpp plugin is not installed."""
    try:
        import llama_cpp  # noqa: F401
        from ai_magics_llamacpp.generator import LlamaCppGenerator
    except ImportError as exc:
        print(f"llama.cpp rows skipped: the plugin is not installed ({exc}); `make install` installs it")
        return None
    import ai_magics
    from ai_magics.models.loading import plan_model, use_model

    plan = plan_model("smollm2", "causal-lm", device="cpu", backend="llama.cpp")
    with use_model(plan) as g:
        assert isinstance(g, LlamaCppGenerator)
        llm = g.llm
        g.ignore_eos = True  # every path makes exactly n tokens
        ids = g.encode(prompt)

        def raw_generate() -> int:
            llm.reset()  # a fresh completion, as the backend evaluates every prompt afresh
            produced = 0
            for token in llm.generate(ids, temp=0.0, repeat_penalty=1.0, reset=True):
                llm.detokenize([token])
                produced += 1
                if produced == n:
                    break
            return produced

        def raw_completion() -> int:
            llm.reset()
            chunks = llm.create_completion(prompt, max_tokens=n, temperature=0.0, stream=True)
            return sum(1 for _ in chunks)

        def api() -> int:
            ai_magics.generate(prompt, max_new_tokens=n, temperature=0, chat=False, backend="llama.cpp")
            return n

        def api_stream() -> int:
            stream = ai_magics.stream_generate(prompt, max_new_tokens=n, temperature=0, chat=False, backend="llama.cpp")
            for _ in stream:
                pass
            return stream.tokens

        devnull = open(os.devnull, "w")

        def magic() -> int:
            real, sys.stdout = sys.stdout, devnull
            try:
                cell = f"%%generate --backend llama.cpp --temperature 0 --no-chat -n {n} --out _b\n{prompt}"
                result = shell.run_cell(cell)
            finally:
                sys.stdout = real
            assert result.success, result.error_in_exec
            return n

        paths: dict[str, Callable[[], int]] = {
            "raw": raw_generate, "completion": raw_completion, "api": api, "stream": api_stream, "magic": magic,
        }  # fmt: skip
        completion_tokens = raw_completion()  # warm-up; create_completion stops at end-of-sequence by itself
        raw_generate()
        best: dict[str, float] = {}
        for _ in range(repeats):
            for name, fn in paths.items():
                if name == "completion" and completion_tokens != n:
                    continue
                start = time.perf_counter()
                produced = fn()
                elapsed = time.perf_counter() - start
                assert produced == n, f"{name}: expected {n} tokens, got {produced}"
                best[name] = max(best.get(name, 0.0), n / elapsed)
        g.ignore_eos = False

    raw = best["raw"]
    rows = [Row("raw llama-cpp-python generate loop (Q4_1 GGUF)", raw, "tok/s", 1.0, RAW)]
    if "completion" in best:
        rows.append(Row("raw llama-cpp-python create_completion(stream=True)", best["completion"], "tok/s",
                        best["completion"] / raw, RAW))  # fmt: skip
    rows += [
        Row("ai_magics.generate, llama.cpp backend", best["api"], "tok/s", best["api"] / raw, RAW),
        Row("ai_magics.stream_generate, llama.cpp backend", best["stream"], "tok/s", best["stream"] / raw, RAW),
        Row("%%generate in IPython, llama.cpp backend", best["magic"], "tok/s", best["magic"] / raw, RAW),
    ]
    return rows, best
