"""The training loop: epochs and steps, Stop, kernel interrupts that keep the weights, and train-step events
through the plugin hooks."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ai_magics.cache import get_cache
from ai_magics.hookspecs import hookimpl
from ai_magics.models.loading import plan_model
from ai_magics.plugins import get_plugin_host
from ai_magics.tasks.train import loop
from ai_magics.tasks.train.api import train
from ai_magics.tasks.train.result import TrainingInterrupted

pytestmark = pytest.mark.usefixtures("forget_trained_models")



class Recorder:
    """A plugin that records train-step and done events (and can interrupt at a given step)."""

    def __init__(self, interrupt_at: int | None = None) -> None:
        self.steps: list = []
        self.done: list = []
        self.interrupt_at = interrupt_at

    @hookimpl
    def ai_magics_on_train_step(self, event) -> None:
        self.steps.append(event)
        if self.interrupt_at is not None and event.step == self.interrupt_at:
            raise KeyboardInterrupt

    @hookimpl
    def ai_magics_on_done(self, event) -> None:
        self.done.append(event)


class StoppingView:
    """A view whose user clicks Stop at a given step."""

    def __init__(self, stop_at: int) -> None:
        self.stop_at, self.finished = stop_at, None

    def start(self, total_steps, on_stop):
        self.on_stop = on_stop

    def step(self, step, epoch, loss):
        if step == self.stop_at:
            self.on_stop()

    def epoch(self, epoch, step, metrics):
        pass

    def finish(self, summary, stopped):
        self.finished = (summary, stopped)


def seed_frame() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(100, 10))
    return pd.DataFrame(x, columns=[f"x{i}" for i in range(10)]).assign(label=(x[:, 0] + x[:, 1] > 0).astype(int))


def test_steps_epochs_and_history():
    seen = []

    def step(rows) -> float:
        seen.append(rows.tolist())
        return 1.0 / len(seen)

    spec = loop.Loop(step=step, n_train=10, batch_size=4, epochs=3, evaluate=lambda: {"val_loss": 0.5})
    outcome = loop.run(spec)
    assert spec.steps_per_epoch == 3 and spec.total_steps == 9
    assert len(seen) == 9 and sorted(sum(seen[:3], [])) == list(range(10))  # each epoch sees every row once
    frame = outcome.history.frame()
    assert list(frame.columns) == ["step", "epoch", "loss", "train_loss", "val_loss"]
    assert frame["val_loss"].notna().sum() == 3
    assert outcome.history.epoch_frame()["epoch"].tolist() == [1, 2, 3]
    assert not outcome.stopped and not outcome.interrupted


def test_max_steps_and_seeded_order():
    orders: list[list] = []
    for _ in range(2):
        orders.append([])
        loop.run(loop.Loop(step=lambda rows: orders[-1].append(rows.tolist()) or 0.0, n_train=20, batch_size=5,
                           epochs=10, max_steps=6, seed=3))  # fmt: skip
    assert len(orders[0]) == 6 and orders[0] == orders[1]


def test_stop_flag_ends_before_the_next_step():
    view = StoppingView(stop_at=4)
    outcome = loop.run(loop.Loop(step=lambda rows: 0.0, n_train=100, batch_size=10, epochs=5), view)
    assert outcome.stopped and not outcome.interrupted
    assert outcome.history.steps == [1, 2, 3, 4]


def test_keyboard_interrupt_keeps_the_history():
    def step(rows):
        if step.count == 7:
            raise KeyboardInterrupt
        step.count += 1
        return 1.0

    step.count = 0
    outcome = loop.run(loop.Loop(step=step, n_train=100, batch_size=10, epochs=5))
    assert outcome.interrupted and outcome.stopped and len(outcome.history.steps) == 7


def test_events_go_through_the_plugin_hooks():
    recorder = Recorder()
    get_plugin_host().add_plugin(recorder, "recorder")
    result = train(seed_frame(), "tabular", "label", epochs=3, val=0.2, name="t_events", progress=False)
    per_step = [e for e in recorder.steps if "epoch_end" not in e.metrics]
    per_epoch = [e for e in recorder.steps if "epoch_end" in e.metrics]
    assert [e.step for e in per_step] == list(range(1, result.steps + 1))
    assert all(e.task == "train" and e.model == "t_events" and e.total_steps == result.steps for e in per_step)
    assert per_step[0].metrics == {"lr": 0.01}
    assert [e.epoch for e in per_epoch] == [1, 2, 3] and "val_accuracy" in per_epoch[-1].metrics
    assert len(recorder.done) == 1 and not recorder.done[0].stopped
    assert recorder.done[0].summary["steps"] == result.steps


def test_stop_keeps_and_registers_the_weights_trained_so_far():
    result = train(seed_frame(), "tabular", "label", name="t_stopped", view=StoppingView(stop_at=5))
    assert result.stopped and result.steps == 5 and len(result.history) == 5
    assert get_cache().get(plan_model("t_stopped", "classifier").key) is result.model


def test_interrupt_registers_the_partial_model_and_raises_with_the_result():
    get_plugin_host().add_plugin(Recorder(interrupt_at=10), "interrupter")
    with pytest.raises(TrainingInterrupted) as caught:
        train(seed_frame(), "tabular", "label", name="t_partial", progress=False)
    message = str(caught.value)
    assert "stopped after 10 of 200 steps" in message and "registered as 't_partial'" in message
    partial = caught.value.partial
    assert partial.interrupted and partial.steps == 10 and len(partial.history) == 10
    assert get_cache().get(plan_model("t_partial", "classifier").key) is partial.model
    assert partial.model.predict(seed_frame()).shape == (100,)


def test_a_plugin_that_raises_is_reported_and_training_goes_on():
    class Broken:
        @hookimpl
        def ai_magics_on_train_step(self, event):
            raise RuntimeError("boom")

    get_plugin_host().add_plugin(Broken(), "broken")
    result = train(seed_frame(), "tabular", "label", epochs=2, progress=False)
    assert result.steps == 8
    assert any("boom" in p for p in get_plugin_host().statuses["broken"].problems)


def test_a_loss_that_is_not_a_number_ends_the_loop():
    losses = iter([1.0, 0.5, float("nan"), 0.1])
    outcome = loop.run(loop.Loop(step=lambda rows: next(losses), n_train=10, batch_size=2, epochs=3))
    assert outcome.diverged_at == 3 and outcome.stopped and len(outcome.history.steps) == 3


def test_history_frame_survives_an_interrupt_between_its_appends():
    from ai_magics.tasks.train.loop import History

    history = History(steps=[1, 2], epochs=[1, 1], losses=[0.5])  # interrupted after the step and epoch appends
    frame = history.frame()
    assert frame["step"].tolist() == [1] and frame["loss"].tolist() == [0.5]
