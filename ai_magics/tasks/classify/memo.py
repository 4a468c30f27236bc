"""A small thread-safe LRU for per-label-set work (label embeddings, label priors) that is reused across runs."""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any, Callable, Hashable


class SmallLRU:
    """Keeps the ``size`` most recently used values; ``get(key, compute)`` computes a missing one once."""

    def __init__(self, size: int = 64) -> None:
        self.size = size
        self._table: OrderedDict[Hashable, Any] = OrderedDict()
        self._lock = threading.Lock()
        self.computed = 0

    def get(self, key: Hashable, compute: Callable[[], Any]) -> Any:
        with self._lock:
            if key in self._table:
                self._table.move_to_end(key)
                return self._table[key]
        value = compute()
        with self._lock:
            self._table[key] = value
            self.computed += 1
            while len(self._table) > self.size:
                self._table.popitem(last=False)
        return value

    def __len__(self) -> int:
        with self._lock:
            return len(self._table)

    def clear(self) -> None:
        with self._lock:
            self._table.clear()
