"""What %%classify reads: body lines, lists, Series, DataFrame columns, and the errors for anything else."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ai_magics.errors import AIMagicsError
from ai_magics.tasks.classify.inputs import BODY_ORIGIN, body_texts, table_input, text_inputs


def test_body_lines_skip_blank_lines_and_strip() -> None:
    assert body_texts("  first \n\n second\n   \n") == ["first", "second"]
    assert body_texts("\n  \n") == []


def test_lists_arrays_and_single_strings() -> None:
    assert text_inputs(["a", "b"]).texts == ["a", "b"]
    assert text_inputs(("a",)).texts == ["a"]
    assert text_inputs(np.array(["x", "y"])).texts == ["x", "y"]
    assert text_inputs("just one").texts == ["just one"]
    assert text_inputs(["a"]).index is None


def test_series_and_dataframe_column_keep_the_index() -> None:
    series = pd.Series(["a", "b"], index=[10, 20])
    got = text_inputs(series)
    assert got.texts == ["a", "b"] and list(got.index) == [10, 20]
    frame = pd.DataFrame({"review": ["good", "bad"], "stars": [5, 1]}, index=["r1", "r2"])
    got = text_inputs(frame, "review", "--data df")
    assert got.texts == ["good", "bad"] and list(got.index) == ["r1", "r2"]


def test_dataframe_needs_an_existing_column() -> None:
    frame = pd.DataFrame({"review": ["good"], "stars": [5]})
    with pytest.raises(AIMagicsError, match=r"--data df is a DataFrame: say which column.*'review', 'stars'"):
        text_inputs(frame, None, "--data df")
    with pytest.raises(AIMagicsError, match=r"--column 'text' is not a column of --data df.*'review', 'stars'"):
        text_inputs(frame, "text", "--data df")


def test_column_only_applies_to_dataframes() -> None:
    with pytest.raises(AIMagicsError, match="--column 'x' picks a column of a DataFrame, but --data t is a list"):
        text_inputs(["a"], "x", "--data t")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([], "--data t is empty"),
        (pd.Series([], dtype=object), "--data t is empty"),
        (["ok", None], "Item 1 of --data t is missing"),
        (pd.Series(["ok", np.nan], index=["a", "b"]), "Item 'b' of --data t is missing"),
        (["ok", 3], "Item 1 of --data t is of type int, not text"),
        ({"a": 1}, "--data t is a dict"),
        (np.array([["a"]]), "2-dimensional"),
    ],
)
def test_bad_text_data(data: object, message: str) -> None:
    with pytest.raises(AIMagicsError, match=message):
        text_inputs(data, None, "--data t")


def test_table_input_wants_a_dataframe_without_column() -> None:
    frame = pd.DataFrame({"x": [1.0]})
    assert table_input(frame, None, "--data df", "m") is frame
    with pytest.raises(AIMagicsError, match="trained on tabular data.*given text in the cell body"):
        table_input(["a line"], None, BODY_ORIGIN, "m")
    with pytest.raises(AIMagicsError, match="given --data s, a Series"):
        table_input(pd.Series([1.0]), None, "--data s", "m")
    with pytest.raises(AIMagicsError, match="--column does not apply"):
        table_input(frame, "x", "--data df", "m")
    with pytest.raises(AIMagicsError, match="--data df has no rows"):
        table_input(frame.iloc[:0], None, "--data df", "m")
