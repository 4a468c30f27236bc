"""The model cache under contention: 4 threads, 6 tiny models, a budget that forces evictions.

Proves: no deadlock (every thread ends within a deadline), never a wrong model for a key, a pinned model is
never evicted, and the byte budget holds at every moment a monitor looks.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import pytest

import ai_magics.cache.model_cache as model_cache
from ai_magics.cache import ModelCache, ModelKey
from ai_magics.errors import AIMagicsError

THREADS = 4
ROUNDS = 15
DEADLINE_S = 60.0
SIZES = {"m0": 1000, "m1": 2000, "m2": 3000, "m3": 4000, "m4": 5000, "m5": 6000}  # bytes of float32 data
BUDGET = 15_000  # 21 KB of models in all: at most about half fit, so loads keep evicting


@dataclass(eq=False)
class TinyModel:
    """A stand-in model with real weights (a numpy array) filled with a number unique to its key."""

    name: str
    weights: np.ndarray

    @property
    def nbytes(self) -> int:  # what the cache charges against its budget
        return int(self.weights.nbytes)


def make_loader(name: str, loads: Counter, loads_lock: threading.Lock) -> Callable[[], TinyModel]:
    """A loader that takes a moment (so loads overlap) and builds weights marked with ``name``."""

    def load() -> TinyModel:
        with loads_lock:
            loads[name] += 1
        time.sleep(random.uniform(0.002, 0.01))
        return TinyModel(name, np.full(SIZES[name] // 4, float(name[1:]), dtype=np.float32))

    return load


def marker(value: TinyModel) -> int:
    """The number the weights were filled with (so a wrong model is caught by its weights, not only its name)."""
    first, last = float(value.weights[0]), float(value.weights[-1])
    assert first == last, "the weights of a cached model changed"
    return int(first)


@dataclass
class Observed:
    """What the monitor and the workers saw; any entry in ``problems`` fails the test."""

    problems: list[str] = field(default_factory=list)
    checks: int = 0
    max_used: int = 0
    busy_errors: int = 0
    double_pins: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def fail(self, problem: str) -> None:
        with self.lock:
            if len(self.problems) < 20:
                self.problems.append(problem)


class PinLedger:
    """The pins the workers hold, counted by the test itself (taken after acquire, dropped before release)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.pins: Counter = Counter()

    def add(self, key: ModelKey) -> None:
        with self.lock:
            self.pins[key] += 1

    def drop(self, key: ModelKey) -> None:
        with self.lock:
            self.pins[key] -= 1


def check_once(cache: ModelCache, ledger: PinLedger, seen: Observed) -> None:
    """One look at the cache: the budget holds, and every key the ledger says is pinned is cached and pinned."""
    with ledger.lock:  # workers cannot pin or unpin while we look: the ledger and the entries agree
        entries = {e.key: (e.nbytes, e.pins, e.value) for e in cache.entries()}
        held = {k: n for k, n in ledger.pins.items() if n > 0}
    used = sum(nbytes for nbytes, _, _ in entries.values())
    seen.checks += 1
    seen.max_used = max(seen.max_used, used)
    if used > BUDGET:
        seen.fail(f"budget broken: {used} bytes cached > {BUDGET} ({sorted(k.model_id for k in entries)})")
    for key, count in held.items():
        if key not in entries:
            seen.fail(f"{key.model_id} was evicted while pinned {count} time(s)")
        elif entries[key][1] < count:
            seen.fail(f"{key.model_id} has {entries[key][1]} pins in the cache, {count} held")
    for key, (_, _, value) in entries.items():
        if value.name != key.model_id:
            seen.fail(f"entry {key.model_id} holds model {value.name}")


def worker(index: int, cache: ModelCache, keys: list[ModelKey], loaders: dict, ledger: PinLedger,
           seen: Observed, start: threading.Barrier) -> None:  # fmt: skip
    """Run :func:`rounds`; anything it raises is a problem the test reports (a thread's error is otherwise lost)."""
    try:
        start.wait(timeout=10)
        rounds(random.Random(index), cache, keys, loaders, ledger, seen)
    except BaseException as exc:
        seen.fail(f"worker {index} raised {type(exc).__name__}: {exc}")


