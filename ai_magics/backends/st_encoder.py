"""A sentence encoder held by the cache: texts in, unit-length embeddings out."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence


@dataclass
class SentenceEncoder:
    """A sentence-transformers model on a device."""

    model: Any
    device: str
    nbytes: int = 0

    def encode(self, texts: Sequence[str], batch_size: int = 64) -> Any:
        """Embeddings (n x d float32 numpy array), L2-normalised so dot products are cosine similarities."""
        return self.model.encode(
            list(texts), batch_size=batch_size, convert_to_numpy=True, normalize_embeddings=True,
            show_progress_bar=False,
        )  # fmt: skip
