"""Built-in plugin: the ``%%train`` cell magic over :mod:`ai_magics.tasks.train.api`, and the ``trained``
backend that loads a classifier saved by %%train (for ``--model NAME`` after a cache eviction, or
``--model DIR`` in a new process).

Imports nothing heavy: torch and pandas load when a cell runs.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from ai_magics.arguments import non_negative_float, non_negative_int, positive_int
from ai_magics.context import check_identifier
from ai_magics.hookspecs import hookimpl
from ai_magics.registry import Backend, LoadRequest, ModelSource, Task
from ai_magics.tasks.train.options import LOSSES, OBJECTIVES, OPTIMIZERS, TASKS

if TYPE_CHECKING:
    from ai_magics.context import RunContext

BACKEND_NAME = "trained"
SUMMARY = "Train a model on your data (tabular MLP, MiniLM text classifier, SmolLM2 fine-tune) with a live loss curve."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--task", default="tabular", help=f"what to train: {', '.join(TASKS)} (default: tabular)")
    parser.add_argument("--data", "-d", metavar="NAME", help="a DataFrame, list of dicts or texts, or a CSV/JSONL "
                        "path (default: CSV, or texts one per line for causal-lm, written in the cell)")  # fmt: skip
    parser.add_argument("--target", "-y", metavar="COL", help="the column to predict (tabular, text-classification)")
    parser.add_argument("--text-column", metavar="COL",
                        help="the column of texts (default: 'text', or the only text column)")  # fmt: skip
    parser.add_argument("--features", metavar="A,B",
                        help="tabular: feature columns (default: every column but the target)")  # fmt: skip
    parser.add_argument("--loss", help=f"{', '.join(LOSSES)}: cross-entropy on logits; mean squared error (softmax vs "
                        "one-hot, or regression on a numeric target); negative log-likelihood on log-softmax "
                        "(default: ce)")  # fmt: skip
    parser.add_argument("--optimizer", help=f"{', '.join(OPTIMIZERS)}: gd is full-batch gradient descent, one step an "
                        "epoch (default: adam for tabular, adamw otherwise)")  # fmt: skip
    parser.add_argument("--lr", type=non_negative_float, help="learning rate (default: tabular 0.01 with adam/adamw, "
                        "0.1 with sgd/gd; text-classification 1e-4; causal-lm 1e-3 with --lora, else 5e-5)")
    parser.add_argument("--epochs", type=positive_int, help="passes over the training data (default: tabular 50, "
                        "or 500 with gd; text-classification 4; causal-lm 1)")  # fmt: skip
    parser.add_argument("--max-steps", type=positive_int, help="stop after this many optimisation steps")
    parser.add_argument("--batch-size", type=positive_int,
                        help="rows a step (default: tabular 32, text 16, causal-lm 8)")  # fmt: skip
    parser.add_argument("--val", type=non_negative_float, default=0.0, metavar="FRACTION",
                        help="hold out this share of rows for validation metrics each epoch (default: 0)")  # fmt: skip
    parser.add_argument("--seed", type=non_negative_int, default=0,
                        help="random seed for the split, init and order (default: 0)")  # fmt: skip
    parser.add_argument("--hidden", default="64", metavar="N,N",
                        help="tabular: hidden layer sizes; 0 for logistic/linear regression (default: 64)")  # fmt: skip
    parser.add_argument("--objective", default="auto", help=f"{', '.join(OBJECTIVES)}: auto means regression for "
                        "--loss mse on a numeric target (default: auto)")  # fmt: skip
    parser.add_argument("--model", "-m", help="the pretrained model to fine-tune (default: minilm for "
                        "text-classification, smollm2 for causal-lm)")  # fmt: skip
    parser.add_argument("--lora", action="store_true", help="causal-lm: train LoRA adapters (peft), merged at the end")
    parser.add_argument("--lora-rank", type=positive_int, default=8, help="causal-lm: LoRA rank (default: 8)")
    chat = parser.add_mutually_exclusive_group()
    chat.add_argument("--chat", dest="chat", action="store_true", default=None,
                      help="causal-lm: learn each text as the chat reply to its prompt (default if the model has a "
                      "chat template, as %%%%generate prompts it)")  # fmt: skip
    chat.add_argument("--no-chat", dest="chat", action="store_false", help="causal-lm: learn the raw texts")
    parser.add_argument("--prompt-column", metavar="COL", help="causal-lm: the prompt each text answers (chat format)")
    parser.add_argument("--max-length", type=positive_int, default=128,
                        help="text tasks: tokens per text at most (default: 128)")  # fmt: skip
    parser.add_argument("--device", help="cpu, cuda, cuda:N, mps or auto (default: %%config AIMagics.device)")
    parser.add_argument("--name", "-n", help="register the trained model as NAME for --model NAME in "
                        "%%%%classify / %%%%generate")  # fmt: skip
    parser.add_argument("--save", metavar="DIR", help="save safetensors + config in DIR (reload with --model DIR)")
    parser.add_argument("--out", "-o", metavar="NAME",
                        help="store the TrainResult (history, metrics, name) in this variable")  # fmt: skip


def run(args: argparse.Namespace, body: str, context: RunContext) -> None:
    """Train with a live view, store the result with --out, and keep the model under --name."""
    from ai_magics.tasks.train import data as data_mod
    from ai_magics.tasks.train.api import train
    from ai_magics.tasks.train.result import TrainingInterrupted
    from ai_magics.widgets.loss_view import make_loss_view

    out = check_identifier(args.out, "--out")
    data = args.data  # a name from the magic line; run_task() may pass the data itself
    if isinstance(data, str):
        data = data_mod.from_notebook(data, context.user_ns)
    view = make_loss_view(context.widgets, title=args.name or args.task)
    try:
        result = train(
            data, args.task, args.target, text_column=args.text_column, features=args.features,
            loss=args.loss, optimizer=args.optimizer, lr=args.lr, epochs=args.epochs, max_steps=args.max_steps,
            batch_size=args.batch_size, val=args.val, seed=args.seed, hidden=args.hidden,
            objective=args.objective, model=args.model, lora=args.lora, lora_rank=args.lora_rank, chat=args.chat,
            prompt_column=args.prompt_column, max_length=args.max_length, device=args.device, name=args.name,
            save=args.save, body=body, view=view,
        )  # fmt: skip
    except TrainingInterrupted as stopped:
        context.store(out, stopped.partial)
        raise
    context.store(out, result)


def load_trained(request: LoadRequest) -> Any:
    """Load a classifier saved by %%train from its folder onto the request's device."""
    from ai_magics.errors import AIMagicsError
    from ai_magics.tasks.train.persistence import load_marker

    folder = Path(request.source.path)
    marker = load_marker(folder)
    task = marker.get("task")
    try:
        if task == "text-classification":
            from ai_magics.tasks.train.text_classifier import TextPredictor

            return TextPredictor.load(folder, marker, request.device, request.dtype)
        if task == "tabular":
            from ai_magics.tasks.train.tabular import TabularPredictor

            return TabularPredictor.load(folder, marker, request.device)
    except AIMagicsError:
        raise
    except Exception as exc:  # a damaged folder: unreadable weights, a marker that does not fit them
        raise AIMagicsError(
            f"Could not load the model %%train saved in {str(folder)!r}: {type(exc).__name__}: {exc}. The folder "
            "is damaged or incomplete; train and save the model again."
        ) from None
    raise AIMagicsError(
        f"{str(folder)!r} holds a {task!r} model, which is not a classifier. Use it with the task it was trained "
        "for (a causal-lm folder with %%generate)."
    )


def estimate_bytes(request: LoadRequest) -> int:
    """The size of the saved weights."""
    folder = Path(request.source.path)
    if not folder.is_dir():
        return 0
    # The weights sit at the top or one folder down (a text classifier's encoder/); never walk a whole tree.
    return sum(p.stat().st_size for pattern in ("*.safetensors", "*/*.safetensors") for p in folder.glob(pattern))


@hookimpl
def ai_magics_register_tasks(register: Callable[[Task], None]) -> None:
    register(Task("train", SUMMARY, add_arguments, run))


@hookimpl
def ai_magics_register_backends(register: Callable[[Backend], None]) -> None:
    register(Backend(BACKEND_NAME, ("classifier",), ("trained",), load_trained,
                     "classifiers trained by %%train (safetensors + JSON)", estimate=estimate_bytes))  # fmt: skip


@hookimpl(trylast=True)
def ai_magics_select_backend(source: ModelSource, kind: str, device: str) -> str | None:
    return BACKEND_NAME if source.file_format == "trained" and kind == "classifier" else None
