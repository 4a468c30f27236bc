"""One process-wide model cache: LRU over a byte budget, pinning while in use, one load per key.

    with get_cache().use(key, loader, estimate_bytes) as model:
        ...  # model is pinned here: never evicted mid-use

Locks: one re-entrant lock for the table, one lock per key while it loads, so two callers asking for the same
model load it once while loads of different models proceed side by side.
"""

from __future__ import annotations

import gc
import threading
import time
from collections import OrderedDict
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Callable, Iterator

from ai_magics.cache.key import ModelKey
from ai_magics.cache.memory import format_bytes, free_memory, parse_bytes, reserve_bytes
from ai_magics.errors import AIMagicsError

PIN_WAIT_SECONDS = 30.0


@dataclass
class CacheStats:
    """Counters shown by ``%ai_magics cache``."""

    hits: int = 0
    misses: int = 0
    loads: int = 0
    evictions: int = 0
    oom_retries: int = 0


@dataclass
class CacheEntry:
    """A loaded model with its measured size, pin count and last use."""

    key: ModelKey
    value: Any
    nbytes: int
    load_seconds: float
    pins: int = 0
    last_used: float = 0.0


def _is_out_of_memory(exc: BaseException) -> bool:
    return isinstance(exc, MemoryError) or type(exc).__name__ == "OutOfMemoryError"


def _value_bytes(value: Any) -> int:
    return int(getattr(value, "nbytes", 0) or 0)


