"""Reading training data (a DataFrame, a list of dicts or texts, a CSV/JSONL/text file, or CSV in the cell) and
checking it, with a one-paragraph message for each problem the user can fix."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any, Iterable, Mapping

from ai_magics.errors import AIMagicsError

FILE_SUFFIXES = (".csv", ".tsv", ".jsonl", ".ndjson", ".json", ".txt")
ACCEPTED = "a pandas DataFrame, a list of dicts (one per row), a dict of columns, or a path to a CSV or JSONL file"


def looks_like_path(name: str) -> bool:
    """Whether ``--data`` text names a file rather than a notebook variable."""
    return name.lower().endswith(FILE_SUFFIXES) or "/" in name or "\\" in name or Path(name).expanduser().is_file()


def from_notebook(name: str, user_ns: Mapping[str, Any]) -> Any:
    """What ``--data NAME`` refers to: a notebook variable, else a file path, else a clear error."""
    if name in user_ns:
        return user_ns[name]
    if looks_like_path(name):
        return Path(name).expanduser()
    raise AIMagicsError(
        f"--data {name}: there is no variable {name!r} in the notebook and no file of that name. Define it in a "
        "cell above and run that cell first (check the spelling), or give the path of a CSV or JSONL file."
    )


def read_file(path: Path) -> Any:
    """A DataFrame from a CSV/TSV/JSON/JSONL file, or a list of lines from a .txt file."""
    import pandas as pd

    if not path.is_file():
        raise AIMagicsError(
            f"There is no file at {str(path)!r} (looked in {Path.cwd()}). Check the path, or pass a variable "
            "holding a DataFrame."
        )
    suffix = path.suffix.lower()
    try:
        if suffix == ".txt":
            return [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        if suffix in (".jsonl", ".ndjson"):
            return pd.read_json(path, lines=True)
        if suffix == ".json":
            return pd.read_json(path)
        sep = "\t" if suffix == ".tsv" else ","
        text = path.read_text(encoding="utf-8-sig")  # read once (a BOM dropped, as pandas does): checked, then parsed
        check_ragged(text, repr(str(path)), sep)
        return pd.read_csv(io.StringIO(text), sep=sep)
    except AIMagicsError:
        raise
    except (ValueError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        what = "JSON lines" if suffix in (".jsonl", ".ndjson") else suffix.lstrip(".").upper() or "CSV"
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise AIMagicsError(
            f"Could not read {str(path)!r} as {what}: {first}. Check the file's format (CSV with a header row, or "
            "one JSON object per line for .jsonl)."
        ) from None


def check_ragged(text: str, where: str, delimiter: str = ",") -> None:
    """Fail, naming the first bad row, if a row has more or fewer fields than the header (pandas would fill
    short rows with NaN, and read rows one field longer than the header as an index, shifting every column)."""
    import csv

    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    header = next(reader, None)
    if not header:
        return
    for row in reader:
        if row and len(row) != len(header):
            names = ", ".join(header[:10]) + (", ..." if len(header) > 10 else "")
            raise AIMagicsError(
                f"Line {reader.line_num} of {where} has {len(row)} fields, but the header has {len(header)} "
                f"({names}). Every row needs one value per column: check that line for a missing or extra "
                "comma (or quote values that contain commas)."
            )


def csv_text(text: str) -> Any:
    """A DataFrame from CSV written in the cell body (a header row, then one row per line)."""
    import pandas as pd

    text = text.strip("\n")
    check_ragged(text, "the CSV in the cell")
    try:
        return pd.read_csv(io.StringIO(text))
    except (ValueError, pd.errors.ParserError) as exc:
        raise AIMagicsError(
            f"Could not read the cell as CSV: {str(exc).strip().splitlines()[0]}. Write a header row and then one "
            "comma-separated row per line, or pass --data NAME instead."
        ) from None


def body_lines(body: str) -> list[str]:
    """The cell's lines that are data: not blank, not comments (starting with #)."""
    return [line for line in body.splitlines() if line.strip() and not line.lstrip().startswith("#")]


def load(data: Any, body: str = "", texts_ok: bool = False) -> Any:
    """The training data as a DataFrame, or (``texts_ok``) a list of strings.

    ``data`` may be any of the accepted kinds; with ``data=None`` the cell ``body`` is read (lines of text when
    ``texts_ok``, else CSV; lines starting with # are comments). Empty data is an error.
    """
    import pandas as pd

    lines = body_lines(body)
    if data is not None and lines:
        raise AIMagicsError(
            "The data is given twice: by --data and in the cell. Keep one of them (lines starting with # in the "
            "cell are comments and may stay)."
        )
    if data is None:
        if not lines:
            raise AIMagicsError(
                "No training data: pass --data NAME (" + ACCEPTED + "), or write the data in the cell"
                + (" (one text per line)." if texts_ok else " as CSV with a header row.")
            )
        data = lines if texts_ok else csv_text("\n".join(lines))
    if isinstance(data, str):
        data = Path(data).expanduser()
    if isinstance(data, Path):
        data = read_file(data)
    if isinstance(data, pd.Series):
        data = data.tolist() if texts_ok and _all_text(data.tolist()) else data.to_frame()
    if isinstance(data, dict):
        try:
            data = pd.DataFrame(data)
        except ValueError as exc:
            raise AIMagicsError(f"The dict given as data is not a table of columns: {exc}. {_accepted()}") from None
    if isinstance(data, (list, tuple)):
        data = _from_list(list(data), texts_ok)
    if isinstance(data, list):
        if not data:
            raise AIMagicsError("The data is empty: there is nothing to train on. Pass data with at least a few rows.")
        return data
    if not isinstance(data, pd.DataFrame):
        raise AIMagicsError(f"The data is a {type(data).__name__}, which %%train cannot read. {_accepted()}")
    if len(data) == 0 or len(data.columns) == 0:
        raise AIMagicsError(
            "The data is empty (no rows or no columns): there is nothing to train on. Check the filter or file "
            "that produced it."
        )
    return data