def rounds(rng: random.Random, cache: ModelCache, keys: list[ModelKey], loaders: dict, ledger: PinLedger,
           seen: Observed) -> None:  # fmt: skip
    """Take models by key, check each is the right one, hold it a moment; sometimes hold two at once."""
    for _ in range(ROUNDS):
        first, second = rng.sample(keys, 2)
        wanted = [first, second] if rng.random() < 0.3 else [first]
        taken: list[ModelKey] = []
        try:
            for key in wanted:
                value = cache.acquire(key, loaders[key], SIZES[key.model_id])
                ledger.add(key)
                taken.append(key)
                if value.name != key.model_id or marker(value) != int(key.model_id[1:]):
                    seen.fail(f"asked for {key.model_id}, got {value.name} (weights {marker(value)})")
            if len(taken) == 2:
                with seen.lock:
                    seen.double_pins += 1
            time.sleep(rng.uniform(0, 0.002))
        except AIMagicsError as exc:  # every byte of room pinned by the others for too long: a clear refusal
            if "in use" not in str(exc):
                seen.fail(f"unexpected error: {exc}")
            with seen.lock:
                seen.busy_errors += 1
        finally:
            for key in reversed(taken):
                ledger.drop(key)
                cache.release(key)


def test_four_threads_share_six_models_under_an_evicting_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(model_cache, "PIN_WAIT_SECONDS", 2.0)  # a pin-blocked load gives up fast, not in 30 s
    cache = ModelCache(budget=BUDGET)
    keys = [ModelKey(name) for name in SIZES]
    loads: Counter = Counter()
    loads_lock = threading.Lock()
    loaders = {key: make_loader(key.model_id, loads, loads_lock) for key in keys}
    ledger, seen = PinLedger(), Observed()
    start = threading.Barrier(THREADS + 1)
    done = threading.Event()

    def monitor() -> None:
        start.wait(timeout=10)
        while not done.is_set():
            check_once(cache, ledger, seen)
            time.sleep(0.001)

    threads = [
        threading.Thread(target=worker, args=(i, cache, keys, loaders, ledger, seen, start), daemon=True)
        for i in range(THREADS)
    ]
    watcher = threading.Thread(target=monitor, daemon=True)
    began = time.monotonic()
    for t in [*threads, watcher]:
        t.start()
    for t in threads:
        t.join(timeout=max(0.1, DEADLINE_S - (time.monotonic() - began)))
    stuck = [t.name for t in threads if t.is_alive()]
    done.set()
    watcher.join(timeout=10)
    assert not stuck, f"deadlock: {stuck} still running after {DEADLINE_S} s; cache: {cache.entries()}"
    assert not watcher.is_alive()

    check_once(cache, ledger, seen)  # the final state too
    assert seen.problems == []
    assert seen.checks > 20, "the monitor hardly ran"
    assert all(e.pins == 0 for e in cache.entries()), "a pin leaked"
    assert cache.used_bytes() <= BUDGET and seen.max_used <= BUDGET
    assert seen.double_pins > 0, "no thread ever held two models at once"
    # The budget forced evictions, and every eviction was followed by a reload when the model was asked again.
    assert cache.stats.evictions >= 10, cache.stats
    assert cache.stats.loads == sum(loads.values()) and cache.stats.loads > len(SIZES)
    assert cache.stats.hits > 0
    assert seen.busy_errors <= THREADS * ROUNDS // 4, f"{seen.busy_errors} loads refused: the cache hardly served"


def test_two_loads_in_flight_together_stay_within_the_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    """Two misses for different keys at the same moment: each fits the budget alone, not both together. The
    second must wait for room (here: until the first model is released and can be evicted), not load beside it."""
    monkeypatch.setattr(model_cache, "PIN_WAIT_SECONDS", 10.0)
    cache = ModelCache(budget=100)
    second_loading = threading.Event()
    seen_used: list[int] = []
    got: dict[str, str] = {}
    errors: list[BaseException] = []

    def loader(name: str) -> Callable[[], TinyModel]:
        def load() -> TinyModel:
            if name == "first":
                second_loading.wait(timeout=1.0)  # give the second load every chance to start alongside
            else:
                second_loading.set()
            return TinyModel(name, np.zeros(15, dtype=np.float32))  # 60 bytes

        return load

    def take(name: str, delay: float) -> None:
        time.sleep(delay)
        try:
            with cache.use(ModelKey(name), loader(name), 60) as value:
                got[name] = value.name
                seen_used.append(cache.used_bytes())
                time.sleep(0.2)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=take, args=(n, d), daemon=True) for n, d in (("first", 0), ("second", 0.05))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert not any(t.is_alive() for t in threads), "deadlock"
    assert errors == []
    assert got == {"first": "first", "second": "second"}
    assert max(seen_used) <= 100, f"{max(seen_used)} bytes cached at once under a budget of 100"
    assert cache.used_bytes() <= 100 and [e.key.model_id for e in cache.entries()] == ["second"]
    assert cache.stats.evictions == 1
