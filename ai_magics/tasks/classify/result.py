"""The result table: the input, ``label``, ``score`` and one probability column per label."""

from __future__ import annotations

from typing import Any, Sequence

TEXT = "text"
LABEL = "label"
SCORE = "score"
VALUE = "value"


def probability_columns(labels: Sequence[Any], taken: Sequence[str] = (TEXT, LABEL, SCORE)) -> list[str]:
    """A column name per label: the label itself, or ``p(label)`` when that name is already a column."""
    return [f"p({label})" if str(label) in taken else str(label) for label in labels]


def prediction_frame(
    labels: Sequence[Any], probs: Any, index: Any = None, multi_label: bool = False, threshold: float = 0.5
) -> Any:
    """``label`` (the likeliest label, or every label at or over ``threshold``), ``score`` and the probabilities."""
    import numpy as np
    import pandas as pd

    probs = np.asarray(probs, dtype=np.float64)
    best = probs.argmax(axis=1)
    if multi_label:
        ranked = np.argsort(-probs, axis=1, kind="stable")
        chosen: list[Any] = [[labels[j] for j in row if p[j] >= threshold] for row, p in zip(ranked, probs)]
    else:
        chosen = [labels[j] for j in best]
    columns: dict[str, Any] = {LABEL: chosen, SCORE: probs[np.arange(len(probs)), best]}
    for position, name in enumerate(probability_columns(labels)):
        columns[name] = probs[:, position]
    return pd.DataFrame(columns, index=index)


def value_frame(values: Any, index: Any = None) -> Any:
    """A regressor's predictions: one ``value`` column."""
    import pandas as pd

    return pd.DataFrame({VALUE: values}, index=index)


def with_texts(texts: Sequence[str], predictions: Any) -> Any:
    """The texts as the first column, then the predictions (sharing their index)."""
    frame = predictions.copy()
    frame.insert(0, TEXT, list(texts))
    return frame


def with_rows(data: Any, predictions: Any) -> Any:
    """The input rows' columns first (renamed ``NAME (input)`` where a prediction column has that name)."""
    import pandas as pd

    taken = set(map(str, predictions.columns))
    rows = data.rename(columns={c: f"{c} (input)" for c in data.columns if str(c) in taken})
    predictions = predictions.set_axis(data.index, axis=0)
    return pd.concat([rows, predictions], axis=1)
