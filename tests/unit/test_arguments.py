"""Parsing a magic's options line: every problem is a one-paragraph AIMagicsError naming the option."""

from __future__ import annotations

import argparse

import pytest

from ai_magics.arguments import (
    HelpRequested,
    MagicArgumentParser,
    add_model_options,
    non_negative_float,
    non_negative_int,
    parse_line,
    positive_int,
    split_line,
)
from ai_magics.errors import AIMagicsError


def demo_parser() -> MagicArgumentParser:
    """A parser shaped like a task's, with the shared model options and typed numbers."""
    parser = MagicArgumentParser("demo", "A demo task.")
    add_model_options(parser, "default: tiny")
    parser.add_argument("--max-new-tokens", "-n", type=positive_int, default=8)
    parser.add_argument("--temperature", "-t", type=non_negative_float, default=0.7)
    parser.add_argument("--top-k", type=non_negative_int, default=50)
    chat = parser.add_mutually_exclusive_group()
    chat.add_argument("--chat", dest="chat", action="store_true", default=None)
    chat.add_argument("--no-chat", dest="chat", action="store_false")
    return parser


def generate_parser() -> MagicArgumentParser:
    from ai_magics.tasks.generate.plugin import add_arguments

    parser = MagicArgumentParser("generate", "Generate text.")
    add_arguments(parser)
    return parser


def parse_error(line: str, parser: MagicArgumentParser | None = None) -> str:
    with pytest.raises(AIMagicsError) as info:
        parse_line(parser or demo_parser(), line)
    message = str(info.value)
    assert "\n" not in message, f"not one paragraph: {message!r}"
    return message


def test_good_lines_parse():
    args = parse_line(demo_parser(), "--model 'my model' -n 16 -t 0 --top-k 0 --device cpu --dtype bf16 -o out --chat")
    assert (args.model, args.max_new_tokens, args.temperature, args.top_k) == ("my model", 16, 0.0, 0)
    assert (args.device, args.dtype, args.out, args.chat, args.help) == ("cpu", "bf16", "out", True, False)
    defaults = parse_line(demo_parser(), "")
    assert defaults.max_new_tokens == 8 and defaults.model is None and defaults.chat is None


def test_unknown_option():
    message = parse_error("--frobnicate 3")
    assert message == "%%demo: unrecognized arguments: --frobnicate 3. Run `%%demo --help` to see its options."


def test_abbreviations_are_not_guessed():
    assert "unrecognized arguments: --temp" in parse_error("--temp 0")


def test_stray_words():
    assert "unrecognized arguments: hello world" in parse_error("hello world")


@pytest.mark.parametrize(
    ("line", "option", "value"),
    [("-t hot", "--temperature", "'hot'"), ("--temperature nan", "--temperature", "'nan'"),
     ("-n 2.5", "--max-new-tokens", "'2.5'"), ("-n ten", "--max-new-tokens", "'ten'"), ("--top-k x", "--top-k", "'x'")],
)  # fmt: skip
def test_non_numeric_numbers(line, option, value):
    message = parse_error(line)
    assert option in message and value in message
    assert "is not a number" in message or "is not a whole number" in message
    assert "--help" in message


@pytest.mark.parametrize(
    ("line", "option", "minimum"),
    [("-t -0.5", "--temperature", "0"), ("--top-k -1", "--top-k", "0"), ("-n -3", "--max-new-tokens", "1")],
)
def test_negative_numbers(line, option, minimum):
    message = parse_error(line)
    assert option in message and "negative" in message and f"must be {minimum} or more" in message


def test_zero_tokens_is_too_small_not_negative():
    message = parse_error("-n 0")
    assert "--max-new-tokens" in message and "must be 1 or more" in message and "negative" not in message


def test_missing_value():
    message = parse_error("--model")
    assert "--model" in message and "expected one argument" in message


def test_mutually_exclusive_options():
    message = parse_error("--chat --no-chat")
    assert "--no-chat" in message and "--chat" in message and "not allowed" in message


@pytest.mark.parametrize("line", ['--model "unclosed', "--model 'unclosed", '-m "a" --system "b'])
def test_unbalanced_quotes(line):
    message = parse_error(line)
    assert message.startswith("%%demo: the options line has No closing quotation")
    assert "quote" in message.split("quotation", 1)[1]


def test_split_line_is_shell_like():
    assert split_line("--system 'You are terse.' -n 3", "%%x") == ["--system", "You are terse.", "-n", "3"]
    assert split_line('--stop "\\n\\n"', "%%x") == ["--stop", "\\n\\n"]
    assert split_line("", "%%x") == []


@pytest.mark.parametrize("line", ["--help", "-h", "-n 3 --help"])
def test_help_is_requested_not_an_error(line):
    with pytest.raises(HelpRequested) as info:
        parse_line(demo_parser(), line)
    text = str(info.value)
    assert text.startswith("usage: %%demo") and "A demo task." in text
    for option in ("--model", "--max-new-tokens", "--temperature", "--device", "--no-chat"):
        assert option in text
    assert "\n" in text  # help is the one multi-line text


def test_generate_options_parse_and_fail_clearly():
    parser = generate_parser()
    args = parse_line(parser, "--stop '###' --stop END -c chat --system 'Be brief.' --seed 7 --top-p 0.5 --no-chat")
    assert args.stop == ["###", "END"] and args.conversation == "chat" and args.system == "Be brief."
    assert (args.seed, args.top_p, args.chat) == (7, 0.5, False)
    assert "--seed" in parse_error("--seed -1", parser) and "negative" in parse_error("--seed -1", parser)
    assert "--top-p" in parse_error("--top-p much", parser)


def test_generate_help():
    with pytest.raises(HelpRequested) as info:
        parse_line(generate_parser(), "--help")
    assert "%config AIMagics.default_model" in str(info.value) and "--max-new-tokens" in str(info.value)


def test_argparse_exit_becomes_an_error_not_system_exit():
    parser = MagicArgumentParser("demo", "d")
    with pytest.raises(AIMagicsError, match="could not parse"):
        parser.exit(2)
    with pytest.raises(AIMagicsError, match="custom"):
        parser.exit(2, "custom")


@pytest.mark.parametrize(
    ("convert", "text", "expected"),
    [(non_negative_float, "0", 0.0), (non_negative_float, "1e-3", 0.001), (non_negative_float, "inf", float("inf")),
     (positive_int, "1", 1), (non_negative_int, "0", 0)],
)  # fmt: skip
def test_value_types_accept(convert, text, expected):
    assert convert(text) == expected


@pytest.mark.parametrize(
    ("convert", "text"),
    [(non_negative_float, "-1"), (non_negative_float, "NaN"), (positive_int, "0"), (positive_int, "1.0"),
     (non_negative_int, "-2"), (non_negative_int, "")],
)  # fmt: skip
def test_value_types_refuse(convert, text):
    with pytest.raises(argparse.ArgumentTypeError):
        convert(text)
