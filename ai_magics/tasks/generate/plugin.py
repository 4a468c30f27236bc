"""Built-in plugin: the ``%%generate`` cell magic over :mod:`ai_magics.tasks.generate.api`."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any, Callable

from ai_magics.arguments import add_model_options, non_negative_float, non_negative_int, positive_int
from ai_magics.context import check_identifier
from ai_magics.errors import AIMagicsError, GenerationInterrupted
from ai_magics.hookspecs import hookimpl
from ai_magics.registry import Task

if TYPE_CHECKING:
    from ai_magics.context import RunContext


class GeneratedText(str):
    """The generated text as the cell's value: already shown while streaming, so it displays nothing more."""

    def _ipython_display_(self) -> None:
        pass


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_model_options(parser, "default: smollm2, or %%config AIMagics.default_model")
    parser.add_argument("--max-new-tokens", "-n", type=positive_int, default=128, help="tokens to generate at most")
    parser.add_argument("--temperature", "-t", type=non_negative_float, default=0.7, help="0 = greedy")
    parser.add_argument("--top-p", type=non_negative_float, default=0.9, help="nucleus sampling mass, (0, 1]")
    parser.add_argument("--top-k", type=non_negative_int, default=50, help="sample from the k likeliest (0: all)")
    parser.add_argument("--seed", type=non_negative_int, default=None, help="random seed for reproducible sampling")
    parser.add_argument("--stop", action="append", default=None, help="stop at this text (repeatable)")
    chat = parser.add_mutually_exclusive_group()
    chat.add_argument("--chat", dest="chat", action="store_true", default=None, help="use the chat template")
    chat.add_argument("--no-chat", dest="chat", action="store_false", help="send the prompt as is")
    parser.add_argument("--system", help="system message for chat")
    parser.add_argument("--conversation", "-c", metavar="NAME",
                        help="keep a multi-turn history in this notebook variable (a list of messages)")  # fmt: skip


def run(args: argparse.Namespace, body: str, context: RunContext) -> GeneratedText:
    """Stream a generation into the cell, store it with --out, and return it."""
    from ai_magics.tasks.generate.api import stream_generate
    from ai_magics.tasks.generate.conversation import check_history
    from ai_magics.widgets.stream_view import make_stream_view

    out = check_identifier(args.out, "--out")
    conversation = None
    if args.conversation is not None:
        name = check_identifier(args.conversation, "--conversation")
        conversation = check_history(context.user_ns.setdefault(name, []), name)  # errors name the variable
    stream = stream_generate(
        body.strip("\n"), args.model, max_new_tokens=args.max_new_tokens, temperature=args.temperature,
        top_p=args.top_p, top_k=args.top_k, seed=args.seed, stop=args.stop, chat=args.chat, system=args.system,
        conversation=conversation, device=args.device, dtype=args.dtype, backend=args.backend,
    )  # fmt: skip
    view = make_stream_view(context.widgets)
    view.start(stream.stop)
    interrupted = False
    failed: AIMagicsError | None = None
    try:
        for piece in stream:
            view.add(piece, stream.text, stream.tokens, stream.elapsed)
    except KeyboardInterrupt:
        interrupted = True
        stream.close()
        stream.stopped = True
    except AIMagicsError as exc:
        if stream.started is None:  # failed before generating (loading, options): nothing to keep
            raise
        failed = exc  # the backend failed mid-stream (a server that died): keep what it produced
    finally:
        view.finish(stream.text, stream.tokens, stream.elapsed, stream.stopped or interrupted or failed is not None)
    text = GeneratedText(stream.text)
    context.store(out, text)
    if failed is not None:
        where = f" The partial text is in `{out}`." if out and text else ""
        raise GenerationInterrupted(f"{failed}{where}", partial=text) from None
    if interrupted:
        if stream.started is None or not text:  # interrupted while loading or before the first token
            raise GenerationInterrupted(
                "Interrupted before any text was generated (the model was loading or reading the prompt). "
                "Run the cell again to generate.",
                partial=text,
            )
        where = f" in `{out}`" if out else ""
        raise GenerationInterrupted(
            f"Interrupted: generation stopped after {stream.tokens} tokens; the partial text is shown above"
            f"{where}. Run the cell again to generate anew.",
            partial=text,
        )
    return text


@hookimpl
def ai_magics_register_tasks(register: Callable[[Task], None]) -> None:
    register(Task("generate", "Generate text or chat with a local model, streamed token by token.", add_arguments, run))


