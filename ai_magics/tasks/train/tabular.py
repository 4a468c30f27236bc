"""Tabular models: an MLP (or, with ``--hidden 0``, logistic / linear regression) on numeric columns.

Standardisation is fitted on the training split only and saved with the model, as are the feature names and
the class labels, so :class:`TabularPredictor` applies exactly the preprocessing training used.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ai_magics.errors import AIMagicsError
from ai_magics.tasks.train import data as data_mod
from ai_magics.tasks.train import labels as labels_mod
from ai_magics.tasks.train.options import TrainOptions
from ai_magics.tasks.train.persistence import WEIGHTS, load_tensors, save_tensors, write_marker

# Below this many parameters a CPU step is a few tiny matrix products, where handing work to other threads
# costs more than it saves (28x slower with 2 busy cores here), so training runs on one thread.
SMALL_NETWORK = 200_000


@dataclass
class TabularSpec:
    """Everything besides the weights that turns a DataFrame into predictions."""

    features: list[str]
    mean: list[float]
    std: list[float]
    hidden: list[int]
    target: str
    classes: list[Any] = field(default_factory=list)  # empty for a regression
    target_mean: float = 0.0
    target_std: float = 1.0

    @property
    def regression(self) -> bool:
        return not self.classes


def build_network(n_in: int, hidden: list[int], n_out: int) -> Any:
    """Linear layers with ReLU between them; no hidden layer gives logistic (or linear) regression."""
    from torch import nn

    layers: list[Any] = []
    width = n_in
    for size in (h for h in hidden if h > 0):
        layers += [nn.Linear(width, size), nn.ReLU()]
        width = size
    layers.append(nn.Linear(width, n_out))
    return nn.Sequential(*layers)


def _frame(inputs: Any) -> Any:
    import pandas as pd

    if isinstance(inputs, pd.DataFrame):
        return inputs
    if isinstance(inputs, (list, dict)):
        return data_mod.load(inputs)
    raise AIMagicsError(
        f"A tabular model predicts from a DataFrame (or a list of dicts) with its feature columns, not a "
        f"{type(inputs).__name__}."
    )


class TabularPredictor:
    """A trained tabular model (implements :class:`ai_magics.classifier.TrainedPredictor`)."""

    input_kind = "tabular"

    def __init__(self, network: Any, spec: TabularSpec, device: str = "cpu") -> None:
        import torch

        self.network = network.to(device).eval()
        self.spec = spec
        self.device = device
        self._mean = torch.tensor(spec.mean, dtype=torch.float32, device=device)
        self._std = torch.tensor(spec.std, dtype=torch.float32, device=device)
        self.nbytes = sum(p.numel() * p.element_size() for p in self.network.parameters())

    @property
    def labels(self) -> list[Any]:
        return list(self.spec.classes)  # the target's own values: ints stay ints

    @property
    def feature_names(self) -> list[str]:
        """The columns it reads, in order (the target column may be present too: it is ignored)."""
        return list(self.spec.features)

    def matrix(self, inputs: Any) -> Any:
        """The standardised feature matrix (a float32 tensor) for a DataFrame with the training's features."""
        import torch

        frame = _frame(inputs)
        missing = [c for c in self.spec.features if c not in frame.columns]
        if missing:
            raise AIMagicsError(
                f"The data lacks the feature column(s) {', '.join(map(repr, missing))} this model was trained on. "
                f"It needs: {', '.join(map(repr, self.spec.features))}."
            )
        data_mod.numeric_columns(frame, self.spec.features)
        data_mod.check_missing(frame, self.spec.features)
        values = frame[self.spec.features].to_numpy(dtype="float32", copy=True)
        x = torch.from_numpy(values).to(self.device)
        return (x - self._mean) / self._std

    def outputs(self, x: Any) -> Any:
        import torch

        with torch.inference_mode():
            return self.network(x)

    def predict_proba(self, inputs: Any) -> Any:
        """Class probabilities, an (n x classes) numpy array."""
        if self.spec.regression:
            raise AIMagicsError(
                "This model is a regression: it predicts numbers, not class probabilities. Use predict."
            )
        return self.outputs(self.matrix(inputs)).softmax(dim=-1).cpu().numpy()

    def predict(self, inputs: Any) -> Any:
        """Predicted labels (in the target's own values), or numbers for a regression."""
        out = self.outputs(self.matrix(inputs))
        if self.spec.regression:
            return (out.squeeze(-1) * self.spec.target_std + self.spec.target_mean).cpu().numpy()
        return labels_mod.decode(self.spec.classes, out.argmax(dim=-1).cpu().numpy())

    def save(self, folder: Path) -> None:
        save_tensors(folder / WEIGHTS, self.network.state_dict())
        write_marker(folder, "classifier", "trained", "tabular", spec=asdict(self.spec))

    @classmethod
    def load(cls, folder: Path, marker: dict[str, Any], device: str = "cpu") -> TabularPredictor:
        spec = TabularSpec(**marker["spec"])
        n_out = 1 if spec.regression else len(spec.classes)
        network = build_network(len(spec.features), spec.hidden, n_out)
        network.load_state_dict(load_tensors(folder / WEIGHTS))
        return cls(network, spec, device)


