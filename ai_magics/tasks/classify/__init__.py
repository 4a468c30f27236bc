"""The ``%%classify`` task: zero-shot labels from a sentence encoder or a causal LM, or a model from ``%%train``."""
