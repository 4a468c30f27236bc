"""Real terminal IPython (prompt_toolkit) in a pseudo-terminal: plain streamed text and a progress bar, no widget
reprs, and Ctrl-C stops a generation with the partial text kept."""

from __future__ import annotations

import os
import re
import signal
import sys
import time
from pathlib import Path

import pytest

pexpect = pytest.importorskip("pexpect")

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
TRANSCRIPT = ROOT / "test-artifacts" / "terminal" / "ipython-session.txt"
ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07]*\x07|\x1b[=>()][0-9A-B]?")
PROMPT = "The quick brown fox jumps over the lazy dog"
WIDGET_REPRS = ("VBox(", "HBox(", "HTML(value", "IntProgress(", "Button(", "Output(", "widget-view", "<ai_magics.")
SEED_DATA = (
    "import numpy as np, pandas as pd; rng = np.random.default_rng(0); X = rng.normal(size=(100, 10)); "
    "w = rng.normal(size=10); df = pd.DataFrame(X.round(3), columns=[f'x{i}' for i in range(1, 11)]); "
    "df['y'] = (X @ w > 0).astype(int)"
)


def registered_tasks() -> set[str]:
    from ai_magics.plugins import PluginHost

    return set(PluginHost().registry.tasks)


def default_sigint() -> None:
    """In the child before exec: SIGINT back to its default, as in a user's terminal (a test run started in the
    background has it ignored, and an ignored signal stays ignored across exec, so Ctrl-C would do nothing)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


class Terminal:
    """Terminal IPython in a pty; everything it prints is kept, and matched with its escape codes removed."""

    def __init__(self, ipython_dir: Path) -> None:
        env = dict(os.environ, TERM="xterm-256color", PROMPT_TOOLKIT_NO_CPR="1", HF_HUB_OFFLINE="1",
                   TRANSFORMERS_OFFLINE="1", TOKENIZERS_PARALLELISM="false", COLUMNS="160", LINES="40")  # fmt: skip
        env.setdefault("IPYTHONDIR", str(ipython_dir))  # a fresh profile, unless one is chosen explicitly
        self.child = pexpect.spawn(
            sys.executable, ["-m", "IPython", "--no-banner", "--colors=NoColor", "--HistoryManager.enabled=False",
                             "--TerminalInteractiveShell.confirm_exit=False"],
            env=env, cwd=str(ROOT), encoding="utf-8", codec_errors="replace", timeout=30, dimensions=(40, 160),
            preexec_fn=default_sigint,
        )  # fmt: skip
        self.raw = ""
        self.count = 1

    @property
    def text(self) -> str:
        return ANSI.sub("", self.raw).replace("\r", "")

    def wait(self, pattern: str, timeout: float = 300, since: int = 0) -> re.Match:
        """Until ``pattern`` appears in the cleaned output after position ``since``."""
        deadline = time.monotonic() + timeout
        while True:
            match = re.search(pattern, self.text[since:])
            if match:
                return match
            if time.monotonic() > deadline:
                raise AssertionError(f"{pattern!r} not seen within {timeout} s; output so far:\n{self.text[-3000:]}")
            try:
                self.raw += self.child.read_nonblocking(65536, timeout=0.2)
            except pexpect.TIMEOUT:
                pass

    def wait_prompt(self, timeout: float = 300) -> None:
        self.wait(rf"In \[{self.count}\]:", timeout)

    def cell(self, source: str, wait: bool = True, timeout: float = 300) -> str:
        """Type a cell (Esc-Enter runs a multi-line cell); return its output once the next prompt shows."""
        self.wait_prompt()
        start = len(self.text)
        lines = source.split("\n")
        for line in lines:
            self.child.send(line + "\r")
        if len(lines) > 1:
            self.child.send("\x1b\r")
        self.count += 1
        if not wait:
            return ""
        self.wait(rf"In \[{self.count}\]:", timeout, since=start)
        return self.output_since(start)

    def output_since(self, start: int) -> str:
        """What was printed after position ``start``, without the echoed input lines and prompts."""
        out = self.text[start:]
        out = re.split(rf"In \[{self.count}\]:", out)[0]
        kept = [line for line in out.split("\n") if not re.match(r"\s*(In \[\d+\]:|\.\.\.:)", line)]
        return "\n".join(kept)

    def close(self) -> None:
        TRANSCRIPT.parent.mkdir(parents=True, exist_ok=True)
        TRANSCRIPT.write_text(self.text, encoding="utf-8")
        if self.child.isalive():
            self.child.sendline("exit")
            try:
                self.child.expect(pexpect.EOF, timeout=30)
            except pexpect.TIMEOUT:
                self.child.terminate(force=True)


@pytest.fixture(scope="module")
def terminal(tmp_path_factory):
    term = Terminal(tmp_path_factory.mktemp("ipython"))
    try:
        term.wait_prompt(timeout=120)
        term.cell("%load_ext ai_magics")
        yield term
    finally:
        term.close()


def test_generate_streams_plain_text_without_widget_reprs(terminal: Terminal):
    out = terminal.cell(f"%%generate -n 16 --temperature 0 --no-chat --out fox\n{PROMPT}")
    assert re.search(r"\[16 tokens in [\d.]+ s \([\d.]+ tok/s\)\]", out), out
    assert not any(r in out for r in WIDGET_REPRS), out
    fox = eval(terminal.cell("print(repr(fox))").strip().splitlines()[-1])  # noqa: S307 (our own repr)
    assert fox.strip(), "nothing was generated"
    assert " ".join(fox.split()) in " ".join(out.split()), (fox, out)


def test_ctrl_c_stops_generation_and_keeps_partial_text(terminal: Terminal):
    # Greedy decoding starts the same way every time: a short run shows the first words to wait for.
    terminal.cell(f"%%generate -n 6 --temperature 0 --no-chat --out head\n{PROMPT}")
    head = eval(terminal.cell("print(repr(head))").strip().splitlines()[-1])  # noqa: S307 (our own repr)
    first_words = " ".join(head.split()[:3])
    assert first_words, head
    start = len(terminal.text)
    terminal.cell(f"%%generate -n 1500 --temperature 0 --no-chat --out partial\n{PROMPT}", wait=False)
    # Interrupt once those first words are on screen, well before 1500 tokens (llama.cpp streams ~100 tok/s).
    terminal.wait(re.escape(first_words), timeout=300, since=start)
    terminal.child.sendintr()
    terminal.wait(rf"In \[{terminal.count}\]:", timeout=60, since=start)
    out = terminal.output_since(start)
    match = re.search(r"\[(\d+) tokens in [\d.]+ s \([\d.]+ tok/s\), stopped\]", out)
    assert match, out
    assert 0 < int(match.group(1)) < 1500
    assert "Interrupted" in out and "Traceback" not in out, out
    partial = eval(terminal.cell("print(repr(partial))").strip().splitlines()[-1])  # noqa: S307
    assert first_words in partial
    assert " ".join(partial.split()) in " ".join(out.split())


def test_train_shows_a_progress_bar_and_summary(terminal: Terminal):
    if "train" not in registered_tasks():
        pytest.skip("the %%train plugin is not registered yet")
    terminal.cell(SEED_DATA)
    out = terminal.cell("%%train --task tabular --data df --target y --loss ce --optimizer sgd --name seed_model "
                        "--hidden 0 --epochs 30\n\n")  # fmt: skip
    assert re.search(r"seed_model:\s+100%\|[^|]+\| 120/120", out), out
    assert re.search(r"tabular: trained 120 steps \(30 epochs\)", out), out
    assert "registered as 'seed_model'" in out
    assert not any(r in out for r in WIDGET_REPRS), out
    assert "<Figure" not in out and "image/png" not in out
