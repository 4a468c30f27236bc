"""The Python API of the classify task: ``classify(...)`` returns a pandas DataFrame, as ``%%classify`` does."""

from __future__ import annotations

import time
from typing import Any, Mapping, Sequence

from ai_magics.cache.device import resolve_device
from ai_magics.config import get_settings
from ai_magics.errors import AIMagicsError
from ai_magics.events import DoneEvent
from ai_magics.models.loading import plan_model, use_model
from ai_magics.plugins import get_plugin_host
from ai_magics.tasks.classify import likelihood, result, zero_shot
from ai_magics.tasks.classify.choose import CAUSAL_LM, CLASSIFIER, ENCODER, model_kind
from ai_magics.tasks.classify.inputs import API_ORIGIN, table_input, text_inputs
from ai_magics.tasks.classify.labels import DEFAULT_TEMPLATE, parse_labels, require_choice
from ai_magics.tasks.classify.trained import check_predictor, predict

TASK = "classify"
Labels = str | Sequence[str] | Mapping[str, str] | None


def _check_numbers(threshold: float, temperature: float | None, batch_size: int) -> None:
    if not 0.0 <= threshold <= 1.0:
        raise AIMagicsError(f"threshold {threshold} is outside 0..1; labels with probability >= threshold are kept.")
    if temperature is not None and not temperature >= 1e-6:
        raise AIMagicsError(
            f"temperature {temperature} must be at least 1e-06 (smaller: more confident probabilities)."
        )
    if batch_size < 1:
        raise AIMagicsError(f"batch_size {batch_size} must be 1 or more.")


def classify(
    texts_or_data: Any,
    labels: Labels = None,
    model: str | None = None,
    *,
    multi_label: bool = False,
    threshold: float = 0.5,
    column: str | None = None,
    template: str = DEFAULT_TEMPLATE,
    temperature: float | None = None,
    batch_size: int = 32,
    device: str | None = None,
    dtype: str | None = None,
    backend: str | None = None,
    origin: str = API_ORIGIN,
) -> Any:
    """Label texts (a string, list, Series, or DataFrame ``column``) or a DataFrame's rows; returns a DataFrame.

    Zero-shot with ``labels`` ('a,b', a list, or {label: description}) and a sentence encoder (default:
    ``%config AIMagics.default_classify_model``; descriptions, else ``template``, are what it embeds) or a causal
    LM (it scores the label names); or with ``model`` trained by ``%%train`` (no labels). ``multi_label`` keeps
    every label with probability >= ``threshold``. ``origin`` names the data in error messages.
    """
    _check_numbers(threshold, temperature, batch_size)
    name = (model or get_settings().default_classify_model or "").strip()
    kind = model_kind(name, resolve_device(device or get_settings().device))
    started = time.perf_counter()
    if kind == CLASSIFIER:
        if labels is not None:
            raise AIMagicsError(
                f"Model {name!r} was trained with its own labels, so --labels does not apply. Drop --labels, or "
                "leave out --model to classify zero-shot with your labels."
            )
        frame, count = _run_trained(name, texts_or_data, column, origin, multi_label, threshold, device, dtype, backend)
    else:
        label_set = require_choice(parse_labels(labels), multi_label)
        inputs = text_inputs(texts_or_data, column, origin)
        label_texts = label_set.texts(template) if kind == ENCODER else []
        if kind == CAUSAL_LM and backend not in (None, "transformers"):
            raise AIMagicsError(
                f"Scoring labels with the causal LM {name!r} needs its logits, which the {backend!r} backend does "
                "not give. Leave out --backend (transformers is used), or use a sentence encoder such as 'minilm'."
            )
        if kind == CAUSAL_LM:
            backend = "transformers"  # likelihood scoring needs the torch model's logits, not a text stream
        plan = plan_model(name, kind, device=device, dtype=dtype, backend=backend)
        with use_model(plan) as loaded:
            if kind == ENCODER:
                sims = zero_shot.similarities(loaded, plan.key, inputs.texts, label_texts, batch_size)
                probs = zero_shot.probabilities(sims, temperature or zero_shot.TEMPERATURE, multi_label)
            else:
                scores = likelihood.calibrated_scores(loaded, plan.key, inputs.texts, label_set.names, batch_size)
                probs = likelihood.probabilities(scores, multi_label)
        predictions = result.prediction_frame(label_set.names, probs, inputs.index, multi_label, threshold)
        frame, count = result.with_texts(inputs.texts, predictions), len(inputs.texts)
    _done(name, count, time.perf_counter() - started)
    return frame


def _run_trained(
    name: str, data: Any, column: str | None, origin: str, multi_label: bool, threshold: float,
    device: str | None, dtype: str | None, backend: str | None,
) -> tuple[Any, int]:  # fmt: skip
    plan = plan_model(name, CLASSIFIER, device=device, dtype=dtype, backend=backend)
    with use_model(plan) as loaded:
        predictor = check_predictor(loaded, name)
        tabular = predictor.input_kind == "tabular"
        if multi_label and len(predictor.labels) == 0:
            raise AIMagicsError(f"Model {name!r} is a regressor: it predicts values, not labels; drop --multi-label.")
        if tabular:
            rows = table_input(data, column, origin, name)
            output = predict(predictor, rows, name)
            index = rows.index
        else:
            texts = text_inputs(data, column, origin)
            output = predict(predictor, texts.texts, name)
            index = texts.index
    if output.values is not None:
        predictions = result.value_frame(output.values, index)
    else:
        predictions = result.prediction_frame(output.labels, output.probs, index, multi_label, threshold)
    if tabular:
        return result.with_rows(rows, predictions), len(rows)
    return result.with_texts(texts.texts, predictions), len(texts.texts)


def _done(model: str, count: int, seconds: float) -> None:
    host = get_plugin_host()
    if host.has_listeners("ai_magics_on_done"):
        host.emit("ai_magics_on_done", DoneEvent(TASK, model, False, {"inputs": count, "seconds": seconds}))
