"""Reading --data: every accepted kind, and a clear one-paragraph message for each problem."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest

from ai_magics.errors import AIMagicsError
from ai_magics.tasks.train import data


def frame() -> pd.DataFrame:
    return pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": [0, 1, 0], "label": ["x", "y", "x"]})


def test_a_dataframe_passes_through():
    df = frame()
    assert data.load(df) is df


def test_list_of_dicts_and_dict_of_columns():
    rows = frame().to_dict("records")
    pd.testing.assert_frame_equal(data.load(rows), frame())
    pd.testing.assert_frame_equal(data.load(frame().to_dict("list")), frame())


@pytest.mark.parametrize("suffix", [".csv", ".tsv", ".jsonl"])
def test_files(tmp_path: Path, suffix: str):
    path = tmp_path / f"data{suffix}"
    if suffix == ".jsonl":
        frame().to_json(path, orient="records", lines=True)
    else:
        frame().to_csv(path, index=False, sep="\t" if suffix == ".tsv" else ",")
    loaded = data.load(str(path))
    assert list(loaded.columns) == ["a", "b", "label"] and len(loaded) == 3


def test_text_file_gives_lines_for_language_models(tmp_path: Path):
    path = tmp_path / "lines.txt"
    path.write_text("one\n\ntwo\n")
    assert data.load(path, texts_ok=True) == ["one", "two"]


def test_cell_body_as_csv_or_texts_with_comments():
    body = "# my data\na,b,label\n1,0,x\n2,1,y\n"
    loaded = data.load(None, body)
    assert list(loaded.columns) == ["a", "b", "label"] and len(loaded) == 2
    assert data.load(None, "# comment\nhello\n\nworld", texts_ok=True) == ["hello", "world"]
    assert data.load(frame(), "# only a comment") is not None


def test_data_given_twice_or_not_at_all():
    with pytest.raises(AIMagicsError, match="given twice"):
        data.load(frame(), "a,b\n1,2")
    with pytest.raises(AIMagicsError, match="No training data: pass --data NAME"):
        data.load(None, "# nothing here")


@pytest.mark.parametrize("empty", [pd.DataFrame(), pd.DataFrame({"a": []}), [], {}])
def test_empty_data(empty):
    with pytest.raises(AIMagicsError, match="empty"):
        data.load(empty)


def test_unreadable_kinds():
    with pytest.raises(AIMagicsError, match="no labels to learn"):
        data.load(["just", "texts"])
    with pytest.raises(AIMagicsError, match="needs one dict per row"):
        data.load([1, 2, 3])
    with pytest.raises(AIMagicsError, match="is a ndarray, which %%train cannot read"):
        data.load(__import__("numpy").zeros((3, 2)))


def test_missing_and_malformed_files(tmp_path: Path):
    with pytest.raises(AIMagicsError, match="There is no file at"):
        data.load(tmp_path / "nope.csv")
    bad = tmp_path / "bad.jsonl"
    bad.write_text("{not json\n")
    with pytest.raises(AIMagicsError, match="Could not read .* as JSON lines"):
        data.load(bad)


def test_from_notebook_variable_path_or_error(tmp_path: Path):
    ns = {"df": frame()}
    assert data.from_notebook("df", ns) is ns["df"]
    assert data.from_notebook("some/file.csv", ns) == Path("some/file.csv")
    with pytest.raises(AIMagicsError) as caught:
        data.from_notebook("dff", ns)
    assert "there is no variable 'dff' in the notebook" in str(caught.value)


def test_missing_column_lists_the_columns():
    with pytest.raises(AIMagicsError) as caught:
        data.require_column(frame(), "lbl", "--target", "to predict")
    assert "--target 'lbl' is not a column" in str(caught.value)
    assert "'a', 'b', 'label'" in str(caught.value)
    with pytest.raises(AIMagicsError, match="--target is required here"):
        data.require_column(frame(), None, "--target", "to predict")


def test_nan_and_infinity_say_what_to_do():
    df = frame()
    df.loc[1, "a"] = math.nan
    df.loc[2, "label"] = None
    with pytest.raises(AIMagicsError) as caught:
        data.check_missing(df, ["a", "b", "label"])
    message = str(caught.value)
    assert "'a' (1 row)" in message and "'label' (1 row)" in message and "dropna()" in message and "fillna" in message
    df = frame()
    df.loc[0, "a"] = math.inf
    with pytest.raises(AIMagicsError, match="infinite values in 'a'"):
        data.check_missing(df, ["a"])


def test_non_numeric_features_are_named():
    df = frame().assign(color=["red", "blue", "red"], city=["x", "y", "z"])
    with pytest.raises(AIMagicsError) as caught:
        data.numeric_columns(df, ["a", "color", "city"])
    assert "'color', 'city' are not numeric" in str(caught.value)
    assert "pd.get_dummies" in str(caught.value) and "--features" in str(caught.value)
    assert data.numeric_columns(df.assign(flag=[True, False, True]), ["a", "b", "flag"]) == ["a", "b", "flag"]


def test_text_columns():
    df = pd.DataFrame({"review": ["good", "bad"], "label": ["pos", "neg"]})
    assert data.text_column(df, None, "label") == "review"
    assert data.texts(pd.DataFrame({"text": ["a", "b"], "n": [1, 2]}), None) == ["a", "b"]
    with pytest.raises(AIMagicsError, match="must hold text"):
        data.text_values(pd.DataFrame({"t": ["a", 3]}), "t")
