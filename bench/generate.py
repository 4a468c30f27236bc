"""Generation speed on the seed's prompt, all paths measured in one run, as ratios to raw transformers.

    .venv/bin/python bench/generate.py [--tokens 128] [--repeats 3]

Rows: raw ``model.generate`` (the baseline), TextIteratorStreamer (the obvious streaming path),
``ai_magics.generate``, ``ai_magics.stream_generate`` and ``%%generate`` in an IPython shell; the same on the
llama.cpp backend against raw llama-cpp-python (``_llamacpp.py``, when the plugin is installed); then cold load in a
fresh process (GGUF, the conversion cache, llama.cpp), cache-hit overhead, ``%load_ext`` time and peak RSS while
loading. Every generation runs 128 tokens (end-of-sequence ignored on every path) so rates compare like for like.
Writes ``bench/generate.json`` for ``tools/bench_report.py``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from _common import Row, print_rows, write_rows

os.environ.setdefault("HF_HUB_OFFLINE", "1")
SEED_PROMPT = "The quick brown fox jumps over the lazy dog"


def best_rate(fn, tokens: int, repeats: int) -> float:
    """Tokens per second of the fastest of ``repeats`` runs of ``fn`` (which generates ``tokens`` tokens)."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        produced = fn()
        elapsed = time.perf_counter() - start
        assert produced == tokens, f"expected {tokens} tokens, got {produced}"
        times.append(elapsed)
    return tokens / min(times)


def run_in_subprocess(code: str, env: dict[str, str] | None = None) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env={**os.environ, **(env or {})}, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


COLD_LOAD = """
import json, time
import psutil
t0 = time.perf_counter()
import torch, transformers
from ai_magics.models.loading import plan_model, use_model
BACKEND = __BACKEND__

def peak():  # this process's peak RSS (ru_maxrss would start at the parent's peak)
    with open("/proc/self/status") as status:
        return int(next(line for line in status if line.startswith("VmHWM:")).split()[1]) * 1024

t1 = time.perf_counter()
plan = plan_model("smollm2", "causal-lm", backend=BACKEND)  # imports the plugins before the RSS baseline
base = psutil.Process().memory_info().rss
with use_model(plan) as g:
    t2 = time.perf_counter()
    nbytes = getattr(g, "nbytes", 0)
    model = getattr(g, "model", None)
    if model is not None:  # read every weight once, as the first forward pass does (they are mapped lazily)
        with torch.no_grad():
            sum(float(p.sum()) for p in model.parameters())
print(json.dumps({"import_s": t1 - t0, "load_s": t2 - t1, "peak_delta": peak() - base, "weights": nbytes}))
"""



def cold_load(backend: str) -> str:
    """The fresh-process load script for ``backend``."""
    return COLD_LOAD.replace("__BACKEND__", repr(backend))