class ModelCache:
    """Device-aware model cache. ``budget`` fixes the byte budget per device; None follows the settings."""

    def __init__(self, budget: int | str | None = None, free_memory_fn: Callable[[str], int] = free_memory) -> None:
        self._fixed_budget = parse_bytes(budget) if budget is not None else None
        self._free_memory = free_memory_fn
        self._entries: OrderedDict[ModelKey, CacheEntry] = OrderedDict()
        self._lock = threading.RLock()
        self._released = threading.Condition(self._lock)
        self._load_locks: dict[ModelKey, threading.Lock] = {}
        self._reserved: dict[str, int] = {}  # bytes promised to loads in flight, per device
        self.stats = CacheStats()

    # -- budget ---------------------------------------------------------------------------------------------
    def used_bytes(self, device: str | None = None) -> int:
        """Bytes held by cached models, on one device or on all."""
        with self._lock:
            return sum(e.nbytes for e in self._entries.values() if device is None or e.key.device == device)

    def budget(self, device: str) -> int:
        """The byte budget on ``device``: fixed, from ``%config AIMagics.memory_budget``, or measured."""
        if self._fixed_budget is not None:
            return self._fixed_budget
        from ai_magics.config import get_settings

        setting = get_settings().memory_budget.strip().lower()
        if setting != "auto":
            return parse_bytes(setting)
        return max(0, self._free_memory(device) + self.used_bytes(device) - reserve_bytes(device))

    def set_budget(self, budget: int | str | None) -> None:
        """Fix the budget (bytes or a size such as '2GB'), or None to follow the settings again."""
        self._fixed_budget = parse_bytes(budget) if budget is not None else None

    # -- use ------------------------------------------------------------------------------------------------
    @contextmanager
    def use(
        self, key: ModelKey, loader: Callable[[], Any] | None = None, estimate_bytes: int | Callable[[], int] = 0
    ) -> Iterator[Any]:
        """Pin the model for ``key`` while the block runs, loading it with ``loader`` on a miss."""
        value = self.acquire(key, loader, estimate_bytes)
        try:
            yield value
        finally:
            self.release(key)

    def acquire(
        self, key: ModelKey, loader: Callable[[], Any] | None = None, estimate_bytes: int | Callable[[], int] = 0
    ) -> Any:
        """Return the model for ``key`` pinned (call :meth:`release` after), loading it on a miss.

        ``estimate_bytes`` may be a function: it is then called only on a miss, never on the hit path."""
        with self._lock:
            value = self._pin_if_cached(key)
            if value is not None:
                return value
            if loader is None:
                raise KeyError(key)
            load_lock = self._load_locks.setdefault(key, threading.Lock())
        with load_lock:
            with self._lock:
                value = self._pin_if_cached(key)
                if value is not None:
                    return value
                self.stats.misses += 1
                needed = estimate_bytes() if callable(estimate_bytes) else estimate_bytes
                self._make_room(key, needed)
                self._reserved[key.device] = self._reserved.get(key.device, 0) + needed
            start = time.perf_counter()
            try:
                value = self._load_with_retry(key, loader)
            except BaseException:
                with self._lock:
                    self._reserved[key.device] -= needed
                    self._released.notify_all()
                raise
            with self._lock:
                self._reserved[key.device] -= needed
                self._released.notify_all()
                entry = CacheEntry(key, value, _value_bytes(value), time.perf_counter() - start, pins=1)
                entry.last_used = time.monotonic()
                self._entries[key] = entry
                self.stats.loads += 1
                self._evict_until_fits(key.device, 0, keep=key)
            return value

    def release(self, key: ModelKey) -> None:
        """Unpin a model taken with :meth:`acquire`."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and entry.pins > 0:
                entry.pins -= 1
                entry.last_used = time.monotonic()
            self._released.notify_all()

    def put(self, key: ModelKey, value: Any) -> None:
        """Insert an already built model (a freshly trained one), replacing any model under ``key``."""
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None and old.pins:
                self._entries[key] = old
                raise AIMagicsError(f"Model {key.model_id!r} is in use right now; try again when that cell ends.")
            self._evict_until_fits(key.device, _value_bytes(value))
            entry = CacheEntry(key, value, _value_bytes(value), 0.0, last_used=time.monotonic())
            self._entries[key] = entry

    def get(self, key: ModelKey) -> Any | None:
        """The cached model for ``key`` without pinning it, or None."""
        with self._lock:
            entry = self._entries.get(key)
            return entry.value if entry else None

    def __contains__(self, key: object) -> bool:
        with self._lock:
            return key in self._entries

    def _pin_if_cached(self, key: ModelKey) -> Any | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        entry.pins += 1
        entry.last_used = time.monotonic()
        self._entries.move_to_end(key)
        self.stats.hits += 1
        return entry.value

    # -- eviction -------------------------------------------------------------------------------------------
    def _make_room(self, key: ModelKey, needed: int) -> None:
        """Evict LRU unpinned models until ``needed`` more bytes fit; wait for pins to drop (up to a deadline) and
        for loads in flight to end if they block (their bytes are reserved, so concurrent loads keep the budget)."""
        deadline = time.monotonic() + PIN_WAIT_SECONDS
        while needed > self.budget(key.device) or not self._evict_until_fits(key.device, needed):
            budget = self.budget(key.device)
            pinned = [e for e in self._entries.values() if e.pins and e.key.device == key.device]
            if (not pinned and not self._reserved.get(key.device)) or needed > budget:
                raise AIMagicsError(
                    f"Model {key.model_id!r} needs about {format_bytes(needed)} on {key.device}, more than the "
                    f"cache's budget of {format_bytes(budget)} there. Free memory, raise the budget with "
                    "%config AIMagics.memory_budget = '8GB', or pick a smaller model or dtype."
                )
            remaining = deadline - time.monotonic()
            if remaining <= 0 and pinned:  # loads in flight always end, so only pins time out
                names = ", ".join(e.key.model_id for e in pinned)
                raise AIMagicsError(
                    f"Model {key.model_id!r} needs about {format_bytes(needed)} on {key.device}, but the budget "
                    f"is taken by models in use ({names}). Wait for those cells to finish, or raise "
                    "%config AIMagics.memory_budget."
                )
            self._released.wait(timeout=min(max(remaining, 0.01), 0.5))

    def _evict_until_fits(self, device: str, needed: int, keep: ModelKey | None = None) -> bool:
        """Evict LRU unpinned models on ``device`` until ``needed`` more bytes fit; True if they do."""
        budget = self.budget(device)
        evicted: list[ModelKey] = []
        try:
            while self.used_bytes(device) + self._reserved.get(device, 0) + needed > budget:
                victim = next(
                    (e for e in self._entries.values() if e.key.device == device and not e.pins and e.key != keep),
                    None,
                )
                if victim is None:
                    return False
                self._entries.pop(victim.key)
                evicted.append(victim.key)
            return True
        finally:
            self._evicted(evicted)

    def _evicted(self, keys: list[ModelKey]) -> None:
        """Count evictions and give their memory back (one collection for the whole batch)."""
        if not keys:
            return
        self.stats.evictions += len(keys)
        gc.collect()
        if any(k.device.startswith("cuda") for k in keys):
            import torch

            torch.cuda.empty_cache()

    def evict(self, key: ModelKey) -> bool:
        """Evict one model if it is cached and not in use; True if it was evicted."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or entry.pins:
                return False
            del self._entries[key], entry
            self._evicted([key])
            return True

    def clear(self) -> int:
        """Evict every model not in use; returns how many were evicted."""
        with self._lock:
            keys = [k for k, e in self._entries.items() if not e.pins]
            for key in keys:
                del self._entries[key]
            self._evicted(keys)
            return len(keys)

    def _load_with_retry(self, key: ModelKey, loader: Callable[[], Any]) -> Any:
        try:
            return loader()
        except BaseException as exc:
            if not _is_out_of_memory(exc):
                raise
        with self._lock:
            self.stats.oom_retries += 1
            victims = [k for k, e in self._entries.items() if not e.pins and k.device == key.device]
            for victim in victims:
                del self._entries[victim]
            self._evicted(victims)
        try:
            return loader()
        except BaseException as exc:
            if not _is_out_of_memory(exc):
                raise
            raise AIMagicsError(
                f"Out of memory loading {key.model_id!r} on {key.device}, even after evicting every cached model "
                "not in use. Try a smaller dtype (--dtype bfloat16), another device, or a smaller model."
            ) from None

    # -- reporting ------------------------------------------------------------------------------------------
    def entries(self) -> list[CacheEntry]:
        """A snapshot of the cached entries, least recently used first."""
        with self._lock:
            return list(self._entries.values())


_cache: ModelCache | None = None
_cache_lock = threading.Lock()


def get_cache() -> ModelCache:
    """The process-wide cache every task and plugin shares."""
    global _cache
    with _cache_lock:
        if _cache is None:
            _cache = ModelCache()
        return _cache
