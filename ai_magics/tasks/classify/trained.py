"""Applying a model trained by ``%%train`` (:mod:`ai_magics.classifier`): text or tabular, classifier or regressor."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ai_magics.classifier import TrainedPredictor
from ai_magics.errors import AIMagicsError


@dataclass(frozen=True)
class Prediction:
    """A trained model's output: class probabilities (n x k) with their labels, or regression values (n,)."""

    labels: list[Any]
    probs: Any = None
    values: Any = None


def check_predictor(predictor: Any, name: str) -> TrainedPredictor:
    """``predictor`` if it follows the TrainedPredictor contract with a known input kind, else a clear error."""
    if not isinstance(predictor, TrainedPredictor) or predictor.input_kind not in ("text", "tabular"):
        raise AIMagicsError(
            f"Model {name!r} loaded as a {type(predictor).__name__}, which is not a classifier trained by %%train "
            "(it lacks input_kind 'text' or 'tabular', labels, predict_proba and predict). Train it again with "
            "%%train, or give a zero-shot model with --labels."
        )
    return predictor


def _check_columns(predictor: Any, frame: Any, name: str) -> None:
    wanted = getattr(predictor, "feature_names", None) or getattr(predictor, "columns", None)
    if not wanted:
        return
    missing = [c for c in wanted if c not in frame.columns]
    if missing:
        raise AIMagicsError(
            f"Model {name!r} was trained on columns {', '.join(map(repr, wanted))}, but the DataFrame lacks "
            f"{', '.join(map(repr, missing))}. Pass a DataFrame with every training column."
        )


def predict(predictor: TrainedPredictor, inputs: Any, name: str) -> Prediction:
    """Run the model on ``inputs`` (a list of texts or a DataFrame) with the preprocessing it was trained with."""
    import numpy as np

    if predictor.input_kind == "tabular":
        _check_columns(predictor, inputs, name)
    count = len(inputs)
    try:
        if len(predictor.labels) == 0:
            values = np.asarray(predictor.predict(inputs)).reshape(-1)
            return Prediction([], values=_checked(values, (count,), name))
        probs = np.asarray(predictor.predict_proba(inputs), dtype=np.float64)
    except AIMagicsError:
        raise
    except (KeyError, ValueError) as exc:
        raise AIMagicsError(
            f"Model {name!r} could not read this data: {type(exc).__name__}: {exc}. Give it data shaped like what "
            "it was trained on (the same columns and kinds of values)."
        ) from None
    return Prediction(list(predictor.labels), probs=_checked(probs, (count, len(predictor.labels)), name))


def _checked(array: Any, shape: tuple[int, ...], name: str) -> Any:
    if tuple(array.shape) != shape:
        raise AIMagicsError(
            f"Model {name!r} returned an array of shape {tuple(array.shape)} where {shape} was expected; the "
            "model's plugin does not follow the TrainedPredictor contract. Train it again or report the plugin."
        )
    return array