LOAD_EXT = """
import json, sys, time
from IPython.core.interactiveshell import InteractiveShell
shell = InteractiveShell.instance()
t = time.perf_counter()
shell.run_line_magic("load_ext", "ai_magics")
dt = time.perf_counter() - t
print(json.dumps({"load_ext_s": dt, "torch": "torch" in sys.modules, "transformers": "transformers" in sys.modules}))
"""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tokens", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    n, r = args.tokens, args.repeats

    import torch
    from IPython.testing.globalipapp import start_ipython
    from transformers import TextIteratorStreamer

    import ai_magics
    from ai_magics.cache import get_cache
    from ai_magics.models.loading import plan_model, use_model

    plan = plan_model("smollm2", "causal-lm", backend="transformers")
    results: dict[str, float] = {}
    with use_model(plan) as g:
        eos = g.eos_ids
        g.eos_ids = set()  # ignore end-of-sequence so every path makes exactly n tokens
        ids = g.encode(SEED_PROMPT)
        mask = torch.ones_like(ids)
        raw_kwargs = dict(attention_mask=mask, max_new_tokens=n, min_new_tokens=n, do_sample=False)

        def raw() -> int:
            return g.model.generate(ids, **raw_kwargs).shape[1] - ids.shape[1]

        def text_iterator_streamer() -> int:
            streamer = TextIteratorStreamer(g.tokenizer, skip_prompt=True)
            thread = threading.Thread(target=g.model.generate, kwargs=dict(inputs=ids, streamer=streamer, **raw_kwargs))
            thread.start()
            for _ in streamer:
                pass
            thread.join()
            return n

        def api() -> int:
            ai_magics.generate(SEED_PROMPT, max_new_tokens=n, temperature=0, chat=False, backend="transformers")
            return n

        def api_stream() -> int:
            stream = ai_magics.stream_generate(
                SEED_PROMPT, max_new_tokens=n, temperature=0, chat=False, backend="transformers"
            )
            for _ in stream:
                pass
            return stream.tokens

        shell = start_ipython()
        shell.run_line_magic("load_ext", "ai_magics")
        devnull = open(os.devnull, "w")

        def magic() -> int:
            real, sys.stdout = sys.stdout, devnull
            try:
                result = shell.run_cell(f"%%generate --backend transformers -t 0 --no-chat -n {n} --out _b\n{SEED_PROMPT}")
            finally:
                sys.stdout = real
            assert result.success, result.error_in_exec
            return n

        raw()  # warm-up
        for name, fn in [("raw", raw), ("streamer", text_iterator_streamer), ("api", api),
                         ("stream", api_stream), ("magic", magic)]:  # fmt: skip
            results[name] = best_rate(fn, n, r)
        g.eos_ids = eos

    from _llamacpp import measure as measure_llamacpp

    llamacpp = measure_llamacpp(SEED_PROMPT, n, max(r, 3), shell)

    hit_times = []
    for _ in range(200):
        start = time.perf_counter()
        with use_model(plan_model("smollm2", "causal-lm", backend="transformers")):
            pass
        hit_times.append(time.perf_counter() - start)
    cache_hit_ms = statistics.median(hit_times) * 1000

    warm = run_in_subprocess(cold_load("transformers"))
    with tempfile.TemporaryDirectory() as empty:
        cold = run_in_subprocess(cold_load("transformers"), {"AI_MAGICS_CACHE_DIR": empty})
    llama_load = run_in_subprocess(cold_load("llama.cpp")) if llamacpp else None
    load_ext = run_in_subprocess(LOAD_EXT)

    raw_hf = "raw transformers generate"
    rows = [
        Row("raw transformers model.generate, greedy (fp32)", results["raw"], "tok/s", 1.0, raw_hf),
        Row("TextIteratorStreamer (the usual streaming path)", results["streamer"], "tok/s",
            results["streamer"] / results["raw"], raw_hf),
        Row("ai_magics.generate, transformers backend", results["api"], "tok/s", results["api"] / results["raw"], raw_hf),
        Row("ai_magics.stream_generate, transformers backend", results["stream"], "tok/s",
            results["stream"] / results["raw"], raw_hf),
        Row("%%generate in IPython, transformers backend", results["magic"], "tok/s",
            results["magic"] / results["raw"], raw_hf),
    ]  # fmt: skip
    if llamacpp:
        llama_rows, best = llamacpp
        rows += llama_rows
        rows.append(Row("%%generate, llama.cpp (the default on CPU) vs raw transformers", best["magic"], "tok/s",
                        best["magic"] / results["raw"], raw_hf))  # fmt: skip
    rows += [
        Row("cold load in a fresh process, from GGUF (dequantise)", cold["load_s"], "s"),
        Row("cold load in a fresh process, conversion cache", warm["load_s"], "s", cold["load_s"] / warm["load_s"],
            "speed-up over loading the GGUF"),
    ]  # fmt: skip
    if llama_load:
        rows.append(Row("cold load in a fresh process, llama.cpp backend (mmap)", llama_load["load_s"], "s",
                        cold["load_s"] / llama_load["load_s"], "speed-up over loading the GGUF"))  # fmt: skip
    rows += [
        Row("cache hit (plan_model + use_model)", cache_hit_ms, "ms"),
        Row("%load_ext ai_magics", load_ext["load_ext_s"], "s"),
        Row("peak RSS rise, load + first read / fp32 weight bytes, GGUF", cold["peak_delta"] / cold["weights"], "x"),
        Row("peak RSS rise, load + first read / fp32 weight bytes, cached", warm["peak_delta"] / warm["weights"], "x"),
    ]
    if llama_load:  # the same fp32 weight bytes as the yardstick; llama.cpp maps the Q4_1 file and adds its KV cache
        rows.append(Row("peak RSS rise, llama.cpp load / fp32 weight bytes", llama_load["peak_delta"] / warm["weights"],
                        "x"))  # fmt: skip
    title = f"SmolLM2-135M-Instruct, {n} new tokens, best of {r}, {torch.get_num_threads()} torch threads"
    print_rows(title, rows)
    notes = [f"%load_ext imported torch: {load_ext['torch']}, transformers: {load_ext['transformers']}"]
    print(notes[0])
    write_rows("generate", title, rows, notes)
    get_cache().clear()


if __name__ == "__main__":
    main()
