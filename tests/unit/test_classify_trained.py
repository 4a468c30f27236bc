"""Models trained by %%train (the TrainedPredictor contract) applied by ``classify``: text, tabular, regression."""

from __future__ import annotations

import types
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import pandas as pd
import pytest

from ai_magics.cache import get_cache
from ai_magics.errors import AIMagicsError
from ai_magics.hookspecs import hookimpl
from ai_magics.models import trained
from ai_magics.models.loading import plan_model
from ai_magics.plugins import get_plugin_host
from ai_magics.registry import Backend, LoadRequest, ModelSource
from ai_magics.tasks.classify.api import classify


class WordModel:
    """A text classifier: logistic regression on counts of 'cat' and 'dog' (a tiny stand-in for %%train's)."""

    nbytes = 64
    input_kind = "text"
    labels = ["cats", "dogs"]

    def predict_proba(self, texts: list[str]) -> Any:
        margin = np.array([t.lower().count("dog") - t.lower().count("cat") for t in texts], dtype=float) * 2.0
        p_dog = 1 / (1 + np.exp(-margin))
        return np.stack([1 - p_dog, p_dog], axis=1)

    def predict(self, texts: list[str]) -> Any:
        return np.array(self.labels)[self.predict_proba(texts).argmax(axis=1)]


class TableModel:
    """A tabular classifier that standardises its features with statistics fitted at training time."""

    nbytes = 64
    input_kind = "tabular"
    labels = ["low", "high"]
    feature_names = ["height", "weight"]
    mean = np.array([170.0, 70.0])
    std = np.array([10.0, 15.0])

    def predict_proba(self, frame: pd.DataFrame) -> Any:
        scaled = (frame[self.feature_names].to_numpy(dtype=float) - self.mean) / self.std
        p_high = 1 / (1 + np.exp(-3 * scaled.sum(axis=1)))
        return np.stack([1 - p_high, p_high], axis=1)

    def predict(self, frame: pd.DataFrame) -> Any:
        return np.array(self.labels)[self.predict_proba(frame).argmax(axis=1)]


class TableRegressor(TableModel):
    labels: list[str] = []

    def predict_proba(self, frame: pd.DataFrame) -> Any:
        raise AIMagicsError("A regressor has no class probabilities.")

    def predict(self, frame: pd.DataFrame) -> Any:
        return frame["height"].to_numpy(dtype=float) / 100


def _load(request: LoadRequest) -> Any:
    raise AssertionError("the tests put trained models in the cache; nothing should load from disk")


@hookimpl
def ai_magics_register_backends(register: Any) -> None:
    register(Backend("trained", ("classifier",), ("trained",), _load, "test-only stand-in for %%train's backend"))


@hookimpl
def ai_magics_select_backend(source: ModelSource, kind: str, device: str) -> str | None:
    return "trained" if source.file_format == "trained" and kind == "classifier" else None


@pytest.fixture
def models(tmp_path: Path) -> Iterator[dict[str, Any]]:
    """Register trained models in this test's fresh cache (with a test 'trained' backend if %%train's is absent)."""
    host = get_plugin_host()
    added = "trained" not in host.registry.backends
    if added:
        plugin = types.SimpleNamespace(
            ai_magics_register_backends=ai_magics_register_backends, ai_magics_select_backend=ai_magics_select_backend
        )
        assert host.add_plugin(plugin, "test-classify-trained-backend")
    made = {"pets": WordModel(), "size": TableModel(), "size_reg": TableRegressor(), "broken": object()}
    for name, model in made.items():
        trained.register(name, ModelSource(f"trained:{name}", str(tmp_path), "classifier", file_format="trained"))
        get_cache().put(plan_model(name, "classifier", backend="trained").key, model)
    yield made
    for name in made:
        trained.forget(name)
    if added:
        host.remove_plugin("test-classify-trained-backend")


def test_text_model_labels_texts(models: dict[str, Any]) -> None:
    frame = classify(["my dog barks", "a cat and a cat", "dog dog cat"], model="pets")
    assert frame["label"].tolist() == ["dogs", "cats", "dogs"]
    assert list(frame.columns) == ["text", "label", "score", "cats", "dogs"]
    series = pd.Series(["dog"], index=["row7"])
    assert classify(series, model="pets").index.tolist() == ["row7"]


def test_tabular_model_applies_its_fitted_scaling_to_rows(models: dict[str, Any]) -> None:
    rows = pd.DataFrame({"name": ["ann", "bob"], "height": [190.0, 150.0], "weight": [95.0, 50.0]}, index=[3, 4])
    frame = classify(rows, model="size")
    assert frame["label"].tolist() == ["high", "low"]
    assert list(frame.columns) == ["name", "height", "weight", "label", "score", "low", "high"]
    assert frame.index.tolist() == [3, 4]
    assert frame["high"].iloc[0] == pytest.approx(models["size"].predict_proba(rows)[0, 1])


def test_regressor_gives_values(models: dict[str, Any]) -> None:
    frame = classify(pd.DataFrame({"height": [180.0], "weight": [80.0]}), model="size_reg")
    assert frame["value"].tolist() == [1.8]
    with pytest.raises(AIMagicsError, match="regressor"):
        classify(pd.DataFrame({"height": [180.0], "weight": [80.0]}), model="size_reg", multi_label=True)


@pytest.mark.parametrize(
    ("data", "options", "message"),
    [
        (["tall person"], {"model": "size"}, "trained on tabular data.*given the data, a list"),
        (pd.DataFrame({"height": [1.0]}), {"model": "size"}, "lacks 'weight'"),
        (pd.DataFrame({"t": ["dog"]}), {"model": "pets"}, "is a DataFrame: say which column"),
        (pd.DataFrame({"t": ["dog"]}), {"model": "pets", "column": "text"}, "--column 'text' is not a column"),
        (["dog"], {"model": "pets", "labels": "a,b"}, "own labels, so --labels does not apply"),
        ([], {"model": "pets"}, "The data is empty"),
    ],
)
def test_trained_model_errors(models: dict[str, Any], data: Any, options: dict[str, Any], message: str) -> None:
    with pytest.raises(AIMagicsError, match=message):
        classify(data, **options)


def test_an_object_breaking_the_contract_is_refused(models: dict[str, Any]) -> None:
    with pytest.raises(AIMagicsError, match="loaded as a object, which is not a classifier trained by %%train"):
        classify(["dog"], model="broken")
