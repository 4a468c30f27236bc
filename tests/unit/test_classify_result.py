"""The result table: label, score and a probability column per label, for texts and for table rows."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ai_magics.tasks.classify.result import prediction_frame, probability_columns, value_frame, with_rows, with_texts


def test_single_label_table() -> None:
    probs = np.array([[0.7, 0.2, 0.1], [0.1, 0.1, 0.8]])
    frame = with_texts(["t1", "t2"], prediction_frame(["a", "b", "c"], probs))
    assert list(frame.columns) == ["text", "label", "score", "a", "b", "c"]
    assert frame["label"].tolist() == ["a", "c"]
    assert np.allclose(frame["score"], [0.7, 0.8])
    assert np.allclose(frame["b"], [0.2, 0.1])


def test_multi_label_lists_every_label_over_the_threshold_likeliest_first() -> None:
    probs = np.array([[0.9, 0.6, 0.1], [0.2, 0.3, 0.4]])
    frame = prediction_frame(["a", "b", "c"], probs, multi_label=True, threshold=0.5)
    assert frame["label"].tolist() == [["a", "b"], []]
    assert np.allclose(frame["score"], [0.9, 0.4])


def test_label_names_that_clash_with_columns_get_a_prefix() -> None:
    assert probability_columns(["label", "text", "x", 1]) == ["p(label)", "p(text)", "x", "1"]


def test_index_is_kept_and_rows_come_first() -> None:
    data = pd.DataFrame({"x": [1, 2], "label": ["old", "old"]}, index=["r1", "r2"])
    predictions = prediction_frame(["n", "p"], np.array([[0.1, 0.9], [0.6, 0.4]]), index=data.index)
    frame = with_rows(data, predictions)
    assert list(frame.index) == ["r1", "r2"]
    assert list(frame.columns) == ["x", "label (input)", "label", "score", "n", "p"]
    assert frame["label"].tolist() == ["p", "n"]


def test_regression_values() -> None:
    frame = with_texts(["a"], value_frame(np.array([1.5])))
    assert list(frame.columns) == ["text", "value"] and frame["value"].iloc[0] == 1.5
