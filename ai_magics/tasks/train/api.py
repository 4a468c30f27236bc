"""The Python API of the train task: ``train(data, task=..., target=..., ...) -> TrainResult``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Sequence

from ai_magics.errors import AIMagicsError
from ai_magics.events import DoneEvent
from ai_magics.plugins import get_plugin_host
from ai_magics.tasks.train import data as data_mod
from ai_magics.tasks.train import loop as loop_mod
from ai_magics.tasks.train.options import TASK, TrainOptions, parse_list
from ai_magics.tasks.train.register import register_trained, save_folder
from ai_magics.tasks.train.result import TrainingInterrupted, TrainResult

if TYPE_CHECKING:
    from ai_magics.widgets.loss_view import LossView


def make_trainer(loaded: Any, options: TrainOptions, device: str) -> Any:
    """The trainer for ``options.task``: it holds the model, the tensors and the optimiser."""
    if options.task == "tabular":
        from ai_magics.tasks.train.tabular import TabularTrainer

        return TabularTrainer(loaded, options, device)
    if options.task == "text-classification":
        from ai_magics.tasks.train.text_classifier import TextClassifierTrainer

        return TextClassifierTrainer(loaded, options, device)
    from ai_magics.tasks.train.causal_lm import CausalLMTrainer

    return CausalLMTrainer(loaded, options, device)


def _check_name(name: str | None) -> None:
    if name is not None and name in get_plugin_host().registry.models:
        raise AIMagicsError(
            f"--name {name!r} is already a model alias, and a trained model of that name would hide it. Choose "
            "another name."
        )


def train(
    data: Any = None,
    task: str = "tabular",
    target: str | None = None,
    *,
    text_column: str | None = None,
    features: Sequence[str] | str | None = None,
    loss: str | None = None,
    optimizer: str | None = None,
    lr: float | None = None,
    epochs: int | None = None,
    max_steps: int | None = None,
    batch_size: int | None = None,
    val: float = 0.0,
    seed: int = 0,
    hidden: Sequence[int] | str = (64,),
    objective: str = "auto",
    model: str | None = None,
    lora: bool = False,
    lora_rank: int = 8,
    chat: bool | None = None,
    prompt_column: str | None = None,
    max_length: int = 128,
    device: str | None = None,
    name: str | None = None,
    save: str | None = None,
    body: str = "",
    view: LossView | None = None,
    progress: bool = True,
) -> TrainResult:
    """Train a model on ``data`` and return the run's :class:`TrainResult`.

    ``data``: a DataFrame, a list of dicts, a dict of columns, a CSV/JSONL path, or (causal-lm) a list of texts;
    with ``data=None`` the text ``body`` is read (CSV, or one text per line for causal-lm). ``name`` registers the
    model in the shared cache at once (``--model NAME`` in %%classify or %%generate); ``save`` writes it to a
    folder that ``--model DIR`` reloads in a new process. ``view`` shows progress (default: a tqdm bar if
    ``progress``). A kernel interrupt keeps the weights trained so far, registers them under ``name`` and raises
    :class:`TrainingInterrupted` with the result on ``.partial``.
    """
    from ai_magics.cache.device import resolve_device
    from ai_magics.config import get_settings

    options = TrainOptions(
        task=task, target=target, text_column=text_column, features=_listed(features, "--features"), loss=loss,
        optimizer=optimizer, lr=lr, epochs=epochs, max_steps=max_steps, batch_size=batch_size, val=val, seed=seed,
        hidden=_listed(hidden, "--hidden", int) or (), objective=objective, model=model, lora=lora,
        lora_rank=lora_rank, chat=chat, prompt_column=prompt_column, max_length=max_length, device=device,
        name=name, save=save,
    ).resolved()  # fmt: skip
    _check_name(options.name)
    train_device = resolve_device(options.device or get_settings().device)
    loaded = data_mod.load(data, body, texts_ok=options.task == "causal-lm")
    save_folder(options.save, check_only=True)
    trainer = make_trainer(loaded, options, train_device)
    if view is None and progress:
        from ai_magics.widgets.loss_view import PlainLossView

        view = PlainLossView(title=options.name or options.task)
    spec = loop_spec(trainer, options)
    try:
        with loop_mod.torch_threads(getattr(trainer, "threads", None)):
            outcome = loop_mod.run(spec, view)
    except BaseException:
        if view is not None:
            view.finish("Training failed: see the error below.", True)
        raise
    result = TrainResult(options.task, None, None, outcome.history.frame(), outcome.history.epoch_frame(),
                         steps=len(outcome.history.steps), seconds=outcome.seconds, stopped=outcome.stopped,
                         interrupted=outcome.interrupted)  # fmt: skip
    try:
        if result.steps and outcome.diverged_at is None:
            keep(result, trainer, options)
    finally:
        if view is not None:
            view.finish(_final_line(result, outcome), result.stopped)
    _emit_done(result)
    if outcome.diverged_at is not None:
        raise AIMagicsError(
            f"The loss became {outcome.history.losses[-1]} at step {outcome.diverged_at}: training diverged, so "
            f"nothing was kept. Lower the learning rate (it was --lr {options.lr:g}; try a tenth of it), or scale "
            "the features and target to similar sizes."
        )
    if outcome.interrupted:
        kept = f" The weights after {result.steps} steps are registered as {options.name!r}." if result.name else ""
        raise TrainingInterrupted(
            f"Interrupted: training stopped after {result.steps} of {spec.total_steps} steps.{kept} Run the cell "
            "again to train anew.",
            partial=result,
        )
    return result


def _listed(value: Any, option: str, kind: type = str) -> tuple[Any, ...] | None:
    """'a,b' or a sequence (or one int) as a tuple; None stays None."""
    if value is None or isinstance(value, str):
        return parse_list(value, option, kind)
    if isinstance(value, int):
        return (value,)
    return tuple(value)


def loop_spec(trainer: Any, options: TrainOptions) -> loop_mod.Loop:
    """What the loop runs: the trainer's step over its rows; ``gd`` takes all of them, in order, every step."""
    full_batch = options.optimizer == "gd"
    return loop_mod.Loop(
        step=trainer.step, n_train=trainer.n_train,
        batch_size=trainer.n_train if full_batch else int(options.batch_size or 1), epochs=int(options.epochs or 1),
        max_steps=options.max_steps, evaluate=trainer.evaluate if trainer.n_val else None, seed=options.seed,
        shuffle=not full_batch, lr=float(options.lr or 0.0), model_name=options.name or options.task,
    )  # fmt: skip


def keep(result: TrainResult, trainer: Any, options: TrainOptions) -> None:
    """Fill in the final metrics and model; save it (--save or --name) and register it (--name)."""
    result.metrics = trainer.final_metrics()
    result.model = trainer.finish()
    if options.name or options.save:
        folder = save_folder(options.save, name=options.name)
        trainer.save(result.model, folder)
        result.path = str(folder)
        if options.name:
            result.model = register_trained(options.name, folder, trainer, result.model, options.device)
            result.name = options.name


def _final_line(result: TrainResult, outcome: loop_mod.Outcome) -> str:
    if outcome.diverged_at is not None:
        return f"{result.task}: the loss became {outcome.history.losses[-1]} at step {outcome.diverged_at}; stopped."
    return result.summary() if result.steps else "Stopped before the first step: nothing was trained."


def _emit_done(result: TrainResult) -> None:
    host = get_plugin_host()
    if host.has_listeners("ai_magics_on_done"):
        summary = {"steps": result.steps, "seconds": result.seconds, "metrics": dict(result.metrics),
                   "path": result.path}  # fmt: skip
        host.emit("ai_magics_on_done", DoneEvent(TASK, result.name or result.task, result.stopped, summary))
