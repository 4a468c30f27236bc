"""The train task: ``%%train`` and ``train(...)`` fit tabular models, fine-tune MiniLM or SmolLM2, and register
the result under a name that %%classify and %%generate accept.

Modules: options (choices, defaults), data (reading --data), split, labels, losses, optimizers, loop, the
trainers (tabular, text_classifier, causal_lm), persistence (safetensors + JSON), register (cache and names),
result, api and plugin.
"""

from __future__ import annotations

from typing import Any

__all__ = ["train"]


def __getattr__(name: str) -> Any:
    if name == "train":
        from ai_magics.tasks.train.api import train

        return train
    raise AttributeError(f"module 'ai_magics.tasks.train' has no attribute {name!r}")
