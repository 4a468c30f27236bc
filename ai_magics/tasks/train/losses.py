"""The losses of ``--loss`` (seed 4.1) as functions of a model's raw outputs and the targets.

For classification the model outputs one logit per class:

- ``ce``: cross-entropy on the logits, ``-sum y log softmax(z)``;
- ``nll``: negative log-likelihood on log-probabilities, ``NLLLoss(log_softmax(z), y)`` (the same value as
  ``ce``, written the way models that output log-probabilities are trained);
- ``mse``: mean squared error between the softmax probabilities and one-hot targets.

For regression (a numeric target with ``--loss mse``) the model outputs one number and ``mse`` is the plain
mean squared error.
"""

from __future__ import annotations

from typing import Any, Callable

from ai_magics.errors import AIMagicsError

LossFn = Callable[[Any, Any], Any]


def classification_loss(name: str) -> LossFn:
    """``loss(logits, class_indices)`` for ``ce``, ``nll`` or ``mse``."""
    import torch.nn.functional as F

    if name == "ce":
        return F.cross_entropy
    if name == "nll":
        return lambda logits, y: F.nll_loss(F.log_softmax(logits, dim=-1), y)
    if name == "mse":
        return lambda logits, y: F.mse_loss(
            F.softmax(logits, dim=-1), F.one_hot(y, num_classes=logits.shape[-1]).to(logits.dtype)
        )
    raise AIMagicsError(f"Unknown loss {name!r}. Choose one of: ce, mse, nll.")


def regression_loss(name: str) -> LossFn:
    """``loss(predictions, values)`` for regression: only ``mse`` applies."""
    import torch.nn.functional as F

    if name != "mse":
        raise AIMagicsError(
            f"--loss {name} is a classification loss; a regression (numeric target) trains with --loss mse."
        )
    return lambda pred, y: F.mse_loss(pred.squeeze(-1), y)
