"""The choices %%train offers and their defaults, checked with messages that say what to write instead.

Pure Python (no torch), so the plugin can build its argument parser without importing heavy libraries.

Defaults, per task (``None`` in :class:`TrainOptions` means "use these"):

=====================  ==========  =========  =====================================  ==========
task                   optimizer   loss       learning rate                          epochs
=====================  ==========  =========  =====================================  ==========
tabular                adam        ce (mse    0.01 (adam, adamw), 0.1 (sgd, gd)      50 (gd: 500,
                                   for a                                              one step
                                   numeric                                            per epoch)
                                   target)
text-classification    adamw       ce         1e-4 (adam, adamw), 0.01 (sgd, gd)     4
causal-lm              adamw       ce         1e-3 with --lora, else 5e-5            1
                                              (sgd, gd: 0.01)
=====================  ==========  =========  =====================================  ==========

Batch size: 32 (tabular), 16 (text-classification), 8 (causal-lm); ``gd`` always uses the whole training split.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from ai_magics.errors import AIMagicsError

TASK = "train"
TASKS = ("tabular", "text-classification", "causal-lm")
LOSSES = ("ce", "mse", "nll")
OPTIMIZERS = ("sgd", "gd", "adam", "adamw")
OBJECTIVES = ("auto", "classification", "regression")

DEFAULT_OPTIMIZER = {"tabular": "adam", "text-classification": "adamw", "causal-lm": "adamw"}
DEFAULT_BATCH = {"tabular": 32, "text-classification": 16, "causal-lm": 8}
DEFAULT_EPOCHS = {"tabular": 50, "text-classification": 4, "causal-lm": 1}
GD_EPOCHS = 500
MAX_LAYER_SIZE = 100_000
MAX_LORA_RANK = 1024
DEFAULT_MODEL = {"text-classification": "minilm", "causal-lm": "smollm2"}


def check_choice(value: Any, choices: tuple[str, ...], option: str, what: str) -> str:
    """``value`` if it is one of ``choices``, else an error naming them all."""
    if value not in choices:
        raise AIMagicsError(f"Unknown {what} {value!r} for {option}. Choose one of: {', '.join(choices)}.")
    return str(value)


def default_lr(task: str, optimizer: str, lora: bool) -> float:
    """The learning rate used when none is given (see the table in this module's docstring)."""
    if optimizer in ("sgd", "gd"):
        return 0.1 if task == "tabular" else 0.01
    if task == "tabular":
        return 0.01
    if task == "text-classification":
        return 1e-4
    return 1e-3 if lora else 5e-5


@dataclass(frozen=True)
class TrainOptions:
    """Every choice of one training run, validated by :meth:`resolved` (which fills in the defaults)."""

    task: str = "tabular"
    target: str | None = None
    text_column: str | None = None
    features: tuple[str, ...] | None = None
    loss: str | None = None
    optimizer: str | None = None
    lr: float | None = None
    epochs: int | None = None
    max_steps: int | None = None
    batch_size: int | None = None
    val: float = 0.0
    seed: int = 0
    hidden: tuple[int, ...] = (64,)
    objective: str = "auto"
    model: str | None = None
    lora: bool = False
    lora_rank: int = 8
    chat: bool | None = None
    prompt_column: str | None = None
    max_length: int = 128
    device: str | None = None
    name: str | None = None
    save: str | None = None

    def resolved(self) -> TrainOptions:
        """A copy with the choices checked and every ``None`` default filled in for the task."""
        task = check_choice(self.task, TASKS, "--task", "task")
        optimizer = check_choice(self.optimizer or DEFAULT_OPTIMIZER[task], OPTIMIZERS, "--optimizer", "optimizer")
        loss = check_choice(self.loss, LOSSES, "--loss", "loss") if self.loss is not None else None
        check_choice(self.objective, OBJECTIVES, "--objective", "objective")
        if task == "causal-lm" and loss == "mse":
            raise AIMagicsError(
                "--loss mse does not apply to --task causal-lm: a language model learns the next token with "
                "cross-entropy. Use --loss ce (or nll, the same thing on log-probabilities), or leave --loss out."
            )
        if self.objective == "regression" and loss in ("ce", "nll"):
            raise AIMagicsError(
                f"--loss {loss} is a classification loss, but --objective regression predicts numbers. Use --loss "
                "mse for regression, or --objective classification to predict classes."
            )
        for option, given in (("--lora", self.lora), ("--chat/--no-chat", self.chat is not None),
                              ("--prompt-column", self.prompt_column is not None)):  # fmt: skip
            if given and task != "causal-lm":
                raise AIMagicsError(f"{option} applies to --task causal-lm only; leave it out for this task.")
        if self.chat is False and self.prompt_column is not None:
            raise AIMagicsError("--prompt-column needs the chat format; drop --no-chat to use it.")
        if task == "tabular" and self.model is not None:
            raise AIMagicsError(
                "--model names the pretrained model to fine-tune, which --task tabular does not use (it trains a "
                "new MLP). Leave --model out, or use --hidden to choose the network's size."
            )
        _check_number(self.lr, "--lr", positive=True)
        if not 0.0 <= float(self.val) < 1.0:
            raise AIMagicsError(
                f"--val {self.val} is not a fraction in [0, 1): it is the share of rows held out for validation, "
                "e.g. --val 0.2 (0 for none)."
            )
        for option, value in (("--epochs", self.epochs), ("--max-steps", self.max_steps),
                              ("--batch-size", self.batch_size)):  # fmt: skip
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
                raise AIMagicsError(f"{option} must be a whole number of 1 or more, not {value!r}.")
        if any(isinstance(h, bool) or not isinstance(h, int) or h < 0 for h in self.hidden):
            raise AIMagicsError(f"--hidden must list layer sizes of 0 or more, like 64 or 128,64, not {self.hidden!r}.")
        if any(h > MAX_LAYER_SIZE for h in self.hidden):
            raise AIMagicsError(
                f"--hidden {','.join(map(str, self.hidden))} asks for a layer wider than {MAX_LAYER_SIZE}, which "
                "would not fit in memory. Layer sizes of 16 to 1024 are usual."
            )
        if not 1 <= self.lora_rank <= MAX_LORA_RANK:
            raise AIMagicsError(
                f"--lora-rank must be between 1 and {MAX_LORA_RANK} (8 to 64 is usual), not {self.lora_rank}."
            )
        if not 0 <= self.seed < 2**63:
            raise AIMagicsError(f"--seed must be between 0 and 2**63 - 1, not {self.seed}.")
        if self.name is not None and (not str(self.name).strip() or "/" in self.name):
            raise AIMagicsError(
                f"--name {self.name!r} is not a usable model name. Use a short name without slashes, like "
                "my_classifier; it is what --model NAME will accept."
            )
        epochs = self.epochs or (GD_EPOCHS if optimizer == "gd" and task == "tabular" else DEFAULT_EPOCHS[task])
        return replace(
            self, task=task, optimizer=optimizer, epochs=epochs,
            loss=loss or ("mse" if self.objective == "regression" else "ce"),
            lr=float(self.lr) if self.lr is not None else default_lr(task, optimizer, self.lora),
            batch_size=self.batch_size or DEFAULT_BATCH[task], model=self.model or DEFAULT_MODEL.get(task),
        )  # fmt: skip


def _check_number(value: Any, option: str, positive: bool = False) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
        raise AIMagicsError(f"{option} must be a number, not {value!r}.")
    if positive and not 0 < value < float("inf"):
        raise AIMagicsError(f"{option} must be a number above 0, not {value!r}.")


def parse_list(text: str | None, option: str, kind: type = str) -> tuple[Any, ...] | None:
    """'a,b,c' -> ('a', 'b', 'c') (or ints with ``kind=int``); None stays None."""
    if text is None:
        return None
    parts = [p.strip() for p in str(text).split(",") if p.strip()]
    try:
        return tuple(kind(p) for p in parts)
    except ValueError:
        raise AIMagicsError(f"{option} {text!r} must be a comma-separated list of whole numbers, like 64,32.") from None
