"""Security rules that hold across the package: no pickle loading, no remote code unless asked."""

from __future__ import annotations

import re
from pathlib import Path

import ai_magics
from ai_magics.registry import ModelSource

PACKAGE = Path(ai_magics.__file__).parent
SOURCES = sorted(PACKAGE.rglob("*.py"))


def test_every_torch_load_is_weights_only():
    for path in SOURCES:
        for call in re.findall(r"torch\.load\([^)]*\)", path.read_text()):
            assert "weights_only=True" in call, f"{path}: {call}"


def test_no_pickle_or_remote_code_defaults_in_sources():
    for path in SOURCES:
        text = path.read_text()
        assert "import pickle" not in text, path
        assert "trust_remote_code=True" not in text, path


def test_model_sources_never_trust_remote_code_by_default():
    assert ModelSource("m", "org/m").trust_remote_code is False


def test_resolved_models_do_not_trust_remote_code():
    from ai_magics.models.resolve import resolve_model
    from ai_magics.plugins import get_plugin_host

    registry = get_plugin_host().registry
    for name in ("smollm2", "minilm", "HuggingFaceTB/SmolLM2-360M-Instruct"):
        assert resolve_model(name, registry).trust_remote_code is False