def is_regression(frame: Any, target: str, options: TrainOptions) -> bool:
    """Regression when asked, or (``--objective auto``) for ``--loss mse`` on a numeric target."""
    numeric = frame[target].dtype.kind in "iuf"
    if options.objective == "regression" or (options.objective == "auto" and options.loss == "mse" and numeric):
        if not numeric:
            raise AIMagicsError(
                f"The target column {target!r} does not hold numbers, so it cannot be a regression target. Use "
                "--loss ce (or nll) to classify it, or --objective classification with --loss mse."
            )
        return True
    return False


def select_columns(frame: Any, options: TrainOptions) -> tuple[str, list[str]]:
    """The target and the feature columns (``--features``, or every other column), checked for use."""
    target = data_mod.require_column(frame, options.target, "--target", "to predict")
    features = list(options.features) if options.features else [c for c in frame.columns if c != target]
    for column in features:
        data_mod.require_column(frame, column, "--features", "")
    if target in features:
        raise AIMagicsError(f"--features includes the target {target!r}; a model cannot learn from its answer.")
    if not features:
        raise AIMagicsError(f"The data has no column besides the target {target!r} to learn from.")
    data_mod.check_missing(frame, [*features, target])
    data_mod.numeric_columns(frame, features)
    return target, features


def fit_spec(x: Any, y: Any, features: list[str], target: str, classes: list[Any], hidden: list[int]) -> TabularSpec:
    """The preprocessing fitted on the training rows: feature means and scales (and the target's, for regression)."""
    import numpy as np

    std = x.std(axis=0)
    regression = not classes
    return TabularSpec(
        features=[str(f) for f in features], mean=x.mean(axis=0).tolist(),
        std=np.where(std > 1e-12, std, 1.0).tolist(), hidden=hidden, target=str(target), classes=classes,
        target_mean=float(y.mean()) if regression else 0.0, target_std=float(y.std() or 1.0) if regression else 1.0,
    )  # fmt: skip


