"""Parsing a magic's line with argparse, turning every parse problem into a one-paragraph message."""

from __future__ import annotations

import argparse
import shlex
from typing import Any, NoReturn

from ai_magics.errors import AIMagicsError


class HelpRequested(Exception):
    """``--help`` was given: the text to show instead of running."""


class MagicArgumentParser(argparse.ArgumentParser):
    """argparse that raises :class:`AIMagicsError` instead of printing and exiting."""

    def __init__(self, task: str, description: str) -> None:
        super().__init__(prog=f"%%{task}", description=description, add_help=False, allow_abbrev=False)
        self.add_argument("-h", "--help", action="store_true", help="show this help")

    def error(self, message: str) -> NoReturn:
        raise AIMagicsError(f"{self.prog}: {message}. Run `{self.prog} --help` to see its options.")

    def exit(self, status: int = 0, message: str | None = None) -> NoReturn:
        raise AIMagicsError(message or f"{self.prog}: could not parse the options.")


def split_line(line: str, prog: str) -> list[str]:
    """Split a magic line like a shell would, with a clear error for unbalanced quotes."""
    try:
        return shlex.split(line)
    except ValueError as exc:
        raise AIMagicsError(f"{prog}: the options line has {exc} (an unclosed quote?). Close the quote.") from None


def parse_line(parser: MagicArgumentParser, line: str) -> argparse.Namespace:
    """Parse the options after ``%%task``; raises HelpRequested for --help."""
    args = parser.parse_args(split_line(line, parser.prog))
    if args.help:
        raise HelpRequested(parser.format_help())
    return args


# -- value types with clear messages ------------------------------------------------------------------------


def _typed(kind: type, noun: str, minimum: float | None = None) -> Any:
    def convert(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not {noun}") from None
        if kind is float and value != value:
            raise argparse.ArgumentTypeError(f"{text!r} is not {noun}")
        if minimum is not None and value < minimum:
            problem = "negative" if value < 0 else "too small"
            raise argparse.ArgumentTypeError(f"{text} is {problem}; it must be {minimum} or more")
        return value

    convert.__name__ = noun
    return convert


non_negative_float = _typed(float, "a number", 0)
positive_int = _typed(int, "a whole number", 1)
non_negative_int = _typed(int, "a whole number", 0)


def add_model_options(parser: argparse.ArgumentParser, default_help: str) -> None:
    """The options every model-using task shares: --model, --device, --dtype, --backend, --out."""
    parser.add_argument("--model", "-m", help=f"model alias, local folder, .gguf file or hub id ({default_help})")
    parser.add_argument("--device", help="cpu, cuda, cuda:N, mps or auto (default: %%config AIMagics.device)")
    parser.add_argument("--dtype", help="float32, bfloat16, float16 or auto")
    parser.add_argument("--backend", help="load with this backend instead of the default one")
    parser.add_argument("--out", "-o", metavar="NAME", help="store the result in this notebook variable")
