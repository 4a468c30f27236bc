"""Zero-shot %%classify throughput against raw sentence-transformers, measured in one run, as a ratio.

    .venv/bin/python bench/classify.py [--texts 500] [--batch-size 32] [--repeats 5] [--threads N] [--json FILE]

Baseline: ``SentenceTransformer(<minilm folder>).encode(texts, batch_size=B)``. Measured: ``ai_magics.classify(texts,
labels, batch_size=B)`` with the default model (the same folder), which also embeds and normalises the texts,
compares them with the (cached) label embeddings and builds the DataFrame. Both are warmed up first. Each round
runs the two paths back to back (in alternating order) and gives one ratio; the median ratio over the rounds is
reported, with each path's fastest rate, so load from other processes on a shared machine hits both alike.
Also reported: the share of each classify call spent outside the encoder's ``encode`` (label lookup, similarity,
softmax, DataFrame), which contention hardly blurs. Writes ``bench/classify.json`` for ``tools/bench_report.py``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import time
from pathlib import Path
from typing import Any, Callable

from _common import Row, write_rows

os.environ.setdefault("HF_HUB_OFFLINE", "1")
LABELS = "sports,politics,technology,health,business"
SUBJECTS = ["The team", "Our senator", "The new laptop", "The hospital", "A small startup", "The striker",
            "The central bank", "Doctors", "The prime minister", "Engineers", "The coach", "Investors"]
VERBS = ["announced", "criticised", "celebrated", "delayed", "unveiled", "questioned", "reported", "defended"]
OBJECTS = ["a record season", "the budget bill", "a faster chip", "a rise in flu cases", "its quarterly results",
           "a controversial transfer", "the election results", "a security update", "new vaccine trials",
           "the interest rate decision", "a stadium expansion", "an open-source model"]
TAILS = ["", " on Monday", " after weeks of debate", " despite strong criticism from fans and analysts",
         " in a statement that surprised most observers", " at a press conference"]  # fmt: skip


def make_texts(count: int, seed: int = 0) -> list[str]:
    """``count`` varied news-like sentences (8 to 25 words)."""
    rng = random.Random(seed)
    parts = (SUBJECTS, VERBS, OBJECTS)
    return [" ".join(rng.choice(p) for p in parts) + rng.choice(TAILS) + "." for _ in range(count)]


def timed(fn: Callable[[], Any]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--texts", type=int, default=500)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=5, help="rounds (each runs both paths once)")
    parser.add_argument("--threads", type=int, help="torch CPU threads for both paths (default: torch's)")
    parser.add_argument("--json", type=Path, help="also write these figures to this file")
    args = parser.parse_args()

    import statistics

    import torch
    from sentence_transformers import SentenceTransformer

    import ai_magics
    from ai_magics.backends.st_encoder import SentenceEncoder
    from ai_magics.models.builtin_aliases import locate_minilm

    classify = getattr(ai_magics, "classify", None)
    if classify is None:  # until the lead adds classify to ai_magics' lazy exports
        from ai_magics.tasks.classify.api import classify

    if args.threads:
        torch.set_num_threads(args.threads)
    texts = make_texts(args.texts)
    raw = SentenceTransformer(locate_minilm().path, device="cpu")

    def run_raw() -> Any:
        return raw.encode(texts, batch_size=args.batch_size, show_progress_bar=False)

    encode_seconds = [0.0]
    plain_encode = SentenceEncoder.encode

    def timed_encode(self: Any, batch: Any, batch_size: int = 64) -> Any:
        start = time.perf_counter()
        try:
            return plain_encode(self, batch, batch_size)
        finally:
            encode_seconds[0] += time.perf_counter() - start

    SentenceEncoder.encode = timed_encode  # type: ignore[method-assign]

    def run_ours() -> Any:
        return classify(texts, LABELS, batch_size=args.batch_size, device="cpu")

    raw.encode(texts[:64], batch_size=args.batch_size, show_progress_bar=False)
    frame = classify(texts[:64], LABELS, batch_size=args.batch_size, device="cpu")  # loads the model, embeds labels
    assert len(frame) == 64
    encode_seconds[0] = 0.0
    raw_times, our_times, ratios = [], [], []
    for round_ in range(args.repeats):
        if round_ % 2:
            ours, base = timed(run_ours), timed(run_raw)
        else:
            base, ours = timed(run_raw), timed(run_ours)
        raw_times.append(base)
        our_times.append(ours)
        ratios.append(base / ours)
    raw_rate, our_rate = len(texts) / min(raw_times), len(texts) / min(our_times)
    ratio = statistics.median(ratios)
    outside = 1 - encode_seconds[0] / sum(our_times)
    figures = {
        "texts": len(texts), "batch_size": args.batch_size, "rounds": args.repeats,
        "threads": torch.get_num_threads(), "raw_encode_texts_per_s": round(raw_rate, 1),
        "classify_texts_per_s": round(our_rate, 1), "ratio_median": round(ratio, 3),
        "ratio_best_rates": round(our_rate / raw_rate, 3), "ratios": [round(r, 3) for r in ratios],
        "share_outside_encode": round(outside, 4),
    }  # fmt: skip
    print(f"raw SentenceTransformer.encode : {raw_rate:8.1f} texts/s (fastest round)")
    print(f"ai_magics.classify (zero-shot) : {our_rate:8.1f} texts/s (fastest round)")
    print(f"ratio classify / raw           : {ratio:8.3f}x median of {args.repeats} rounds "
          f"({', '.join(f'{r:.2f}' for r in ratios)}); goal >= 0.95x")  # fmt: skip
    print(f"classify time outside encode   : {100 * outside:8.2f} %")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
    raw_label = "raw SentenceTransformer.encode"
    rows = [
        Row(f"raw SentenceTransformer.encode, MiniLM, {len(texts)} texts", raw_rate, "texts/s", 1.0, raw_label),
        Row(f"zero-shot classify, {len(LABELS.split(','))} labels (median ratio of rounds)", our_rate, "texts/s", ratio,
            raw_label),
    ]  # fmt: skip
    write_rows("classify", f"zero-shot classification, {torch.get_num_threads()} torch thread(s)", rows,
               [f"time outside encode: {100 * outside:.2f} %", f"round ratios: {figures['ratios']}"])  # fmt: skip


if __name__ == "__main__":
    main()
