"""Fuzzing every magic through a real IPython shell with hypothesis.

Each magic gets ``EXAMPLES`` option lines built from its real argparse options (so a new option is fuzzed without
touching this file), mixed with unknown, repeated and mistyped options, huge and negative numbers, unicode, braces,
quotes and missing variables, over empty, odd and very long bodies. Every cell must leave the shell alive and, if it
failed, fail with one short message: no traceback from inside ai_magics, no "failed unexpectedly" (an internal
bug), no warning or file path from the package. Problems are collected over all examples and reported together.

Valid lines run real models, kept cheap: a tiny random Llama (and a copy of it that ends most generations after a
token or two) for ``%%generate``, MiniLM for ``%%classify``, small frames for ``%%train``. A cell still running
after ``WATCHDOG_SECONDS`` gets a KeyboardInterrupt, as a kernel interrupt would, and must end with the package's
interrupt message.
"""

from __future__ import annotations

import _thread
import contextlib
import copy
import io
import json
import os
import re
import shlex
import shutil
import sys
import threading
import time
import warnings
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Iterator

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from IPython.core.error import UsageError

import ai_magics
from ai_magics import magics as magics_module
from ai_magics.arguments import non_negative_float, non_negative_int, positive_int
from ai_magics.config import get_settings
from ai_magics.errors import AIMagicsError
from ai_magics.plugins import get_plugin_host
from ai_magics.report import help_report
from ai_magics.tasks.runner import task_parser

pytestmark = pytest.mark.integration

EXAMPLES = int(os.environ.get("AI_MAGICS_FUZZ_EXAMPLES", "1000"))  # fewer for a quick local run
WATCHDOG_SECONDS = 2.0
REPEAT_INTERRUPT_SECONDS = 10.0  # a cell still running this long after an interrupt gets another (at most 3)
TRACE_FILE = os.environ.get("AI_MAGICS_FUZZ_TRACE")  # a JSONL path: every cell, its outcome and message
MAX_MESSAGE_CHARS = 600  # after removing what the user typed (the message may quote it)
MAX_MESSAGE_LINES = 4
MAX_WATCHDOG_SHARE = 0.05  # the watchdog may fire on at most this share of examples (about 0.3% here)
ALIVE_EVERY = 25  # run `1+1` after this many examples
PACKAGE_DIR = str(Path(ai_magics.__file__).resolve().parent)
PACKAGE_FILE = re.compile(r"ai_magics[/\\][\w/\\]+\.py")
FUZZ_SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=[
        HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much, HealthCheck.large_base_example,
    ],
)  # fmt: skip


# -- the fuzzed input ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FuzzCell:
    """One cell: the magic's line and body, and the values typed into the line (error messages may quote them)."""

    magic: str
    line: str
    body: str = ""
    echoes: tuple[str, ...] = ()
    cell_form: bool = True  # False: `%magic line` (the body must be empty)

    @property
    def source(self) -> str:
        if not self.cell_form:
            return f"%{self.magic} {self.line}".rstrip()
        return f"%%{self.magic} {self.line}".rstrip() + "\n" + self.body


@dataclass(frozen=True)
class OptionSpec:
    """One option of a magic's parser, as the fuzzer uses it."""

    flags: tuple[str, ...]
    dest: str
    takes: str  # "none" (a flag), "one" or "many" values
    number: str | None  # "int", "float" or None (text)


def parser_options(task: str) -> list[OptionSpec]:
    """Every option of ``task``'s real magic parser."""
    specs = []
    for action in task_parser(task)._actions:
        if not action.option_strings:
            continue
        takes = "none" if action.nargs == 0 else ("many" if action.nargs in ("+", "*") else "one")
        number = None
        if action.type in (positive_int, non_negative_int, int):
            number = "int"
        elif action.type in (non_negative_float, float):
            number = "float"
        specs.append(OptionSpec(tuple(action.option_strings), action.dest, takes, number))
    return specs


def ai_magics_commands() -> list[str]:
    """The subcommands of `%ai_magics`, read from its own help text (``plugins | models | ... | help [task]``)."""
    usage = next(line for line in help_report().splitlines() if line.startswith("%ai_magics "))
    return [part.split()[0] for part in usage.removeprefix("%ai_magics ").split("|")]


# Random text for option values: anything printable but line breaks, and no `{ } $ ( )`, which IPython would
# evaluate as Python in the magic line (braces and `$` are added from BRACES_AND_QUOTES, with names only).
LINE_TEXT = st.text(
    st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp"), blacklist_characters="{}$()"), max_size=24
)
BODY_TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=200)
BRACES_AND_QUOTES = [
    "{missing_var}", "{texts}", "{texts[0]}", "{texts[99]}", "{df.shape}", "{topic!r}", "{", "}", "{{", "}}", "{}",
    "{0}", "{ }", "{topic", "topic}", "$missing_var", "$topic", "$", "$$", '"', "'", '"unclosed', "'unclosed",
    "''", '""', "'it''s'", '"a\\"b"', "\\", "--", "-", "---x", "--=", "=", "é中文", "🙂", "\u200b", "\t", "a b",
    "Ω≈ç√", "\u202eevil", "ﬁ", "#comment", "?", "*", "~", ".", "..", "/", "NUL\\0",
]  # fmt: skip
EDGE_NUMBERS = [
    "0", "-0", "-1", "-3", "1", "2", "1000000000000", "-1000000000000", str(2**31), str(2**63 - 1), str(2**63),
    str(2**64), "9" * 30, "10**12", "1e308", "-1e308", "1e-320", "5e-324", "-0.0", "nan", "NaN", "-nan", "inf",
    "-inf", "Infinity", "1e999", "0x10", "0b1", "1_000", "٣", "５", "½", " 4", "4 ", "", "abc", "3.5", "1,2",
    "0.5", "1.0", "32768", "32769", "True", "None",
]  # fmt: skip
UNKNOWN_OPTIONS = ["--bogus", "-z", "--modle", "--max-new-token", "--label", "--epoch", "--tmp", "-", "--", "---",
                   "--model-", "--MODEL", "-mn", "-n-1", "--out=", "--data=", "—model", "－－model"]  # fmt: skip
