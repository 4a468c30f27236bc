"""What to classify: the cell body's lines, or ``--data NAME`` (a list, a Series, or a DataFrame column)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ai_magics.errors import AIMagicsError

API_ORIGIN = "the data"
BODY_ORIGIN = "the cell body"


@dataclass(frozen=True)
class TextInputs:
    """Texts to label, with the pandas index of the data they came from (None: numbered from 0)."""

    texts: list[str]
    index: Any = None


def body_texts(body: str) -> list[str]:
    """Each non-empty line of the cell body, stripped, is one text."""
    return [line.strip() for line in body.splitlines() if line.strip()]


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def _is_missing(value: Any) -> bool:
    if value is None:
        return True
    try:
        import pandas as pd

        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _check_texts(values: list[Any], origin: str, index: Any = None) -> list[str]:
    if not values:
        raise AIMagicsError(f"{_capital(origin)} is empty: there is nothing to classify. Give it at least one text.")
    for position, value in enumerate(values):
        if isinstance(value, str):
            continue
        where = index[position] if index is not None else position
        what = "missing (None/NaN)" if _is_missing(value) else f"of type {type(value).__name__}, not text"
        raise AIMagicsError(
            f"Item {where!r} of {origin} is {what}. Every item must be a string; drop or fill such rows first "
            "(for pandas: .dropna() or .astype(str))."
        )
    return values


def column_of(frame: Any, column: str | None, origin: str) -> Any:
    """The Series ``frame[column]``, or a clear error when no column or an absent one is named."""
    columns = ", ".join(map(repr, map(str, frame.columns[:20]))) or "none"
    if column is None:
        raise AIMagicsError(
            f"{_capital(origin)} is a DataFrame: say which column holds the texts with --column NAME (column= in "
            f"Python). Its columns are: {columns}."
        )
    if column not in frame.columns:
        raise AIMagicsError(f"--column {column!r} is not a column of {origin}. Its columns are: {columns}.")
    return frame[column]


def text_inputs(data: Any, column: str | None = None, origin: str = API_ORIGIN) -> TextInputs:
    """Texts from a string, a list or tuple, a numpy array, a pandas Series, or a DataFrame with ``column``."""
    import pandas as pd

    if isinstance(data, pd.DataFrame):
        data = column_of(data, column, origin)
        origin = f"column {column!r} of {origin}"
    elif column is not None:
        raise AIMagicsError(
            f"--column {column!r} picks a column of a DataFrame, but {origin} is a {type(data).__name__}. "
            "Drop --column, or pass a DataFrame."
        )
    if isinstance(data, str):
        return TextInputs(_check_texts([data], origin))
    if isinstance(data, pd.Series):
        return TextInputs(_check_texts(data.tolist(), origin, data.index), data.index)
    if isinstance(data, (list, tuple, pd.Index)) or type(data).__name__ == "ndarray":
        if getattr(data, "ndim", 1) != 1:
            raise AIMagicsError(f"{_capital(origin)} is a {data.ndim}-dimensional array; give a flat list of texts.")
        return TextInputs(_check_texts(list(data), origin))
    raise AIMagicsError(
        f"{_capital(origin)} is a {type(data).__name__}; %%classify labels a list of strings, a pandas Series, or a "
        "DataFrame column named with --column."
    )


def table_input(data: Any, column: str | None, origin: str, model: str) -> Any:
    """The DataFrame a tabular model labels row by row, or a clear error for anything else."""
    import pandas as pd

    if not isinstance(data, pd.DataFrame):
        given = "text in the cell body" if origin == BODY_ORIGIN else f"{origin}, a {type(data).__name__}"
        raise AIMagicsError(
            f"Model {model!r} was trained on tabular data, so it labels the rows of a DataFrame, but it was given "
            f"{given}. Pass --data NAME (a DataFrame in Python) holding the columns it was trained on."
        )
    if column is not None:
        raise AIMagicsError(
            f"Model {model!r} is tabular: it reads every column it was trained on, so --column does not apply. "
            "Drop --column."
        )
    if len(data) == 0:
        raise AIMagicsError(f"{_capital(origin)} has no rows: there is nothing to classify.")
    return data
