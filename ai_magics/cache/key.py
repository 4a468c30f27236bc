"""The cache key: everything that makes two loaded models different."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ModelKey:
    """Identifies one loaded model: the same key always means the same weights on the same device and dtype."""

    model_id: str
    revision: str | None = None
    kind: str = "causal-lm"
    device: str = "cpu"
    dtype: str = "float32"
    backend: str = "transformers"

    def __str__(self) -> str:
        rev = f"@{self.revision}" if self.revision else ""
        return f"{self.model_id}{rev} [{self.kind}, {self.backend}, {self.device}, {self.dtype}]"
