"""Built-in plugin: the ``%%classify`` cell magic over :mod:`ai_magics.tasks.classify.api`."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any, Callable

from ai_magics.arguments import add_model_options, non_negative_float, positive_int
from ai_magics.context import check_identifier
from ai_magics.errors import AIMagicsError
from ai_magics.hookspecs import hookimpl
from ai_magics.registry import Task

if TYPE_CHECKING:
    from ai_magics.context import RunContext

SUMMARY = "Label texts or table rows: zero-shot with --labels, or with a model trained by %%train."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_model_options(
        parser,
        "default: minilm, or %%config AIMagics.default_classify_model; a causal LM such as smollm2 scores labels "
        "by likelihood; a model trained with %%%%train applies its own labels",
    )
    parser.add_argument("--labels", "-l", nargs="+", metavar="LABEL",
                        help="labels to choose from: sports,politics or sports politics; quote a label with commas "
                             "as '\"arts, culture\",sports'; NAME=DESCRIPTION embeds the description instead")
    parser.add_argument("--data", "-d", metavar="NAME",
                        help="classify this notebook variable (list of str, Series, or DataFrame) instead of the "
                             "cell body's lines")
    parser.add_argument("--column", "-c", help="the DataFrame column holding the texts (text models)")
    parser.add_argument("--multi-label", action="store_true", help="keep every label whose probability >= --threshold")
    parser.add_argument("--threshold", type=non_negative_float, default=0.5, help="for --multi-label (default 0.5)")
    parser.add_argument("--template", default=None,
                        help="how a label is put into words for a sentence encoder (default: 'This is "
                             "{label}.')")
    parser.add_argument("--temperature", type=non_negative_float, default=None,
                        help="softmax temperature over cosine similarities (default 0.03; smaller: more confident)")
    parser.add_argument("--batch-size", type=positive_int, default=32,
                        help="texts per forward pass (default 32)")  # fmt: skip


def _data(args: argparse.Namespace, body: str, context: RunContext) -> tuple[Any, str]:
    from ai_magics.tasks.classify.inputs import BODY_ORIGIN, body_texts

    if args.data is not None:
        if body.strip():
            raise AIMagicsError(
                f"Both --data {args.data} and text in the cell body were given. Classify one or the other: "
                "empty the cell body, or drop --data."
            )
        return context.lookup(args.data, "--data"), f"--data {args.data}"
    texts = body_texts(body)
    if not texts:
        raise AIMagicsError(
            "The cell body is empty: there is nothing to classify. Write one text per line under %%classify, or "
            "pass --data NAME to classify a list, Series or DataFrame from the notebook."
        )
    return texts, BODY_ORIGIN


def run(args: argparse.Namespace, body: str, context: RunContext) -> Any:
    """Classify the body's lines or --data, store the table with --out, and return it (so it is displayed)."""
    from ai_magics.tasks.classify.api import classify
    from ai_magics.tasks.classify.labels import DEFAULT_TEMPLATE

    out = check_identifier(args.out, "--out")
    data, origin = _data(args, body, context)
    frame = classify(
        data, args.labels, args.model, multi_label=args.multi_label, threshold=args.threshold, column=args.column,
        template=args.template or DEFAULT_TEMPLATE, temperature=args.temperature, batch_size=args.batch_size,
        device=args.device, dtype=args.dtype, backend=args.backend, origin=origin,
    )  # fmt: skip
    context.store(out, frame)
    return frame


@hookimpl
def ai_magics_register_tasks(register: Callable[[Task], None]) -> None:
    register(Task("classify", SUMMARY, add_arguments, run))
