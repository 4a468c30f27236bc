"""Real kernel interrupts (SIGINT to the main thread, as Ctrl-C or Jupyter's interrupt sends) in a real shell.

Delivered during a model load, a generation, a classification and a training run. Each time: the cell fails
with one short message (no traceback), the cache holds no half-loaded model and no leftover pin, the partial
result is where the magic promises it (generate: the text in --out and on screen; train: the weights so far
under --name and the history in --out; classify promises nothing, so nothing is stored), and the next cell of
the same magic works.
"""

from __future__ import annotations

import gc
import signal
import threading
import time
import weakref
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import pandas as pd
import pytest
from IPython.core.error import UsageError

from ai_magics.cache import ModelKey, get_cache
from ai_magics.hookspecs import hookimpl
from ai_magics.plugins import get_plugin_host

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("one_torch_thread_per_module")]

SEED_PROMPT = "The quick brown fox jumps over the lazy dog"


# -- helpers -------------------------------------------------------------------------------------------------



@pytest.fixture(autouse=True)
def python_handles_sigint() -> Iterator[None]:
    """The interrupts below are real signals: they need Python's own SIGINT handler (KeyboardInterrupt), as a
    kernel has. A test run started in the background inherits SIGINT ignored, so install it for these tests."""
    before = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, before)


class Interrupt:
    """Sends SIGINT to the main thread from a helper thread, once, after ``delay`` seconds."""

    def __init__(self) -> None:
        self.thread: threading.Thread | None = None
        self.sent_at: float | None = None

    def soon(self, delay: float = 0.0) -> None:
        if self.thread is not None:
            return
        main = threading.main_thread().ident
        assert main is not None

        def fire() -> None:
            time.sleep(delay)
            self.sent_at = time.monotonic()
            signal.pthread_kill(main, signal.SIGINT)

        self.thread = threading.Thread(target=fire, daemon=True)
        self.thread.start()

    def wait(self) -> None:
        """Make sure the signal went out (and so cannot hit a later test)."""
        assert self.thread is not None, "the interrupt was never sent"
        self.thread.join(timeout=10)
        assert self.sent_at is not None


@pytest.fixture
def interrupt() -> Iterator[Interrupt]:
    sender = Interrupt()
    yield sender
    if sender.thread is not None:
        sender.thread.join(timeout=10)


def interrupted_message(result: Any) -> str:
    """The cell failed with a short UsageError that says it was interrupted; return its message."""
    assert not result.success, "the cell was not interrupted"
    error = result.error_in_exec
    assert isinstance(error, UsageError), repr(error)
    message = str(error)
    assert message.startswith("Interrupted"), message
    assert "Traceback" not in message and "failed unexpectedly" not in message and "\n" not in message.strip()
    assert len(message) < 300, message
    return message


def assert_no_pins() -> None:
    pinned = [str(e.key) for e in get_cache().entries() if e.pins]
    assert pinned == [], f"pins left after the interrupt: {pinned}"


def keys_for(model_id: str) -> list[ModelKey]:
    return [e.key for e in get_cache().entries() if e.key.model_id == model_id]


# -- a model load --------------------------------------------------------------------------------------------