PIECE_KINDS = ["option"] * 6 + ["bare option", "unknown option", "junk", "repeat", "tricky"]


def numbers() -> st.SearchStrategy[str]:
    """Number-ish text: mostly small whole numbers (cheap valid runs), else edge cases, floats and huge values."""
    return st.integers(0, 19).flatmap(
        lambda k: st.integers(-3, 12).map(str) if k < 10
        else st.sampled_from(EDGE_NUMBERS) if k < 15
        else st.floats(allow_nan=True, allow_infinity=True).map(repr) if k < 17
        else st.integers(-(10**30), 10**30).map(str)
    )  # fmt: skip


def weighted(pool: list[str], fallback: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """A value from ``pool`` 70% of the time, else from ``fallback``."""
    if not pool:
        return fallback
    return st.integers(0, 9).flatmap(lambda k: st.sampled_from(pool) if k < 7 else fallback)


def value_strategy(spec: OptionSpec, pools: dict[str, list[str]]) -> st.SearchStrategy[str]:
    """Values for one option: its pool (names that exist and that don't), typed junk, or random text."""
    junk = st.one_of(LINE_TEXT, st.sampled_from(BRACES_AND_QUOTES), numbers())
    if spec.number is not None:
        return weighted(pools.get(spec.dest, []), st.one_of(numbers(), numbers(), junk))
    return weighted(pools.get(spec.dest, []), junk)


def option_piece(draw: st.DrawFn, kind: str, spec: OptionSpec, pools: dict[str, list[str]]) -> tuple[str, list[str]]:
    """One option of the line as typed (quoted, raw or ``--flag=value``), and the values typed for it."""
    flag = draw(st.sampled_from(spec.flags))
    if spec.takes == "none" or kind == "bare option":
        return flag, []
    count = draw(st.integers(1, 3)) if spec.takes == "many" else 1
    values = [draw(value_strategy(spec, pools)) for _ in range(count)]
    style = draw(st.sampled_from(["quoted", "quoted", "quoted", "raw", "equals"]))
    if style == "raw":
        return " ".join([flag, *values]), values
    if style == "equals" and flag.startswith("--"):
        return f"{flag}={shlex.quote(values[0])} " + " ".join(map(shlex.quote, values[1:])), values
    return " ".join([flag, *map(shlex.quote, values)]), values


@st.composite
def option_lines(
    draw: st.DrawFn, options: list[OptionSpec], pools: dict[str, list[str]], bases: list[str]
) -> tuple[str, tuple[str, ...]]:
    """A magic line, returned with the values typed into it. Half are a valid base line with one option added
    or overridden (reaching the code behind the parser), a quarter a base line with 1-3 noisy pieces, a quarter
    noise alone: options with values, bare or unknown options, repeated pieces, junk words, braces and quotes."""
    mode = draw(st.sampled_from(["mutate", "mutate", "base and noise", "noise"]))
    pieces: list[str] = [draw(st.sampled_from(bases))] if mode != "noise" else []
    echoes: list[str] = []
    if mode == "mutate":
        piece, values = option_piece(draw, "option", draw(st.sampled_from(options)), pools)
        return f"{pieces[0]} {piece}", tuple(values)
    for _ in range(draw(st.integers(1, 3)) if mode != "noise" else draw(st.integers(0, 5))):
        kind = draw(st.sampled_from(PIECE_KINDS))
        if kind in ("option", "bare option"):
            piece, values = option_piece(draw, kind, draw(st.sampled_from(options)), pools)
            pieces.append(piece)
            echoes += values
        elif kind == "unknown option":
            pieces.append(draw(st.sampled_from(UNKNOWN_OPTIONS)) + draw(st.sampled_from(["", " 1", " x", "=3"])))
        elif kind == "repeat" and pieces:
            pieces.append(draw(st.sampled_from(pieces)))
        elif kind == "tricky":
            pieces.append(draw(st.sampled_from(BRACES_AND_QUOTES)))
        else:
            word = draw(LINE_TEXT)
            echoes.append(word)
            pieces.append(word)
    return " ".join(p.strip() for p in pieces if p.strip()), tuple(echoes)


def long_bodies() -> st.SearchStrategy[str]:
    """Bodies of tens of KB: one long line, or a few hundred lines, of repeated (partly unicode) text."""
    characters = st.characters(blacklist_categories=("Cs", "Cc", "Co", "Cn", "Zl", "Zp"))
    unit = st.text(characters, min_size=1, max_size=12)
    one_line = st.builds(lambda u, size: (u * (size // len(u) + 1))[:size], unit, st.integers(10_000, 20_000))
    line = st.text(characters, min_size=20, max_size=80)
    many_lines = st.builds(lambda u, n: "\n".join([u] * n), line, st.integers(150, 400))
    return st.one_of(one_line, many_lines)


def bodies(specific: list[str], blank_percent: int = 8) -> st.SearchStrategy[str]:
    """Cell bodies: mostly short (the magic's typical bodies, templates with braces, random unicode), sometimes
    empty or blank (``blank_percent``), and about 1 in 100 of tens of KB."""
    templates = [
        "Write one sentence about {topic}.", "{missing_var}", "{{literal}} braces", "{", "}", "{texts[0]}",
        "{texts[99]}", "{0}", "{}", "{topic!r:>10}", "{topic:%}", "{topic!z}", "{df}", "{nothing}", "{topic.upper}",
        "{topic[0]}", "{number:>99999999999}", "{{{topic}}}", "{ topic }", "$topic", "{__builtins__}",
    ]  # fmt: skip
    short = st.one_of(st.sampled_from(specific), st.sampled_from(templates), BODY_TEXT)
    blank = st.sampled_from(["", "", "", " ", "\n\n", "\t \n", "#", "# only a comment"])
    # hypothesis favours the low end of a range, so the rare long body sits in the middle of it
    return st.integers(0, 99).flatmap(
        lambda k: long_bodies() if k == 57
        else blank if k < blank_percent
        else st.lists(short, min_size=1, max_size=4).map("\n".join)
    )  # fmt: skip


def fuzz_cells(
    magic: str, options: list[OptionSpec], pools: dict[str, list[str]], bases: list[str], body_pool: list[str],
    blank_percent: int = 8,
) -> st.SearchStrategy[FuzzCell]:
    """Whole cells for ``magic``: a fuzzed line over a fuzzed body, as a cell magic or (empty body) a line magic."""

    def build(line_and_echoes: tuple[str, tuple[str, ...]], body: str, line_form: bool) -> FuzzCell:
        line, echoes = line_and_echoes
        return FuzzCell(magic, line, body, echoes, cell_form=bool(body) or not line_form)

    line_form = st.integers(0, 9).map(lambda k: k < 8)
    return st.builds(build, option_lines(options, pools, bases), bodies(body_pool, blank_percent), line_form)


# -- running one cell and judging it -------------------------------------------------------------------------


class Watchdog:
    """Delivers a KeyboardInterrupt to the main thread if the block runs longer than ``seconds`` (again every
    REPEAT_INTERRUPT_SECONDS, at most 3 times), as a kernel interrupt would."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.fired = 0
        self._armed = False
        self._lock = threading.Lock()
        self._timer: threading.Timer | None = None

    def _start(self, seconds: float) -> None:
        self._timer = threading.Timer(seconds, self._fire)
        self._timer.daemon = True
        self._timer.start()

    def _fire(self) -> None:
        with self._lock:
            if not self._armed:
                return
            self.fired += 1
            _thread.interrupt_main()
            if self.fired < 3:
                self._start(REPEAT_INTERRUPT_SECONDS)

    def __enter__(self) -> Watchdog:
        self._armed = True
        self._start(self.seconds)
        return self

    def __exit__(self, *exc: object) -> None:
        with self._lock:
            self._armed = False
            if self._timer is not None:
                self._timer.cancel()


@dataclass
class Outcome:
    """What one cell did: ``kind`` is ok, error, interrupted or late-interrupt; ``problems`` are failures."""

    kind: str
    problems: list[str]
    seconds: float
    interrupts: int
    message: str = ""


def without_echoes(message: str, echoes: tuple[str, ...]) -> str:
    """The message less what the user typed: quoted parts and the line's values may be as long as the user likes."""
    for value in sorted((e for e in echoes if len(e) >= 4), key=len, reverse=True):
        message = message.replace(value, "").replace(repr(value)[1:-1], "")
    return re.sub(r"'[^'\n]*'|\"[^\"\n]*\"", "''", message)


def message_problems(message: str, echoes: tuple[str, ...], bug_reported: bool = False) -> list[str]:
    """Why an error message is not one short paragraph for the user (empty if it is)."""
    problems = []
    if ("failed unexpectedly" in message or "last_traceback()" in message) and not bug_reported:
        problems.append(f"unexpected error (internal bug): {message[:300]}")
    if "Traceback" in message or PACKAGE_DIR in message or PACKAGE_FILE.search(message):
        problems.append(f"message shows a traceback or package file: {message[:300]}")
    short = without_echoes(message, echoes)
    if len(short) > MAX_MESSAGE_CHARS or "\n\n" in short.strip() or short.count("\n") >= MAX_MESSAGE_LINES:
        problems.append(f"message is not one short paragraph ({len(short)} chars, {short.count(chr(10)) + 1} lines): "
                        f"{message[:300]}")  # fmt: skip
    if not message.strip():
        problems.append("empty error message")
    return problems


def output_problems(text: str) -> list[str]:
    """Tracebacks or package file paths in what the cell printed."""
    problems = []
    if "Traceback (most recent call last)" in text:
        tail = text[text.index("Traceback (most recent call last)") :].strip().splitlines()
        problems.append("traceback printed: " + " | ".join(tail[-3:])[:300])
    for line in text.splitlines():
        if PACKAGE_DIR in line or PACKAGE_FILE.search(line):
            problems.append(f"package file shown in the output: {line.strip()[:300]}")
            break
    return problems


def warning_problems(caught: list[warnings.WarningMessage]) -> list[str]:
    """Warnings raised from the package's own code (users would see them with a package path)."""
    return [
        f"warning from the package: {w.category.__name__}: {w.message} ({Path(w.filename).name}:{w.lineno})"
        for w in caught
        if str(Path(w.filename).resolve()).startswith(PACKAGE_DIR)
    ]


def first_package_frame(trace: str) -> str:
    """Where a traceback left the package (its innermost ai_magics frame) and the exception's first line."""
    lines = trace.strip().splitlines()
    frames = [i for i, line in enumerate(lines) if line.startswith("  File ")]
    inside = [lines[i].strip() for i in frames if PACKAGE_DIR in lines[i]]
    where = inside[-1].replace(PACKAGE_DIR, "ai_magics") if inside else "?"
    after = [line for line in lines[(frames[-1] if frames else -1) + 1 :] if not line.startswith(" ")]
    return f"{where}: {(after[0] if after else lines[-1])[:200]}"


def run_cell_checked(shell: Any, cell: FuzzCell) -> Outcome:
    """Run ``cell`` under the watchdog with stdout/stderr captured; judge the result."""
    before = magics_module.last_traceback()
    out, err = io.StringIO(), io.StringIO()
    saved = sys.stdout, sys.stderr
    dog = Watchdog(WATCHDOG_SECONDS)
    result = None
    caught: list[warnings.WarningMessage] = []
    started = time.perf_counter()
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            sys.stdout, sys.stderr = out, err
            with dog:
                result = shell.run_cell(cell.source, store_history=False)
            if dog.fired:
                time.sleep(0.05)  # an interrupt sent just before the cell returned lands here, not in the next cell
    except KeyboardInterrupt:
        if not dog.fired:
            raise  # a real Ctrl-C stops the test run
    finally:
        sys.stdout, sys.stderr = saved
    seconds = time.perf_counter() - started
    printed = out.getvalue() + err.getvalue()
    problems = output_problems(printed) + warning_problems(caught)
    after = magics_module.last_traceback()
    bug = after is not None and after is not before
    if bug:
        problems.append(f"unexpected error (internal bug) at {first_package_frame(after)}")
    if dog.fired > 1:
        problems.append(f"still running {REPEAT_INTERRUPT_SECONDS:.0f} s after an interrupt ({seconds:.1f} s in all)")
    if result is None:  # the interrupt arrived as the cell returned: nothing to judge but the output
        return Outcome("late-interrupt", problems, seconds, dog.fired)
    error = result.error_before_exec or result.error_in_exec
    if error is None:
        return Outcome("ok", problems, seconds, dog.fired)
    message = str(error)
    if isinstance(error, KeyboardInterrupt) and dog.fired:
        # IPython's own code (not the magic) was interrupted: IPython prints its KeyboardInterrupt traceback.
        inside = [p for p in problems if not p.startswith("traceback printed")]
        return Outcome("late-interrupt", inside, seconds, dog.fired)
    if not isinstance(error, (UsageError, AIMagicsError)):
        problems.append(f"error of type {type(error).__name__} (expected UsageError/AIMagicsError): {message[:300]}")
    problems += message_problems(message, cell.echoes + (cell.line,), bug_reported=bug)
    if dog.fired and not message.startswith("Interrupted"):
        problems.append(f"an interrupt ended with another message than the package's interrupt one: {message[:300]}")
    return Outcome("interrupted" if dog.fired else "error", problems, seconds, dog.fired, message)


def shell_alive(shell: Any) -> bool:
    """Whether the shell still runs plain Python."""
    result = shell.run_cell("1+1", store_history=False)
    return result.success and result.result == 2


# -- collecting results over all examples --------------------------------------------------------------------


@dataclass
class FuzzLog:
    """Counts per outcome, and every distinct problem with the first cell that showed it."""

    magic: str
    counts: Counter[str] = field(default_factory=Counter)
    problems: dict[str, tuple[str, str]] = field(default_factory=dict)
    slowest: list[tuple[float, str]] = field(default_factory=list)

    def record(self, cell: FuzzCell, outcome: Outcome) -> None:
        if TRACE_FILE:
            with open(TRACE_FILE, "a", encoding="utf-8") as trace:
                row = {"cell": shorten(cell.source, 400), "kind": outcome.kind, "seconds": round(outcome.seconds, 3),
                       "message": outcome.message[:300], "problems": outcome.problems}  # fmt: skip
                trace.write(json.dumps(row, ensure_ascii=False) + "\n")
        self.counts["examples"] += 1
        self.counts[outcome.kind] += 1
        self.counts["watchdog fired"] += bool(outcome.interrupts)
        if outcome.kind == "error" and outcome.message.startswith(f"%%{self.magic}:"):
            self.counts["option parse errors"] += 1
        for problem in outcome.problems:
            key = re.sub(r"\d+|'[^']*'", "#", problem)[:120]
            self.problems.setdefault(key, (problem, cell.source))
        self.slowest = sorted([*self.slowest, (outcome.seconds, cell.source)], reverse=True)[:3]

    def problem(self, text: str, source: str) -> None:
        self.problems.setdefault(text, (text, source))

    def report(self) -> str:
        lines = [f"{len(self.problems)} distinct problem(s) in {self.counts['examples']} %{self.magic} examples:"]
        for problem, source in self.problems.values():
            lines.append(f"- {problem}\n    cell: {shorten(source)!r}")
        return "\n".join(lines)

    def summary(self) -> str:
        counts = ", ".join(f"{k} {v}" for k, v in sorted(self.counts.items()))
        slow = "; ".join(f"{s:.1f} s: {shorten(c, 80)!r}" for s, c in self.slowest)
        return f"[fuzz %{self.magic}] {counts}. Slowest: {slow}"


def shorten(text: str, limit: int = 240) -> str:
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} chars)"


# -- the shell, variables, files and models the fuzzed cells can use ---------------------------------------


def sample_variables() -> dict[str, Any]:
    """Notebook variables for interpolation and --data/--conversation: valid ones and wrong kinds."""
    import pandas as pd

    texts = ["I loved this film.", "Terrible service, never again.", "The match ended in a draw."]
    df = pd.DataFrame(
        {
            "text": ["great film", "awful plot", "lovely cast", "boring", "superb", "dull", "fun ride", "bad acting"],
            "label": ["pos", "neg", "pos", "neg", "pos", "neg", "pos", "neg"],
            "num": [1.0, 2.5, 3.0, 0.5, 4.0, 1.5, 3.5, 0.0],
        }
    )
    nums = pd.DataFrame(
        {
            "x1": [0.1, 0.5, 0.9, 1.3, 1.7, 2.1, 2.5, 2.9],
            "x2": [1.0, 0.0, 1.0, 0.0, 1.0, 0.0, 1.0, 0.0],
            "y": ["a", "b", "a", "b", "a", "b", "a", "b"],
        }
    )
    return {
        "texts": texts, "df": df, "nums": nums, "series": pd.Series(texts), "topic": "the moon", "number": 3,
        "nothing": None, "chat_history": [], "bad_history": [{"role": "robot", "content": 1}],
        "empty_list": [], "mixed": ["text", 3, None],
    }  # fmt: skip


@dataclass
class FuzzEnv:
    """The shared shell plus what the fuzzed cells may name."""

    shell: Any
    tiny: str  # tiny random Llama: generates up to --max-new-tokens
    quick: str  # the same model ending most generations after a token or two
    workdir: Path
    variables: dict[str, Any]
    files: dict[str, str]

    def restore(self, snapshot: dict[str, Any]) -> list[str]:
        """Put the namespace back as it was before a cell (so examples do not change each other's data);
        returns the data variables the cell changed in place (the package must never do that)."""
        ns = self.shell.user_ns
        mutated = [
            name for name in DATA_VARIABLES
            if ns.get(name) is snapshot.get(name) and not _same(ns.get(name), self.variables[name])
        ]  # fmt: skip
        for name in [n for n in ns if n not in snapshot]:
            del ns[name]
        ns.update(snapshot)
        ns.update(copy.deepcopy(self.variables))
        return mutated


DATA_VARIABLES = ("texts", "df", "nums", "series")


def _same(a: Any, b: Any) -> bool:
    import pandas as pd

    if isinstance(b, pd.DataFrame | pd.Series):
        return isinstance(a, type(b)) and a.equals(b)
    try:
        return bool(a == b)
    except Exception:
        return False


def write_files(folder: Path) -> dict[str, str]:
    """Data files for --data, and paths of the wrong kind for --model and --save."""
    (folder / "data.csv").write_text("x1,x2,y\n0.1,1,a\n0.5,0,b\n0.9,1,a\n1.3,0,b\n", encoding="utf-8")
    (folder / "data.jsonl").write_text("\n".join(json.dumps({"x1": i / 3, "y": "ab"[i % 2]}) for i in range(6)))
    (folder / "notes.txt").write_text("first line of text\nsecond line\n", encoding="utf-8")
    (folder / "broken.csv").write_text('a,b,"\n1,2\n\x00\xff', encoding="utf-8")
    (folder / "blob.bin").write_bytes(bytes(range(256)) * 4)
    (folder / "empty_dir").mkdir(exist_ok=True)
    (folder / "not_a_model").mkdir(exist_ok=True)
    (folder / "not_a_model" / "config.json").write_text("{not json", encoding="utf-8")
    return {name: str(folder / name) for name in ("data.csv", "data.jsonl", "notes.txt", "broken.csv", "blob.bin",
                                                   "empty_dir", "not_a_model")}  # fmt: skip


def make_quick_model(tiny: Path, folder: Path) -> Path:
    """A copy of the tiny Llama whose generation config counts every even token id as end-of-sequence, so most
    generations end after a token or two (keeps thousands of valid %%generate cells cheap)."""
    target = folder / "quick-llama"
    shutil.copytree(tiny, target, dirs_exist_ok=True)
    config = json.loads((target / "config.json").read_text())
    generation = json.loads((target / "generation_config.json").read_text())
    generation["eos_token_id"] = list(range(0, int(config["vocab_size"]), 2))
    (target / "generation_config.json").write_text(json.dumps(generation))
    return target


def run_valid(shell: Any, source: str) -> Any:
    """Run a cell that must work (warm-up and final checks); fail with its message if it does not."""
    result = shell.run_cell(source, store_history=False)
    error = result.error_before_exec or result.error_in_exec
    assert error is None, f"{source!r} failed: {error}"
    return result.result


@pytest.fixture(scope="module")
def fuzz_env(shell: Any, tiny_causal_lm_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[FuzzEnv]:
    """The shared shell, in a scratch folder (cells may --save there), one torch thread (the tiny models run
    faster so on 2 busy cores), %%generate defaulting to the quick tiny model, and warm models."""
    import torch

    workdir = tmp_path_factory.mktemp("fuzz-magics")
    quick = make_quick_model(tiny_causal_lm_dir, tmp_path_factory.mktemp("quick"))
    settings_object = get_settings()
    old_cwd, old_threads, old_model = Path.cwd(), torch.get_num_threads(), settings_object.default_model
    os.chdir(workdir)
    torch.set_num_threads(1)
    settings_object.default_model = str(quick)
    variables = sample_variables()
    shell.user_ns.update(copy.deepcopy(variables))
    env = FuzzEnv(shell, str(tiny_causal_lm_dir), str(quick), workdir, variables, write_files(workdir))
    try:
        for dtype in ("float32", "bfloat16", "float16"):
            run_valid(shell, f"%%generate --model {env.tiny} --dtype {dtype} -n 2 -t 0\nwarm up")
        run_valid(shell, "%%generate -n 2\nwarm up")
        run_valid(shell, "%%classify --labels a,b\nwarm up")
        run_valid(shell, f"%%classify --labels a,b --model {env.quick}\nwarm up")
        run_valid(shell, "%train --data nums --target y --epochs 1 --name fuzz_tab")
        run_valid(shell, f"%train --task text-classification --data df --target label --model {env.tiny} "
                         "--max-steps 1 --name fuzz_txt")  # fmt: skip
        run_valid(shell, f"%train --task causal-lm --data texts --model {env.quick} --max-steps 1 --lora "
                         "--lora-rank 2 --name fuzz_lm")  # fmt: skip
        yield env
    finally:
        os.chdir(old_cwd)
        torch.set_num_threads(old_threads)
        settings_object.default_model = old_model


def common_pools(env: FuzzEnv) -> dict[str, list[str]]:
    """Values for options every magic may have: existing names and paths, and wrong ones."""
    files = env.files
    models = [env.quick] * 4 + [env.tiny, "minilm", "fuzz_tab", "fuzz_txt", "fuzz_lm", "nosuchmodel", "org/name",
              "org/name@main", "a/b/c", "./missing", "/nonexistent/model.gguf", files["blob.bin"], files["empty_dir"],
              files["not_a_model"], "", " ", "~", "..", "trained:fuzz_tab"]  # fmt: skip
    return {
        "model": models,
        "device": ["cpu", "cpu", "auto", "cuda", "cuda:0", "cuda:-1", "cuda:99", "mps", "cpu:0", "tpu", "", "CPU"],
        "dtype": ["auto", "float32", "fp32", "bfloat16", "bf16", "float16", "fp16", "int8", "float64", "", "half"],
        "backend": ["transformers", "transformers", "llama.cpp", "openai", "trained", "gguf", "", "TRANSFORMERS"],
        "out": ["result", "result", "out_1", "é", "_", "texts", "df", "1x", "a-b", "", "class", "None", "def",
                "a b", "In", "x" * 300],
        "data": ["texts", "df", "nums", "series", "nothing", "number", "empty_list", "mixed", "missing_var",
                 "data.csv", files["data.csv"], "data.jsonl", "notes.txt", "broken.csv", "blob.bin", "empty_dir",
                 "nofile.csv", "/nonexistent/x.csv", "", "topic"],
        "column": ["text", "label", "num", "x1", "y", "missing", "", "TEXT"],
        "seed": ["0", "1", "42", str(2**63 - 1), str(2**63), "-1"],
    }  # fmt: skip


# -- the tests: one per magic --------------------------------------------------------------------------------


def fuzz(env: FuzzEnv, log: FuzzLog, cells: st.SearchStrategy[FuzzCell], examples: list[FuzzCell]) -> None:
    """Run ``EXAMPLES`` fuzzed cells (plus ``examples``, cases found before) and record every outcome in ``log``."""

    def check(cell: FuzzCell) -> None:
        snapshot = dict(env.shell.user_ns)
        outcome = run_cell_checked(env.shell, cell)
        mutated = env.restore(snapshot)
        if mutated:
            outcome.problems.append(f"the cell changed notebook data in place: {', '.join(mutated)}")
        log.record(cell, outcome)
        if log.counts["examples"] % ALIVE_EVERY == 0 and not shell_alive(env.shell):
            log.problem("the shell no longer runs `1+1`", cell.source)

    runner = given(cell=cells)(check)
    for cell in examples:
        runner = example(cell=cell)(runner)
    FUZZ_SETTINGS(runner)()
    print("\n" + log.summary())


def assert_fuzz_clean(env: FuzzEnv, log: FuzzLog) -> None:
    """The acceptance checks over all examples of one magic."""
    assert log.counts["examples"] >= EXAMPLES, log.summary()
    if log.problems:
        pytest.fail(log.report() + "\n" + log.summary(), pytrace=False)
    assert log.counts["ok"] >= EXAMPLES // 20, f"too few valid cells to exercise the models: {log.summary()}"
    assert log.counts["error"] >= EXAMPLES // 5, f"too few failing cells: {log.summary()}"
    assert log.counts["watchdog fired"] <= MAX_WATCHDOG_SHARE * log.counts["examples"], log.summary()
    assert shell_alive(env.shell)


def test_fuzz_generate(fuzz_env: FuzzEnv) -> None:
    env = fuzz_env
    pools = common_pools(env) | {
        "max_new_tokens": ["1", "2", "3", "5", "0", "-5", "1000000000000", "32768", "32769", "10**12", "2.5"],
        "temperature": ["0", "0", "0.7", "1", "1.5", "100", "100.1", "1e-300", "-0.5", "nan", "inf", "1e308"],
        "top_p": ["0.9", "1", "0.5", "0", "1.5", "1e-9", "nan", "-inf"],
        "top_k": ["0", "1", "50", "1000000000000", "-1"],
        "stop": [" ", ".", "\\n", "", "the", "é中", "{", "'", "x" * 1000],
        "system": ["You are terse.", "", " ", "é中文🙂", "{topic}", "x" * 5000],
        "conversation": ["chat_history", "chat_history", "new_chat", "bad_history", "texts", "df", "topic", "1x", ""],
    }
    bases = [
        "-n 2", "-n 3 -t 0", f"--model {env.quick} -n 2 --seed 1", f"--model {env.tiny} -n 3 -t 0 --no-chat",
        "-n 2 --top-k 5 --top-p 0.5 -t 1.5", "-n 2 --system 'Be brief.'", "-n 2 -c chat_history", "-n 2 -o result",
        "-n 2 --stop ' '", "--no-chat -n 1", f"-m {env.tiny} -n 2 --stop e",
    ]  # fmt: skip
    body_pool = ["Hello", "The quick brown fox", "你好，我想要订一张从北京到上海的机票。", "Write about {topic}."]
    cells = fuzz_cells("generate", parser_options("generate"), pools, bases, body_pool)
    found = [
        FuzzCell("generate", f"-m {env.quick} -n 3 -t 1e-300", "hi", ("1e-300",)),
        FuzzCell("generate", f"-m {env.tiny} -n 32768 -t 0", "hi", ("32768",)),
    ]
    log = FuzzLog("generate")
    fuzz(env, log, cells, found)
    final = f"%%generate --model {env.tiny} -n 3 -t 0 --no-chat --out fuzz_final\nThe quick brown fox"
    text = run_valid(env.shell, final)
    assert isinstance(env.shell.user_ns["fuzz_final"], str) and env.shell.user_ns["fuzz_final"] == text
    assert len(text) > 0
    assert_fuzz_clean(env, log)


def test_fuzz_classify(fuzz_env: FuzzEnv) -> None:
    env = fuzz_env
    pools = common_pools(env) | {
        "labels": ["a,b", "pos,neg", "sports politics", "positive=This is great.", "negative=This is awful.",
                   '"arts, culture",sports', "a", "a,a", "=x", "x=", ",", ",,a", "é,中", "{label}", "a" * 2000],
        "template": ["This is {label}.", "{label}", "{", "{label", "{x}", "{label}{label}", "{label!r}",
                     "{label:>99999999999}", "{label.upper}", "{}", "{0}", "", "no placeholder", "{{label}}"],
        "threshold": ["0", "0.5", "1", "1.5", "-0.1", "nan"],
        "temperature": ["0.03", "1", "0", "1e-320", "1e308", "nan", "inf"],
        "batch_size": ["1", "2", "32", "0", "1000000000000"],
    }  # fmt: skip
    bases = ["--labels a,b", "--labels positive negative", "-l 'sports=about sport' 'politics=about government'",
             "--labels a b --multi-label --threshold 0.3", "--labels a,b --data texts", "--labels a,b -d df -c text",
             f"--labels a,b --model {env.quick}", "--model fuzz_tab --data nums", "--model fuzz_txt --data texts",
             "--model fuzz_txt", "--labels a,b --batch-size 1 --temperature 0.1"]  # fmt: skip
    body_pool = ["The striker scored twice.\nParliament passed the budget.", "I loved it", "Awful service",
                 "great film\nboring plot\n\n  \nfun ride", "{topic}"]  # fmt: skip
    cells = fuzz_cells("classify", parser_options("classify"), pools, bases, body_pool)
    found = [
        FuzzCell("classify", "--labels a b --temperature 1e-320", "x", ("1e-320",)),
        FuzzCell("classify", "--labels a b --model smollm2 --backend llama.cpp", "x", ("smollm2", "llama.cpp")),
    ]
    log = FuzzLog("classify")
    fuzz(env, log, cells, found)
    frame = run_valid(env.shell, "%%classify --labels sports,politics --out fuzz_final\nThe striker scored twice.\n"
                                 "Parliament passed the budget after a long debate.")  # fmt: skip
    assert list(frame["label"]) == ["sports", "politics"], frame
    assert env.shell.user_ns["fuzz_final"] is frame
    assert_fuzz_clean(env, log)


def test_fuzz_train(fuzz_env: FuzzEnv) -> None:
    env = fuzz_env
    common = common_pools(env)
    pools = common | {
        "task": ["tabular", "tabular", "text-classification", "causal-lm", "Tabular", "regression", ""],
        "data": common["data"] + ["nums", "nums", "df"],
        "model": [env.quick, env.tiny, env.quick] + common["model"],
        "target": ["y", "y", "label", "x1", "num", "text", "missing", ""],
        "text_column": ["text", "label", "num", "missing", ""],
        "prompt_column": ["text", "label", "missing", ""],
        "features": ["x1,x2", "x1", "x2", "", ",,", "missing", "y", "x1,x1", "x1,,x2", "text,num"],
        "loss": ["ce", "mse", "nll", "CE", "hinge", ""],
        "optimizer": ["sgd", "gd", "adam", "adamw", "lbfgs", ""],
        "objective": ["auto", "classification", "regression", "ranking", ""],
        "hidden": ["0", "1", "8", "64", "8,4", "-1", "1,,2", "abc", "", "0,0", "1000000000000", "9" * 26, "4,-4"],
        "epochs": ["1", "2", "3", "0", "-3", "1000000000000", "2.5"],
        "max_steps": ["1", "2", "0", "-1", "1000000000000"],
        "batch_size": ["1", "2", "4", "0", "1000000000000"],
        "lr": ["0.01", "0.1", "1", "0", "-0.1", "1e308", "1e-320", "nan", "inf"],
        "val": ["0", "0.25", "0.5", "0.99", "1", "-0.1", "nan"],
        "lora_rank": ["1", "2", "0", "1000000000000"],
        "max_length": ["8", "16", "0", "1000000000000"],
        "name": ["fuzz_model", "fuzz_model", "é中", "", " ", "a/b", "minilm", "smollm2", "fuzz_tab", "x" * 300],
        "save": ["saved_model", "saved_model", "saved/nested/dir", "empty_dir", "data.csv", "not_a_model",
                 "/proc/forbidden/x", ""],
    }  # fmt: skip
    tabular = [
        "--data nums --target y --epochs 2", "--data nums --target x1 --loss mse --epochs 2 --features x2",
        "--data nums --target y --hidden 0 --optimizer gd --epochs 3", "--data nums --target y --val 0.25 --epochs 1",
        "--target y --epochs 1", "--data data.csv --target y --epochs 1", "--data data.jsonl --target y --epochs 1",
        "--data nums --target y --epochs 1 --name fuzz_model --out run", "--data df --target label --features num",
    ]  # fmt: skip
    # fine-tuning runs cost ~0.5 s each (tokenizer and model set-up), so they get a small share of the base lines
    bases = tabular * 4 + [
        f"--task text-classification --data df --target label --model {env.tiny} --max-steps 1",
        f"--task causal-lm --data texts --model {env.quick} --max-steps 1 --max-length 16",
        f"--task causal-lm --data texts --model {env.quick} --max-steps 1 --lora --lora-rank 2",
    ]  # fmt: skip
    body_pool = ["x1,y\n1,a\n2,b\n3,a\n4,b", "x1,x2,y\n0.1,1,a\n0.5,0,b\n0.9,1,a", 'a,b,"\n1,2', "x1,y\n1,\n2,b",
                 "x1,y\n1,a\n1e999,b", "y\na\nb", "# comment\nx1,y\n1,a\n2,b"]  # fmt: skip
    cells = fuzz_cells("train", parser_options("train"), pools, bases, body_pool, blank_percent=55)
    found = [
        FuzzCell("train", "--data nums --target y --hidden 1000000000000", "", ("1000000000000",), cell_form=False),
        FuzzCell("train", f"--data nums --target y --hidden {'9' * 26}", "", ("9" * 26,), cell_form=False),
        FuzzCell("train", f"--data nums --target y --seed {'9' * 26}", "", ("9" * 26,), cell_form=False),
        FuzzCell("train", f"--task text-classification --data df --target label --model {env.tiny} --max-steps 1 "
                          "-m ..", "", (), cell_form=False),  # fmt: skip
        FuzzCell("train", f"--data nums --target y --epochs 1 --name {'x' * 300}", "", ("x" * 300,), cell_form=False),
        FuzzCell("train", f"--task causal-lm --data texts --model {env.quick} --lora --lora-rank 1000000000000 "
                          "--max-steps 1", "", ("1000000000000",), cell_form=False),  # fmt: skip
    ]
    log = FuzzLog("train")
    fuzz(env, log, cells, found)
    run_valid(env.shell, "%train --data nums --target y --epochs 3 --name fuzz_final_model --out fuzz_final")
    run = env.shell.user_ns["fuzz_final"]
    assert run.steps == 3 and run.name == "fuzz_final_model", run
    frame = run_valid(env.shell, "%classify --model fuzz_final_model --data nums")
    assert len(frame) == len(env.variables["nums"]) and set(frame["label"]) <= {"a", "b"}
    assert_fuzz_clean(env, log)


def test_fuzz_ai_magics_line_magic(fuzz_env: FuzzEnv) -> None:
    env = fuzz_env
    commands = ai_magics_commands()
    assert {"plugins", "models", "cache", "clear", "help"} <= set(commands)
    words = st.one_of(
        st.sampled_from(commands), st.sampled_from(["generate", "classify", "train", "nosuchtask", "HELP", "--help"]),
        st.sampled_from(BRACES_AND_QUOTES), LINE_TEXT, numbers(),
    )  # fmt: skip

    def build(first: str, rest: list[str], cell_form: bool) -> FuzzCell:
        line = " ".join([first, *rest])
        return FuzzCell("ai_magics", line, "x" if cell_form else "", (line, *rest), cell_form=cell_form)

    cell_form = st.integers(0, 19).map(lambda k: k == 13)  # `%%ai_magics`, 1 in 20 (not the favoured 0)
    cells = st.builds(build, st.one_of(st.sampled_from(commands), words), st.lists(words, max_size=4), cell_form)
    log = FuzzLog("ai_magics")
    fuzz(env, log, cells, [FuzzCell("ai_magics", "help {x}", cell_form=False)])
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        run_valid(env.shell, "%ai_magics help generate")
        run_valid(env.shell, "%ai_magics cache")
    assert "--max-new-tokens" in out.getvalue() and "hits" in out.getvalue()
    assert_fuzz_clean(env, log)


def test_a_new_option_is_fuzzed_without_changing_this_file(monkeypatch: pytest.MonkeyPatch) -> None:
    """The fuzzer reads each magic's real parser, so an option a task (or plugin) adds is fuzzed too."""
    tasks = get_plugin_host().registry.tasks
    task = tasks["generate"]

    def add_arguments(parser: Any) -> None:
        task.add_arguments(parser)
        parser.add_argument("--brand-new", "-B", type=positive_int, default=1)

    monkeypatch.setitem(tasks, "generate", replace(task, add_arguments=add_arguments))
    specs = {spec.dest: spec for spec in parser_options("generate")}
    assert specs["brand_new"] == OptionSpec(("--brand-new", "-B"), "brand_new", "one", "int")
    assert specs["temperature"].number == "float" and specs["stop"].takes == "one" and specs["chat"].takes == "none"
    assert parser_options("classify")[0].flags == ("-h", "--help")
    assert {spec.dest for spec in parser_options("classify")} >= {"labels", "data", "threshold", "template"}
    assert next(spec for spec in parser_options("classify") if spec.dest == "labels").takes == "many"
