"""Memory arithmetic for the cache: parsing budgets, measuring free memory and the size of loaded models."""

from __future__ import annotations

import re
from typing import Any

from ai_magics.errors import AIMagicsError

_UNITS = {"": 1, "B": 1, "KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12,
          "KIB": 2**10, "MIB": 2**20, "GIB": 2**30, "TIB": 2**40}  # fmt: skip
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMGT]?I?B?)\s*$", re.IGNORECASE)
CPU_RESERVE_BYTES = 1 * 2**30
GPU_RESERVE_FRACTION = 0.1


def parse_bytes(text: str | int) -> int:
    """'4GB', '512 MiB', '1e9'-free integers -> bytes; a clear error for anything else."""
    if isinstance(text, int):
        return text
    match = _SIZE.match(str(text))
    if not match or match.group(2).upper() not in _UNITS:
        raise AIMagicsError(
            f"Memory budget {text!r} is not a size. Write 'auto', a number of bytes, or a size such as "
            "'512MB', '4GB' or '2GiB'."
        )
    return int(float(match.group(1)) * _UNITS[match.group(2).upper()])


def format_bytes(n: float) -> str:
    """Bytes as a short human size: '538.1 MB'."""
    for unit in ("B", "KB", "MB", "GB"):
        if abs(n) < 1000:
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} TB"


def free_memory(device: str) -> int:
    """Measured free memory on ``device`` in bytes (available system RAM for CPU and MPS)."""
    if device.startswith("cuda"):
        import torch

        free, _total = torch.cuda.mem_get_info(torch.device(device))
        return int(free)
    import psutil

    return int(psutil.virtual_memory().available)


def total_memory(device: str) -> int:
    """Total memory on ``device`` in bytes."""
    if device.startswith("cuda"):
        import torch

        return int(torch.cuda.mem_get_info(torch.device(device))[1])
    import psutil

    return int(psutil.virtual_memory().total)


def reserve_bytes(device: str) -> int:
    """Headroom never given to the cache: 1 GiB of RAM, or 10% of a GPU."""
    if device.startswith("cuda"):
        return int(total_memory(device) * GPU_RESERVE_FRACTION)
    return CPU_RESERVE_BYTES


def module_bytes(module: Any) -> int:
    """Bytes held by a torch module's parameters and buffers, counting shared (tied) storage once."""
    seen: set[int] = set()
    total = 0
    tensors = list(module.parameters()) + list(module.buffers())
    for t in tensors:
        storage = t.untyped_storage()
        ptr = storage.data_ptr()
        if ptr in seen:
            continue
        seen.add(ptr)
        total += storage.nbytes()
    return total
