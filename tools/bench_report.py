"""Write ``bench/RESULTS.md`` from the ``bench/*.json`` files the bench scripts wrote, and the README's table.

    .venv/bin/python tools/bench_report.py [--bench-dir bench] [--readme README.md]

``make bench`` runs every ``bench/<name>.py`` and then this. The report gives the date, the machine (CPU model and
cores, memory, torch / transformers / llama-cpp-python versions, the device the model cache picks) and one table of
every figure with its ratio against the raw library path measured in the same run. The README's benchmark table,
between the ``bench-table`` markers, is replaced by the same table.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import re
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ORDER = ("generate", "classify", "train")
START, END = "<!-- bench-table:start -->", "<!-- bench-table:end -->"


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def machine() -> dict[str, str]:
    """What the figures were measured on."""
    import psutil
    import torch

    from ai_magics.cache.device import best_device

    return {
        "CPU": f"{cpu_model()}, {os.cpu_count()} logical cores",
        "memory": f"{psutil.virtual_memory().total / 2**30:.1f} GiB",
        "OS": f"{platform.system()} {platform.release()}, Python {platform.python_version()}",
        "torch": f"{torch.__version__} ({torch.get_num_threads()} threads)",
        "transformers": version("transformers"),
        "llama-cpp-python": version("llama-cpp-python"),
        "device": best_device(),
    }


def load_results(folder: Path) -> list[dict]:
    """Every bench's saved rows, in a fixed order (known benches first)."""
    found = {}
    for path in sorted(folder.glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        if isinstance(data, dict) and isinstance(data.get("rows"), list) and data.get("bench"):
            found[data["bench"]] = data
    known = [found.pop(name) for name in ORDER if name in found]
    return known + [found[name] for name in sorted(found)]


def format_value(value: float, unit: str) -> str:
    if unit == "x":
        return f"{value:.2f}x"
    digits = 3 if abs(value) < 1 else 2 if abs(value) < 100 else 1
    return f"{value:.{digits}f} {unit}"


def table(results: list[dict]) -> str:
    """One markdown table of every row of every bench."""
    lines = ["| bench | measure | figure | ratio | against (same run) |", "|---|---|---|---|---|"]
    for result in results:
        for row in result["rows"]:
            ratio = "" if row.get("ratio") is None else f"{row['ratio']:.2f}x"
            measure = row["measure"].replace("|", "\\|")
            lines.append(f"| `{result['bench']}.py` | {measure} | {format_value(row['value'], row['unit'])} | "
                         f"{ratio} | {row.get('baseline') or ''} |")  # fmt: skip
    return "\n".join(lines)


def report(results: list[dict], info: dict[str, str], when: str) -> str:
    parts = [
        "# Benchmark results",
        "",
        f"Written by `make bench` (`tools/bench_report.py`) on {when}. Every ratio compares with the raw library "
        "path measured in the same run of the same script; rates are best-of-rounds.",
        "",
        "## Machine",
        "",
        *[f"- {key}: {value}" for key, value in info.items()],
        "",
        "## Figures",
        "",
        table(results),
        "",
    ]
    for result in results:
        notes = [result.get("title", "")] + list(result.get("notes", []))
        parts.append(f"- `{result['bench']}.py`: " + "; ".join(n for n in notes if n))
    return "\n".join(parts) + "\n"


def readme_block(results: list[dict], info: dict[str, str], when: str) -> str:
    return (f"{START}\nFrom [`bench/RESULTS.md`](bench/RESULTS.md), {when}: {info['CPU']}, {info['memory']}, torch "
            f"{info['torch']}, device {info['device']}.\n\n{table(results)}\n{END}")  # fmt: skip


def update_readme(readme: Path, block: str) -> bool:
    """Replace the table between the markers; False when the README has no markers."""
    text = readme.read_text(encoding="utf-8")
    pattern = re.compile(re.escape(START) + r".*?" + re.escape(END), re.S)
    if not pattern.search(text):
        return False
    readme.write_text(pattern.sub(lambda _: block, text), encoding="utf-8")
    return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bench-dir", type=Path, default=ROOT / "bench")
    parser.add_argument("--readme", type=Path, default=ROOT / "README.md")
    args = parser.parse_args()
    results = load_results(args.bench_dir)
    if not results:
        raise SystemExit(f"no bench results in {args.bench_dir}: run the bench scripts first (make bench)")
    info = machine()
    when = datetime.date.today().isoformat()
    out = args.bench_dir / "RESULTS.md"
    out.write_text(report(results, info, when), encoding="utf-8")
    print(f"wrote {out}")
    if update_readme(args.readme, readme_block(results, info, when)):
        print(f"updated the benchmark table in {args.readme}")
    else:
        print(f"{args.readme} has no {START} ... {END} markers: table not copied")


if __name__ == "__main__":
    main()
