"""What every bench script shares: one row format, saved as ``bench/<name>.json`` for ``tools/bench_report.py``.

A row is one figure: what was measured, its value and unit, and its ratio against the raw library path measured in
the same run (``baseline`` names that path). Ratios are ours / raw for rates (higher is better) and say so in
``baseline`` when they are a speed-up instead.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent


@dataclass
class Row:
    measure: str
    value: float
    unit: str
    ratio: float | None = None
    baseline: str | None = None


def print_rows(title: str, rows: list[Row]) -> None:
    """The rows as an aligned text table on stdout."""
    print(title)
    print(f"{'measure':58} {'value':>10} {'unit':8} {'ratio':>7}")
    for row in rows:
        ratio = "" if row.ratio is None else f"{row.ratio:6.2f}x"
        print(f"{row.measure:58} {row.value:10.3f} {row.unit:8} {ratio:>7}")


def write_rows(bench: str, title: str, rows: list[Row], notes: list[str] | None = None, folder: Path = HERE) -> Path:
    """Save the rows of one bench script to ``<folder>/<bench>.json`` (the report reads every such file)."""
    path = folder / f"{bench}.json"
    payload = {"bench": bench, "title": title, "rows": [asdict(row) for row in rows], "notes": notes or []}
    path.write_text(json.dumps(payload, indent=1) + "\n", encoding="utf-8")
    return path
