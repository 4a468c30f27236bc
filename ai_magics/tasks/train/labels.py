"""Class labels: encoded as indices for training, decoded back to the user's values for predictions."""

from __future__ import annotations

from typing import Any

from ai_magics.errors import AIMagicsError


def encode(values: Any, column: str) -> tuple[list[Any], Any]:
    """(classes, indices): the sorted distinct labels (plain Python values) and each row's class index."""
    import numpy as np

    items = [v.item() if hasattr(v, "item") else v for v in list(values)]
    try:
        classes = sorted(set(items))
    except TypeError:
        classes = sorted(set(items), key=lambda v: (type(v).__name__, str(v)))
    if len(classes) < 2:
        raise AIMagicsError(
            f"The target column {column!r} has only one value ({classes[0]!r}), so there is nothing to tell apart. "
            "A classifier needs at least two classes in the training data."
        )
    index = {c: i for i, c in enumerate(classes)}
    return classes, np.array([index[v] for v in items], dtype=np.int64)


def decode(classes: list[Any], indices: Any) -> Any:
    """The labels for class indices, as a numpy array of the labels' own type (ints stay ints)."""
    import numpy as np

    table = np.array(classes, dtype=object)
    if all(isinstance(c, (bool, int, float)) for c in classes) or all(isinstance(c, str) for c in classes):
        table = np.array(classes)
    return table[np.asarray(indices)]


def check_classes(values: Any, column: str) -> None:
    """Refuse a target of many non-integer numbers as classes: that is a regression (--loss mse)."""
    import numpy as np

    if values.dtype.kind != "f":
        return
    array = values.to_numpy(dtype=float)
    if not np.all(np.isfinite(array)) or np.all(array == np.round(array)):
        return
    distinct = len(np.unique(array))
    raise AIMagicsError(
        f"The target column {column!r} holds {distinct} different non-integer numbers, which a classifier would "
        "treat as that many classes. To predict a number, train a regression with --loss mse; to predict "
        "classes, turn the values into labels first (e.g. pd.cut)."
    )