def _accepted() -> str:
    return f"Pass {ACCEPTED}."


def _all_text(items: Iterable[Any]) -> bool:
    return all(isinstance(item, str) for item in items)


def _from_list(items: list[Any], texts_ok: bool) -> Any:
    import pandas as pd

    if not items:
        raise AIMagicsError("The data is an empty list: there is nothing to train on. Pass at least a few rows.")
    if all(isinstance(item, Mapping) for item in items):
        return pd.DataFrame(items)
    if _all_text(items):
        if texts_ok:
            return items
        raise AIMagicsError(
            "The data is a list of strings, which has no labels to learn. Pass a DataFrame or a list of dicts "
            "with a text column and a --target column, e.g. [{'text': 'great film', 'label': 'pos'}, ...]."
        )
    kinds = sorted({type(item).__name__ for item in items})
    raise AIMagicsError(f"The data is a list of {', '.join(kinds)}; %%train needs one dict per row. {_accepted()}")


# -- checks on a DataFrame -----------------------------------------------------------------------------------


def require_column(frame: Any, column: str | None, option: str, purpose: str) -> str:
    """``column`` if the frame has it, else an error listing the columns it does have."""
    if column is None:
        raise AIMagicsError(f"{option} is required here: name the column {purpose}. {_columns(frame)}")
    if column not in frame.columns:
        raise AIMagicsError(f"{option} {column!r} is not a column of the data. {_columns(frame)}")
    return column


def _columns(frame: Any) -> str:
    names = [str(c) for c in frame.columns]
    shown = ", ".join(map(repr, names[:20])) + (f" and {len(names) - 20} more" if len(names) > 20 else "")
    return f"The data's columns are: {shown}."


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def check_missing(frame: Any, columns: list[str]) -> None:
    """Fail, naming the columns and counts, if any of ``columns`` holds NaN / None / infinity."""
    import numpy as np

    counts = frame[columns].isna().sum()
    missing = {str(c): int(n) for c, n in counts.items() if n}
    if missing:
        where = ", ".join(f"{c!r} ({_plural(n, 'row')})" for c, n in missing.items())
        raise AIMagicsError(
            f"The data has missing values (NaN or None) in {where}. Training needs every value: drop those rows "
            "with df.dropna(), or fill them, e.g. df.fillna(df.median(numeric_only=True)), and pass the result "
            "to --data."
        )
    numeric = [c for c in columns if frame[c].dtype.kind in "fc"]
    infinite = {str(c): int(np.isinf(frame[c].to_numpy()).sum()) for c in numeric}
    infinite = {c: n for c, n in infinite.items() if n}
    if infinite:
        where = ", ".join(f"{c!r} ({_plural(n, 'row')})" for c, n in infinite.items())
        raise AIMagicsError(
            f"The data has infinite values in {where}. Replace them, e.g. df.replace([np.inf, -np.inf], np.nan)"
            ".dropna(), and pass the result to --data."
        )


def numeric_columns(frame: Any, columns: list[str]) -> list[str]:
    """``columns`` if all are numbers (or booleans), else an error naming the ones that are not."""
    bad = [str(c) for c in columns if frame[c].dtype.kind not in "biuf"]
    if bad:
        names = ", ".join(map(repr, bad))
        raise AIMagicsError(
            f"Feature column{'s' if len(bad) > 1 else ''} {names} {'are' if len(bad) > 1 else 'is'} not numeric, "
            "and --task tabular trains on numbers. Encode them first (e.g. pd.get_dummies(df, columns=[...]) for "
            "categories), or choose the numeric columns with --features a,b,c."
        )
    return columns


def texts(data: Any, column: str | None) -> list[str]:
    """The training texts for a language model: a list of strings, or one column of a DataFrame."""
    if isinstance(data, list):
        return data
    if column is None:
        column = "text" if "text" in data.columns else _only_text_column(data)
    require_column(data, column, "--text-column", "that holds the texts")
    return text_values(data, column)


def _only_text_column(frame: Any) -> str | None:
    candidates = [c for c in frame.columns if frame[c].dtype.kind == "O" or str(frame[c].dtype) in ("string", "str")]
    return candidates[0] if len(candidates) == 1 else None


def text_column(frame: Any, column: str | None, target: str) -> str:
    """The column of texts to classify: the one named, or 'text', or the only other text column."""
    if column is None:
        others = frame.drop(columns=[target])
        column = "text" if "text" in others.columns else _only_text_column(others)
    return require_column(frame, column, "--text-column", "that holds the texts")


def text_values(frame: Any, column: str) -> list[str]:
    """The texts of a column, failing clearly on missing or non-text values."""
    check_missing(frame, [column])
    values = frame[column].tolist()
    bad = [v for v in values if not isinstance(v, str)]
    if bad:
        raise AIMagicsError(
            f"--text-column {column!r} must hold text, but {len(bad)} value(s) are not strings (e.g. {bad[0]!r}). "
            f"Convert them with df[{column!r}].astype(str), or choose another column."
        )
    return values
