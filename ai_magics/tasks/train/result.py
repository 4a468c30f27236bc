"""What a training run returns (:class:`TrainResult`) and the error raised when it was interrupted."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ai_magics.errors import GenerationInterrupted


@dataclass
class TrainResult:
    """A finished (or stopped) training run.

    ``history``: one row per step (step, epoch, loss) with each epoch's metrics on its last step; ``epochs``:
    one row per epoch; ``metrics``: final metrics on the training (and validation) split; ``model``: the trained
    predictor (classifiers) or generator (causal LMs); ``name``: what ``--model`` accepts, if ``--name`` was
    given; ``path``: the folder it was saved to, if any.
    """

    task: str
    name: str | None
    model: Any
    history: Any
    epochs: Any
    metrics: dict[str, float] = field(default_factory=dict)
    path: str | None = None
    steps: int = 0
    seconds: float = 0.0
    stopped: bool = False
    interrupted: bool = False

    @property
    def steps_per_second(self) -> float:
        return self.steps / self.seconds if self.seconds > 0 else 0.0

    def summary(self) -> str:
        """One line: steps, time, final metrics, and where the model went."""
        how = "stopped after" if self.stopped else "trained"
        epochs = int(self.history["epoch"].max()) if len(self.history) else 0
        epochs_text = f"{epochs} epoch{'s' if epochs != 1 else ''}"
        text = f"{self.task}: {how} {self.steps} steps ({epochs_text}) in {self.seconds:.1f} s"
        if self.metrics:
            text += "; " + ", ".join(f"{k} {v:.4g}" for k, v in self.metrics.items())
        if self.name:
            text += f"; registered as {self.name!r}"
        if self.path:
            text += f"; saved in {self.path}"
        return text + "."

    def __repr__(self) -> str:
        return f"<TrainResult {self.summary()}>"


class TrainingInterrupted(GenerationInterrupted):
    """A kernel interrupt ended training early; the weights trained so far are kept (and registered) on ``partial``."""
