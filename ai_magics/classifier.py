"""The contract for trained classifiers (and regressors) held by the cache, used by %%train and %%classify.

``%%train --name NAME`` saves the model to a folder, registers ``NAME`` with
:func:`ai_magics.models.trained.register` (a ``ModelSource`` with ``model_id='trained:NAME'``,
``kind='classifier'``, ``file_format='trained'``) and puts the loaded object in the shared cache under the key
``plan_model(NAME, 'classifier')`` computes. If the cache evicts it, the ``trained`` backend loads it again from
the folder. Fine-tuned causal LMs are saved as a plain transformers folder with kind ``causal-lm`` instead, so
``%%generate --model NAME`` loads them with the transformers backend.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable


@runtime_checkable
class TrainedPredictor(Protocol):
    """A model trained here. ``input_kind`` is 'text' (inputs: list of str) or 'tabular' (inputs: DataFrame)."""

    nbytes: int
    input_kind: str
    labels: list[Any]  # class labels (the training target's values) in column order; empty for a regressor

    def predict_proba(self, inputs: Any) -> Any:
        """Class probabilities, an (n x len(labels)) numpy array. Regressors raise AIMagicsError."""
        ...

    def predict(self, inputs: Any) -> Any:
        """Predicted labels (classifier) or values (regressor), a length-n numpy array or list."""
        ...
