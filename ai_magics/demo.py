"""Run a notebook headless on the real default models (``make demo``), or strip notebooks' outputs.

    python -m ai_magics.demo notebooks/quickstart.ipynb      # executes it, writes notebooks/out/*.ipynb + .html
    python -m ai_magics.demo --strip notebooks/*.ipynb      # removes outputs before committing
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

OUT_DIR = Path("notebooks/out")


def execute(path: Path, out_dir: Path = OUT_DIR, timeout: int = 1200) -> Path:
    """Execute ``path`` with nbclient in a fresh kernel; write the executed copy and an HTML export."""
    import nbformat
    from nbclient import NotebookClient

    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(notebook, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}})
    client.execute()
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / f"{path.stem}.executed.ipynb"
    nbformat.write(notebook, target)
    try:
        from nbconvert import HTMLExporter

        html, _ = HTMLExporter().from_notebook_node(notebook)
        target.with_suffix(".html").write_text(html, encoding="utf-8")
    except ImportError:
        pass
    return target


def strip(path: Path) -> bool:
    """Remove outputs and execution counts from a notebook in place; True if it changed."""
    import nbformat

    notebook = nbformat.read(path, as_version=4)
    before = nbformat.writes(notebook)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
        cell.metadata.pop("execution", None)
    notebook.metadata.pop("widgets", None)
    after = nbformat.writes(notebook)
    if after != before:
        path.write_text(after, encoding="utf-8")
    return after != before


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("notebooks", nargs="+", type=Path)
    parser.add_argument("--strip", action="store_true", help="strip outputs instead of executing")
    args = parser.parse_args(argv)
    for path in args.notebooks:
        if args.strip:
            print(f"{'stripped' if strip(path) else 'clean   '} {path}")
            continue
        start = time.perf_counter()
        print(f"Running {path} on the default models (first run converts SmolLM2 once, about a minute)...")
        target = execute(path)
        print(f"Done in {time.perf_counter() - start:.0f} s. Executed notebook: {target}")
        if target.with_suffix(".html").exists():
            print(f"HTML (open in a browser): {target.with_suffix('.html')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
