"""Holding out a validation split: random, stratified by class for classification, reproducible by seed."""

from __future__ import annotations

from typing import Any

from ai_magics.errors import AIMagicsError


def split_indices(n: int, fraction: float, seed: int, classes: Any = None) -> tuple[Any, Any]:
    """(train, validation) row indices as numpy arrays; ``classes`` (n class indices) makes it stratified."""
    import numpy as np

    rng = np.random.default_rng(seed)
    if fraction <= 0:
        return np.arange(n), np.arange(0)
    if classes is None:
        order = rng.permutation(n)
        n_val = int(round(n * fraction))
        val, train = order[:n_val], order[n_val:]
    else:
        classes = np.asarray(classes)
        val_parts, train_parts = [], []
        for c in np.unique(classes):
            rows = rng.permutation(np.flatnonzero(classes == c))
            n_val = int(round(len(rows) * fraction))
            val_parts.append(rows[:n_val])
            train_parts.append(rows[n_val:])
        val, train = np.concatenate(val_parts), np.concatenate(train_parts)
    if len(val) == 0 or len(train) == 0:
        raise AIMagicsError(
            f"--val {fraction} leaves {'no rows for validation' if len(val) == 0 else 'no rows to train on'} out "
            f"of {n}. Use more data, or a --val fraction that holds out at least one row (0 for none)."
        )
    return np.sort(train), np.sort(val)
