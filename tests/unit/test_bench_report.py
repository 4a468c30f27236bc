"""tools/bench_report.py: bench JSON files become one RESULTS.md table and the README's table."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def load(path: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def report():
    return load(ROOT / "tools" / "bench_report.py", "bench_report")


@pytest.fixture
def common(monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT / "bench"))
    return load(ROOT / "bench" / "_common.py", "_common")


def test_rows_written_by_a_bench_become_one_table_in_a_fixed_order(tmp_path, report, common):
    Row = common.Row
    common.write_rows("train", "t", [Row("plain loop", 200.0, "steps/s", 1.0, "plain")], folder=tmp_path)
    common.write_rows("generate", "g", [Row("raw generate", 9.17, "tok/s", 1.0, "raw"),
                                        Row("%%generate", 9.0, "tok/s", 0.98, "raw"),
                                        Row("cold load", 43.21, "s")], ["a note"], folder=tmp_path)  # fmt: skip
    (tmp_path / "other.json").write_text(json.dumps({"not": "a bench"}))
    results = report.load_results(tmp_path)
    assert [r["bench"] for r in results] == ["generate", "train"]
    lines = report.table(results).splitlines()
    assert lines[2] == "| `generate.py` | raw generate | 9.17 tok/s | 1.00x | raw |"
    assert lines[3] == "| `generate.py` | %%generate | 9.00 tok/s | 0.98x | raw |"
    assert lines[4] == "| `generate.py` | cold load | 43.21 s |  |  |"
    assert lines[5].startswith("| `train.py` | plain loop | 200.0 steps/s | 1.00x |")
    text = report.report(results, {"CPU": "x, 2 logical cores", "device": "cpu"}, "2026-12-04")
    assert "2026-12-04" in text and "- CPU: x, 2 logical cores" in text and "a note" in text


def test_the_readme_table_is_replaced_between_its_markers_only(tmp_path, report):
    readme = tmp_path / "README.md"
    readme.write_text(f"# T\n\nbefore\n{report.START}\nold table\n{report.END}\nafter\n")
    assert report.update_readme(readme, f"{report.START}\nnew table\n{report.END}")
    assert readme.read_text() == f"# T\n\nbefore\n{report.START}\nnew table\n{report.END}\nafter\n"
    bare = tmp_path / "BARE.md"
    bare.write_text("no markers\n")
    assert not report.update_readme(bare, "x") and bare.read_text() == "no markers\n"


def test_the_project_readme_has_the_markers_and_machine_info_is_complete(report):
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert text.count(report.START) == 1 and text.count(report.END) == 1
    info = report.machine()
    assert {"CPU", "memory", "torch", "device"} <= info.keys() and info["device"] in {"cpu", "cuda", "mps"}


def test_format_value_keeps_small_figures_readable(report):
    assert report.format_value(0.98, "ms") == "0.980 ms"
    assert report.format_value(1.46, "x") == "1.46x"
    assert report.format_value(123.4, "tok/s") == "123.4 tok/s"
