"""Read a few metadata values from a GGUF file's header without loading it (for the model cache's estimate).

``gguf.GGUFReader`` parses every field, the tokenizer's ~50k strings included, which took seconds; this reads
key/value pairs in order and stops as soon as it has the keys asked for (they come before the tokenizer's).
"""

from __future__ import annotations

import struct
from functools import lru_cache
from pathlib import Path
from typing import BinaryIO

SCALARS = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?", 10: "<Q", 11: "<q", 12: "<d"}
STRING, ARRAY = 8, 9


def _read(f: BinaryIO, fmt: str) -> object:
    size = struct.calcsize(fmt)
    data = f.read(size)
    if len(data) != size:
        raise ValueError("truncated GGUF header")
    return struct.unpack(fmt, data)[0]


MAX_STRING = 1 << 26  # no key or value in a real GGUF header is this long


def _string(f: BinaryIO) -> str:
    length = int(_read(f, "<Q"))
    if length > MAX_STRING:
        raise ValueError(f"corrupt GGUF header: a string of {length} bytes")
    data = f.read(length)
    if len(data) != length:
        raise ValueError("truncated GGUF header")
    return data.decode("utf-8", errors="replace")


def _value(f: BinaryIO, kind: int) -> object:
    if kind in SCALARS:
        return _read(f, SCALARS[kind])
    if kind == STRING:
        return _string(f)
    if kind == ARRAY:
        item, count = int(_read(f, "<I")), int(_read(f, "<Q"))
        if item in SCALARS:  # skip without reading: fixed-size items
            f.seek(struct.calcsize(SCALARS[item]) * count, 1)
        else:
            for _ in range(count):
                _value(f, item)
        return None
    raise ValueError(f"unknown GGUF value type {kind}")


def read_metadata(path: Path, suffixes: tuple[str, ...]) -> dict[str, str]:
    """``general.architecture`` and the ``<architecture>.<suffix>`` values (as text) in the header of ``path``."""
    stat = path.stat()
    return dict(_cached(str(path), stat.st_size, stat.st_mtime_ns, suffixes))


@lru_cache(maxsize=32)
def _cached(path: str, size: int, mtime: int, suffixes: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    found: dict[str, str] = {}
    with open(path, "rb") as f:
        if f.read(4) != b"GGUF":
            raise ValueError(f"{path} is not a GGUF file")
        version = int(_read(f, "<I"))
        count_fmt = "<Q" if version >= 2 else "<I"
        _read(f, count_fmt)  # tensor count
        for _ in range(int(_read(f, count_fmt))):
            key = _string(f)
            value = _value(f, int(_read(f, "<I")))
            if key == "general.architecture" or key.endswith(suffixes):
                found[key] = str(value)
            arch = found.get("general.architecture")
            if arch is not None and all(f"{arch}.{suffix}" in found for suffix in suffixes):
                break
    arch = found.get("general.architecture", "")
    return tuple((k, v) for k, v in found.items() if k == "general.architecture" or k.startswith(arch + "."))