def test_interrupt_during_a_model_load_leaves_nothing_half_loaded(run, shell, tiny_causal_lm_dir, interrupt,
                                                                  monkeypatch):  # fmt: skip
    import ai_magics.backends.transformers_backend as backend

    model_id = str(Path(tiny_causal_lm_dir).resolve())
    for key in keys_for(model_id):
        get_cache().evict(key)
    real_from_pretrained = backend._from_pretrained
    loaded: list[weakref.ref] = []
    landed: list[bool] = []

    def from_pretrained_then_more_work(*args: Any, **kwargs: Any) -> Any:
        model, tokenizer = real_from_pretrained(*args, **kwargs)  # the weights are in memory now
        loaded.append(weakref.ref(model))
        interrupt.soon()
        try:
            for _ in range(500):  # still busy loading (placing the model, say) when Ctrl-C arrives
                time.sleep(0.01)
        except KeyboardInterrupt:
            landed.append(True)
            raise
        return model, tokenizer

    monkeypatch.setattr(backend, "_from_pretrained", from_pretrained_then_more_work)
    shell.user_ns.pop("during_load", None)
    loads = get_cache().stats.loads
    result = run(f"%%generate --model {model_id} --no-chat -t 0 -n 5 --out during_load\nHello")
    interrupt.wait()
    assert "before any text was generated" in interrupted_message(result)  # no "partial text shown above"
    assert landed == [True], "the interrupt did not land inside the loader"
    assert keys_for(model_id) == [], "a half-loaded model is in the cache"
    assert get_cache().stats.loads == loads
    assert_no_pins()
    assert not shell.user_ns.get("during_load"), "nothing was generated, yet --out holds text"
    gc.collect()
    assert loaded[0]() is None, "the half-loaded model is still referenced somewhere"

    monkeypatch.setattr(backend, "_from_pretrained", real_from_pretrained)
    again = run(f"%%generate --model {model_id} --no-chat -t 0 -n 5 --out after_load\nHello")
    assert again.success, again.error_in_exec
    assert len(keys_for(model_id)) == 1 and get_cache().stats.loads == loads + 1  # the key's load lock was freed
    assert_no_pins()


# -- a generation --------------------------------------------------------------------------------------------


class InterruptAfterTokens:
    """Sends a real SIGINT once ``tokens`` tokens have streamed; it lands a moment later, mid-generation."""

    def __init__(self, interrupt: Interrupt, tokens: int) -> None:
        self.interrupt = interrupt
        self.tokens = tokens
        self.seen = 0

    @hookimpl
    def ai_magics_on_token(self, event: Any) -> None:
        self.seen = event.index
        if event.index >= self.tokens:
            self.interrupt.soon(delay=0.02)


def test_interrupt_during_generation_keeps_and_shows_the_partial_text(run, shell, smollm2_converted_dir,
                                                                     interrupt, add_plugin, capsys):  # fmt: skip
    watcher = InterruptAfterTokens(interrupt, tokens=6)
    add_plugin(watcher, "sigint-after-tokens")
    shell.user_ns.pop("partial_text", None)
    capsys.readouterr()
    result = run(f"%%generate --backend transformers -t 0 --no-chat -n 300 --out partial_text\n{SEED_PROMPT}")
    interrupt.wait()
    get_plugin_host().remove_plugin("sigint-after-tokens")
    message = interrupted_message(result)
    partial = shell.user_ns["partial_text"]
    tokens = int(message.split("after ")[1].split(" tokens")[0])
    assert 6 <= tokens < 300 and watcher.seen < 300, message
    assert "partial text is shown above in `partial_text`" in message
    assert isinstance(partial, str) and partial.strip()
    shown = capsys.readouterr().out
    assert partial.strip() in shown and "stopped" in shown, shown
    assert_no_pins()

    # The next cell works, and (greedy) the partial text was the start of the whole answer.
    again = run(f"%%generate --backend transformers -t 0 --no-chat -n {tokens + 1} --out whole\n{SEED_PROMPT}")
    assert again.success, again.error_in_exec
    assert shell.user_ns["whole"].startswith(partial)
    assert_no_pins()


# -- a classification ----------------------------------------------------------------------------------------