class TabularTrainer:
    """Prepares the tensors and the network for one tabular run and does its steps."""

    kind = "classifier"
    file_format = "trained"
    threads: int | None = None  # torch threads while training; set to 1 for small networks

    def __init__(self, frame: Any, options: TrainOptions, device: str) -> None:
        import torch

        from ai_magics.tasks.train.losses import classification_loss, regression_loss
        from ai_magics.tasks.train.optimizers import make_optimizer
        from ai_magics.tasks.train.split import split_indices

        target, features = select_columns(frame, options)
        self.regression = is_regression(frame, target, options)
        x_all = frame[features].to_numpy(dtype="float32", copy=True)
        if self.regression:
            classes: list[Any] = []
            y_all = frame[target].to_numpy(dtype="float32", copy=True)
            train_rows, val_rows = split_indices(len(frame), options.val, options.seed)
        else:
            labels_mod.check_classes(frame[target], target)
            classes, y_all = labels_mod.encode(frame[target], target)
            train_rows, val_rows = split_indices(len(frame), options.val, options.seed, y_all)
        self.spec = fit_spec(x_all[train_rows], y_all[train_rows], features, target, classes, list(options.hidden))
        target_mean, target_std = self.spec.target_mean, self.spec.target_std
        torch.manual_seed(options.seed)
        n_out = 1 if self.regression else len(classes)
        self.network = build_network(len(features), self.spec.hidden, n_out).to(device)
        self.predictor = TabularPredictor(self.network, self.spec, device)
        if device == "cpu" and sum(p.numel() for p in self.network.parameters()) < SMALL_NETWORK:
            self.threads = 1
        self.network.train()

        def tensors(rows: Any) -> tuple[Any, Any]:
            x = (torch.from_numpy(x_all[rows]).to(device) - self.predictor._mean) / self.predictor._std
            if self.regression:
                return x, (torch.from_numpy(y_all[rows]).to(device) - target_mean) / target_std
            return x, torch.from_numpy(y_all[rows]).to(device)

        self.x_train, self.y_train = tensors(train_rows)
        self.x_val, self.y_val = tensors(val_rows)
        self.n_train, self.n_val = len(train_rows), len(val_rows)
        loss = options.loss or ("mse" if self.regression else "ce")
        self.loss_fn = regression_loss(loss) if self.regression else classification_loss(loss)
        lr = float(options.lr or 0.01)
        self.optimizer = make_optimizer(options.optimizer or "adam", self.network.parameters(), lr)

    def step(self, rows: Any) -> float:
        """One optimisation step on the training rows ``rows``; returns the batch loss."""
        x, y = self.x_train[rows], self.y_train[rows]
        self.optimizer.zero_grad(set_to_none=True)
        loss = self.loss_fn(self.network(x), y)
        loss.backward()
        self.optimizer.step()
        return loss.item()

    def _metrics(self, x: Any, y: Any, prefix: str) -> dict[str, float]:
        import torch

        self.network.eval()
        with torch.inference_mode():
            out = self.network(x)
            metrics = {f"{prefix}_loss": float(self.loss_fn(out, y))}
            if self.regression:
                pred = out.squeeze(-1)
                ss_res = float(((pred - y) ** 2).sum())
                ss_tot = float(((y - y.mean()) ** 2).sum()) or 1.0
                metrics[f"{prefix}_rmse"] = float(((pred - y) ** 2).mean().sqrt()) * self.spec.target_std
                metrics[f"{prefix}_r2"] = 1.0 - ss_res / ss_tot
            else:
                metrics[f"{prefix}_accuracy"] = float((out.argmax(dim=-1) == y).float().mean())
        self.network.train()
        return metrics

    def evaluate(self) -> dict[str, float]:
        """Validation metrics (empty without a validation split)."""
        return self._metrics(self.x_val, self.y_val, "val") if self.n_val else {}

    def final_metrics(self) -> dict[str, float]:
        """Loss and accuracy (or RMSE and R²) on the training split, and on the validation split if any."""
        return {**self._metrics(self.x_train, self.y_train, "train"), **self.evaluate()}

    def finish(self) -> TabularPredictor:
        """The trained model as a predictor, in eval mode."""
        self.network.eval()
        return TabularPredictor(self.network, self.spec, self.predictor.device)

    def save(self, model: TabularPredictor, folder: Path) -> None:
        model.save(folder)

    def for_cache(self, model: TabularPredictor, device: str, dtype: str) -> TabularPredictor:
        """The predictor on ``device`` (tabular models stay float32: they are tiny)."""
        return model if device == model.device else TabularPredictor(model.network, model.spec, device)
