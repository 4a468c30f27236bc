"""The optimisers of ``--optimizer`` (seed 4.2): ``sgd`` (mini-batch), ``gd`` (full batch), ``adam``, ``adamw``.

``sgd`` and ``gd`` are the same update, ``theta <- theta - lr * grad``; they differ in the batch: ``gd`` uses
the whole training split for every step (so one step per epoch), which the training loop arranges.
"""

from __future__ import annotations

from typing import Any, Iterable

from ai_magics.errors import AIMagicsError

WEIGHT_DECAY = 0.01  # adamw only


def is_full_batch(name: str) -> bool:
    """Whether the optimiser takes one step per epoch on the whole training split."""
    return name == "gd"


def make_optimizer(name: str, params: Iterable[Any], lr: float) -> Any:
    """A torch optimiser over ``params`` (only those that require gradients)."""
    import torch

    trainable = [p for p in params if p.requires_grad]
    if not trainable:
        raise AIMagicsError("The model has no trainable parameters, so there is nothing to optimise.")
    if name in ("sgd", "gd"):
        return torch.optim.SGD(trainable, lr=lr)
    if name == "adam":
        return torch.optim.Adam(trainable, lr=lr)
    if name == "adamw":
        return torch.optim.AdamW(trainable, lr=lr, weight_decay=WEIGHT_DECAY)
    raise AIMagicsError(f"Unknown optimizer {name!r}. Choose one of: sgd, gd, adam, adamw.")
