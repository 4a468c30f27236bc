"""Generation speed of the llama.cpp backend on the seed's prompt, as ratios to raw llama-cpp-python in the same run.

    .venv/bin/python bench/generate_llamacpp.py [--tokens 128] [--repeats 5] [--json bench/generate_llamacpp.json]

Every path runs on the same loaded ``Llama`` object (same threads, context and batch), greedy, 128 new tokens with
end-of-sequence ignored, the prompt evaluated afresh each time (the backend's default). Rows: raw ``Llama.generate`` with per-token detokenizing (the
loop ``create_completion`` runs; the baseline), raw ``create_completion(stream=True)``, ``ai_magics.generate``,
``ai_magics.stream_generate`` and ``%%generate`` in an IPython shell. The paths take turns in each round, so a
neighbour's load on a shared machine hits them alike; each reports its best round.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
SEED_PROMPT = "The quick brown fox jumps over the lazy dog"
HERE = Path(__file__).resolve().parent


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tokens", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--json", type=Path, default=HERE / "generate_llamacpp.json")
    args = parser.parse_args()
    n, r = args.tokens, args.repeats

    try:
        import llama_cpp
        from ai_magics_llamacpp.generator import LlamaCppGenerator
    except ImportError as exc:
        print(f"skipped: the llama.cpp plugin is not installed ({exc}); `make install` installs it")
        return
    from IPython.testing.globalipapp import start_ipython

    import ai_magics
    from ai_magics.cache import get_cache
    from ai_magics.models.loading import plan_model, use_model

    plan = plan_model("smollm2", "causal-lm", device="cpu")
    assert plan.backend == "llama.cpp", f"expected the llama.cpp backend for smollm2 on CPU, got {plan.backend}"
    with use_model(plan) as g:
        assert isinstance(g, LlamaCppGenerator)
        llm = g.llm
        g.ignore_eos = True  # every path makes exactly n tokens
        ids = g.encode(SEED_PROMPT)

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
            chunks = llm.create_completion(SEED_PROMPT, max_tokens=n, temperature=0.0, stream=True)
            return sum(1 for _ in chunks)

        def api() -> int:
            ai_magics.generate(SEED_PROMPT, max_new_tokens=n, temperature=0, chat=False)
            return n

        def api_stream() -> int:
            stream = ai_magics.stream_generate(SEED_PROMPT, max_new_tokens=n, temperature=0, chat=False)
            for _ in stream:
                pass
            return stream.tokens

        shell = start_ipython()
        shell.run_line_magic("load_ext", "ai_magics")
        devnull = open(os.devnull, "w")

        def magic() -> int:
            real, sys.stdout = sys.stdout, devnull
            try:
                result = shell.run_cell(f"%%generate --temperature 0 --no-chat -n {n} --out _b\n{SEED_PROMPT}")
            finally:
                sys.stdout = real
            assert result.success, result.error_in_exec
            return n

        paths = {"raw": raw_generate, "completion": raw_completion, "api": api, "stream": api_stream, "magic": magic}
        completion_tokens = raw_completion()  # warm-up; create_completion stops at end-of-sequence by itself
        raw_generate()
        best: dict[str, float] = {}
        for _ in range(r):
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
    rows = [("raw llama-cpp-python generate loop (tok/s)", raw, 1.0)]
    if "completion" in best:
        rows.append(("raw create_completion(stream=True) (tok/s)", best["completion"], best["completion"] / raw))
    rows += [
        ("ai_magics.generate, llama.cpp (tok/s)", best["api"], best["api"] / raw),
        ("ai_magics.stream_generate, llama.cpp (tok/s)", best["stream"], best["stream"] / raw),
        ("%%generate in IPython, llama.cpp (tok/s)", best["magic"], best["magic"] / raw),
    ]
    threads = getattr(llm, "n_threads", "?")
    print(f"SmolLM2-135M-Instruct Q4_1 on llama.cpp (llama-cpp-python {llama_cpp.__version__}), {n} new tokens, "
          f"best of {r} rounds, {threads} threads")  # fmt: skip
    print(f"{'measure':46} {'value':>10} {'ratio':>8}")
    for label, value, ratio in rows:
        print(f"{label:46} {value:10.1f} {ratio:7.2f}x")
    if "completion" not in best:
        print(f"(create_completion stopped at end-of-sequence after {completion_tokens} tokens: row left out)")
    args.json.write_text(json.dumps({"rows": [list(row) for row in rows], "tokens": n}, indent=1))
    get_cache().clear()


if __name__ == "__main__":
    main()
