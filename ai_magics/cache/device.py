"""Choosing a device (CUDA > MPS > CPU) and a dtype for it. torch is imported only when needed."""

from __future__ import annotations

import re

from ai_magics.errors import AIMagicsError

DTYPE_ALIASES = {
    "float32": "float32", "fp32": "float32", "f32": "float32",
    "bfloat16": "bfloat16", "bf16": "bfloat16",
    "float16": "float16", "fp16": "float16", "half": "float16", "f16": "float16",
}  # fmt: skip
_DEVICE_PATTERN = re.compile(r"^(auto|cpu|mps|cuda(:\d+)?)$")


def best_device() -> str:
    """The best device present: 'cuda', else 'mps', else 'cpu'."""
    import torch

    if torch.cuda.is_available():
        return "cuda"
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return "mps"
    return "cpu"


def resolve_device(requested: str | None) -> str:
    """Validate a device name and resolve 'auto'; fail clearly for unknown or absent devices."""
    name = (requested or "auto").strip().lower()
    if not _DEVICE_PATTERN.match(name):
        raise AIMagicsError(
            f"Unknown device {requested!r}. Use 'auto' (CUDA, then MPS, then CPU), 'cpu', 'cuda', 'cuda:N' or "
            "'mps', per cell with --device or for the session with %config AIMagics.device."
        )
    if name == "auto":
        return best_device()
    if name == "cpu":
        return "cpu"
    import torch

    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise AIMagicsError(
                f"Device {requested!r} was asked for, but this machine has no CUDA GPU that torch can use. "
                "Use --device cpu, or 'auto' to take the best device present."
            )
        index = int(name.split(":")[1]) if ":" in name else 0
        if index >= torch.cuda.device_count():
            raise AIMagicsError(
                f"Device {requested!r} does not exist: this machine has {torch.cuda.device_count()} CUDA "
                "device(s), numbered from 0."
            )
        return name
    mps = getattr(torch.backends, "mps", None)
    if mps is None or not mps.is_available():
        raise AIMagicsError(
            "Device 'mps' was asked for, but Apple's MPS is not available here. Use --device cpu or 'auto'."
        )
    return "mps"


def resolve_dtype(requested: str | None, device: str) -> str:
    """The dtype name to load in: float32 on CPU unless asked; bfloat16 (or float16) on a GPU."""
    name = (requested or "auto").strip().lower()
    if name != "auto":
        if name not in DTYPE_ALIASES:
            raise AIMagicsError(
                f"Unknown dtype {requested!r}. Use 'auto', 'float32', 'bfloat16' or 'float16' "
                "(or fp32, bf16, fp16)."
            )
        return DTYPE_ALIASES[name]
    if device.startswith("cuda"):
        import torch

        return "bfloat16" if torch.cuda.is_bf16_supported() else "float16"
    if device == "mps":
        return "float16"
    return "float32"


def torch_dtype(name: str):  # -> torch.dtype
    """The torch dtype object for a dtype name from :func:`resolve_dtype`."""
    import torch

    return getattr(torch, name)
