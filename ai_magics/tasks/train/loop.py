"""The training loop (seed 3.1.3): epochs of shuffled mini-batches, a step function, metrics each epoch.

The loop knows nothing about models: ``step(batch_indices) -> loss`` does the forward pass, the loss, the
backward pass and the optimiser step. Each step it records the loss, tells the view, emits a
:class:`~ai_magics.events.TrainStepEvent` through the plugin hooks (only if a plugin listens), and checks the stop
flag. A kernel interrupt (KeyboardInterrupt) ends the loop and keeps the weights trained so far.
"""

from __future__ import annotations

import math
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Iterator

from ai_magics.events import TrainStepEvent
from ai_magics.plugins import get_plugin_host
from ai_magics.tasks.train.options import TASK

if TYPE_CHECKING:
    from ai_magics.widgets.loss_view import LossView

STEP_HOOK = "ai_magics_on_train_step"


@contextmanager
def torch_threads(count: int | None) -> Iterator[None]:
    """Run the block with ``count`` torch intra-op threads (None: leave as is), then restore the setting."""
    if count is None:
        yield
        return
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(before)


class StopFlag:
    """Set by the Stop button (or any caller); the loop ends before its next step."""

    def __init__(self) -> None:
        self.requested = False

    def request(self) -> None:
        self.requested = True


@dataclass
class History:
    """Every step's loss and every epoch's metrics."""

    steps: list[int] = field(default_factory=list)
    epochs: list[int] = field(default_factory=list)
    losses: list[float] = field(default_factory=list)
    epoch_rows: list[dict[str, float]] = field(default_factory=list)

    def frame(self) -> Any:
        """A DataFrame with one row per step (step, epoch, loss) and the epoch metrics on each epoch's last step."""
        import pandas as pd

        n = min(len(self.steps), len(self.epochs), len(self.losses))  # an interrupt may land between the appends
        steps = pd.DataFrame({"step": self.steps[:n], "epoch": self.epochs[:n], "loss": self.losses[:n]})
        if not self.epoch_rows:
            return steps
        per_epoch = self.epoch_frame().drop(columns=["epoch"])
        return steps.merge(per_epoch, on="step", how="left")

    def epoch_frame(self) -> Any:
        """A DataFrame with one row per finished epoch: epoch, step, train_loss and validation metrics."""
        import pandas as pd

        return pd.DataFrame(self.epoch_rows, columns=None if self.epoch_rows else ["epoch", "step", "train_loss"])


@dataclass
class Loop:
    """What to run: ``step`` on batches of ``batch_size`` indices into ``n_train`` rows, for ``epochs``."""

    step: Callable[[Any], float]
    n_train: int
    batch_size: int
    epochs: int
    max_steps: int | None = None
    evaluate: Callable[[], dict[str, float]] | None = None
    seed: int = 0
    shuffle: bool = True
    lr: float = 0.0
    model_name: str = ""

    @property
    def steps_per_epoch(self) -> int:
        return max(1, math.ceil(self.n_train / self.batch_size))

    @property
    def total_steps(self) -> int:
        total = self.steps_per_epoch * self.epochs
        return min(total, self.max_steps) if self.max_steps else total


@dataclass
class Outcome:
    """How the loop ended."""

    history: History
    stopped: bool
    interrupted: bool
    seconds: float
    diverged_at: int | None = None  # the step whose loss was NaN or infinite


def run(loop: Loop, view: LossView | None = None, stop: StopFlag | None = None) -> Outcome:
    """Train until the epochs or ``max_steps`` are done, Stop is clicked, the kernel is interrupted, or the loss
    stops being a finite number (training diverged)."""
    import torch

    stop = stop or StopFlag()
    history = History()
    host = get_plugin_host()
    listeners = host.has_listeners(STEP_HOOK)
    generator = torch.Generator().manual_seed(loop.seed)
    total = loop.total_steps
    step = 0
    interrupted = False
    diverged_at = None
    if view is not None:
        view.start(total, stop.request)
    started = time.perf_counter()
    try:
        for epoch in range(1, loop.epochs + 1):
            order = torch.randperm(loop.n_train, generator=generator) if loop.shuffle else torch.arange(loop.n_train)
            epoch_losses: list[float] = []
            for start in range(0, loop.n_train, loop.batch_size):
                if stop.requested or step >= total:
                    break
                loss = loop.step(order[start : start + loop.batch_size])
                step += 1
                history.steps.append(step)
                history.epochs.append(epoch)
                history.losses.append(loss)
                epoch_losses.append(loss)
                if view is not None:
                    view.step(step, epoch, loss)
                if listeners:
                    event = TrainStepEvent(TASK, loop.model_name, step, epoch, loss, total, {"lr": loop.lr})
                    host.emit(STEP_HOOK, event)
                if not math.isfinite(loss):
                    diverged_at = step
                    break
            if diverged_at is not None:
                break
            if len(epoch_losses) == loop.steps_per_epoch or (epoch_losses and step >= total):
                _end_epoch(loop, history, epoch, step, epoch_losses, view, host if listeners else None)
            if stop.requested or step >= total:
                break
    except KeyboardInterrupt:
        interrupted = True
    seconds = time.perf_counter() - started
    stopped = stop.requested or interrupted or diverged_at is not None
    return Outcome(history, stopped, interrupted, seconds, diverged_at)


def _end_epoch(
    loop: Loop, history: History, epoch: int, step: int, losses: list[float], view: LossView | None, host: Any
) -> None:
    metrics = {"train_loss": sum(losses) / len(losses)}
    if loop.evaluate is not None:
        metrics.update(loop.evaluate())
    history.epoch_rows.append({"epoch": epoch, "step": step, **metrics})
    if view is not None:
        view.epoch(epoch, step, metrics)
    if host is not None:
        event_metrics = {"lr": loop.lr, "epoch_end": 1.0, **metrics}
        host.emit(STEP_HOOK, TrainStepEvent(TASK, loop.model_name, step, epoch, metrics["train_loss"],
                                            loop.total_steps, event_metrics))  # fmt: skip
