"""Which way ``--model NAME`` classifies: a sentence encoder, a causal LM, or a classifier trained here."""

from __future__ import annotations

from pathlib import Path

from ai_magics.errors import AIMagicsError
from ai_magics.plugins import get_plugin_host
from ai_magics.registry import ModelSource

ENCODER = "text-encoder"
CAUSAL_LM = "causal-lm"
CLASSIFIER = "classifier"
KINDS = (ENCODER, CAUSAL_LM, CLASSIFIER)
ENCODER_FILES = ("modules.json", "config_sentence_transformers.json")


def _is_encoder(source: ModelSource) -> bool:
    """A sentence-transformers folder, or a hub id whose sentence-transformers files are in the local cache."""
    folder = Path(source.path)
    if folder.is_dir():
        return any((folder / name).is_file() for name in ENCODER_FILES)
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:
        return False
    found = try_to_load_from_cache(source.model_id, ENCODER_FILES[0], revision=source.revision)
    return isinstance(found, str)


def model_kind(name: str, device: str) -> str:
    """'text-encoder', 'causal-lm' or 'classifier' for ``name``, or a clear error for other kinds of model."""
    from ai_magics.models.resolve import resolve_model

    host = get_plugin_host()
    source = resolve_model(name, host.registry, host.resolve_model)
    kind = source.kind
    if kind is None:
        if source.file_format == "trained" or host.select_backend(source, CLASSIFIER, device) is not None:
            kind = CLASSIFIER
        elif source.gguf_file is None and _is_encoder(source):
            kind = ENCODER
        else:
            kind = CAUSAL_LM
    if kind not in KINDS:
        raise AIMagicsError(
            f"Model {name!r} is a {kind} model, which %%classify cannot use. Give a sentence encoder for zero-shot "
            "labels (such as 'minilm'), a causal LM (such as 'smollm2'), or a classifier trained with %%train."
        )
    return kind