def test_interrupt_during_classification_stores_nothing_and_the_next_cell_works(run, shell, interrupt,
                                                                                monkeypatch):  # fmt: skip
    from ai_magics.backends.st_encoder import SentenceEncoder

    warm = run("%%classify --labels positive,negative --out warm\nI loved it")  # MiniLM loaded before we time it
    assert warm.success, warm.error_in_exec
    encoders = {e.key for e in get_cache().entries() if e.key.kind == "text-encoder"}
    real_encode = SentenceEncoder.encode
    landed: list[int] = []

    def encode_with_interrupt(self: Any, texts: Any, batch_size: int = 64) -> Any:
        if len(texts) > 100:  # the texts, not the two labels: Ctrl-C once encoding them is well under way
            interrupt.soon(delay=0.3)
        try:
            return real_encode(self, texts, batch_size)
        except KeyboardInterrupt:
            landed.append(len(texts))
            raise

    monkeypatch.setattr(SentenceEncoder, "encode", encode_with_interrupt)
    shell.user_ns["many_reviews"] = [
        f"Review {i}: the food was {'wonderful' if i % 2 else 'dreadful'} and the waiter {'kind' if i % 3 else 'rude'}."
        for i in range(4000)
    ]
    shell.user_ns.pop("review_labels", None)
    started = time.monotonic()
    result = run("%classify --data many_reviews --labels positive,negative --batch-size 8 --out review_labels")
    interrupt.wait()
    message = interrupted_message(result)
    assert landed == [4000], "the interrupt did not land while the texts were being encoded"
    assert time.monotonic() - started < 30
    assert "%%classify" in message
    assert "review_labels" not in shell.user_ns, "a half-finished table was stored"
    assert {e.key for e in get_cache().entries() if e.key.kind == "text-encoder"} == encoders  # encoder kept
    assert_no_pins()

    monkeypatch.setattr(SentenceEncoder, "encode", real_encode)
    again = run("%%classify --labels positive,negative --out after\nWhat a wonderful meal.\nDreadful, rude waiter.")
    assert again.success, again.error_in_exec
    assert list(shell.user_ns["after"]["label"]) == ["positive", "negative"]
    assert_no_pins()


# -- a training run ------------------------------------------------------------------------------------------


class InterruptAtStep:
    """Sends a real SIGINT after ``step`` optimisation steps; it lands in a later step (or between steps)."""

    def __init__(self, interrupt: Interrupt, step: int) -> None:
        self.interrupt = interrupt
        self.step = step

    @hookimpl
    def ai_magics_on_train_step(self, event: Any) -> None:
        if event.step >= self.step:
            self.interrupt.soon()


def separable_table(rows: int = 4000, features: int = 16) -> pd.DataFrame:
    rng = np.random.default_rng(1)
    x = rng.normal(size=(rows, features))
    y = (x @ rng.normal(size=features) > 0).astype(int)
    return pd.DataFrame(x, columns=[f"f{i}" for i in range(features)]).assign(label=y)


def test_interrupt_during_training_keeps_the_weights_and_the_history(run, shell, interrupt, add_plugin):
    from ai_magics.models.loading import plan_model, use_model
    from ai_magics.tasks.train.result import TrainResult

    table = separable_table()
    shell.user_ns["interrupt_df"] = table
    add_plugin(InterruptAtStep(interrupt, step=40), "sigint-at-step")
    shell.user_ns.pop("interrupted_run", None)
    result = run("%%train --data interrupt_df --target label --hidden 128 --batch-size 32 --epochs 20 "
                 "--name m_sigint --out interrupted_run\n# interrupted by a real SIGINT after step 40")  # fmt: skip
    interrupt.wait()
    get_plugin_host().remove_plugin("sigint-at-step")
    message = interrupted_message(result)
    assert "registered as 'm_sigint'" in message, message

    partial = shell.user_ns["interrupted_run"]
    assert isinstance(partial, TrainResult) and partial.interrupted and partial.stopped
    total = 20 * len(table) // 32 + 20
    assert 40 <= partial.steps < total // 2, f"stopped after {partial.steps} steps"
    assert f"after {partial.steps} of" in message
    history = partial.history
    assert list(history["step"]) == list(range(1, partial.steps + 1))
    assert np.isfinite(history["loss"]).all()
    assert history["loss"].tail(10).mean() < history["loss"].head(5).mean()  # it was learning

    # The weights trained so far are what --model m_sigint gets, from the cache, unpinned.
    key = plan_model("m_sigint", "classifier").key
    entry = next(e for e in get_cache().entries() if e.key == key)
    assert entry.pins == 0 and entry.value is partial.model
    with use_model(plan_model("m_sigint", "classifier")) as predictor:
        accuracy = float((predictor.predict(table) == table["label"].to_numpy()).mean())
    assert accuracy > 0.8, f"accuracy {accuracy:.2f}: these are not the weights trained so far"
    assert_no_pins()

    again = run("%%train --data interrupt_df --target label --max-steps 5 --name m_sigint --out rerun\n# again")
    assert again.success, again.error_in_exec
    assert shell.user_ns["rerun"].steps == 5 and not shell.user_ns["rerun"].interrupted
    assert_no_pins()
