"""The %%train plugin: a fast import, its task and 'trained' backend, its options, and the saved-folder format."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import ai_magics.tasks.train.plugin as train_plugin
from ai_magics.arguments import MagicArgumentParser, parse_line
from ai_magics.errors import AIMagicsError
from ai_magics.plugins import get_plugin_host
from ai_magics.registry import ModelSource
from ai_magics.tasks.train import persistence



def test_importing_the_plugin_loads_nothing_heavy():
    heavy = ("torch", "pandas", "numpy", "transformers", "matplotlib", "ipywidgets")
    code = f"import sys, ai_magics.tasks.train.plugin\nprint([m for m in {heavy!r} if m in sys.modules])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_registers_the_task_and_the_trained_backend():
    registry = get_plugin_host().registry
    assert registry.tasks["train"].run is train_plugin.run
    backend = registry.backends["trained"]
    assert backend.kinds == ("classifier",) and backend.formats == ("trained",)
    assert get_plugin_host().statuses["builtin-train"].ok


def test_selects_the_trained_backend_only_for_trained_classifiers():
    trained = ModelSource(model_id="trained:x", path="/tmp/x", kind="classifier", file_format="trained")
    plain = ModelSource(model_id="org/model", path="org/model")
    assert train_plugin.ai_magics_select_backend(trained, "classifier", "cpu") == "trained"
    assert train_plugin.ai_magics_select_backend(plain, "classifier", "cpu") is None
    assert train_plugin.ai_magics_select_backend(trained, "causal-lm", "cpu") is None


def test_the_options_line_parses():
    parser = MagicArgumentParser("train", "test")
    train_plugin.add_arguments(parser)
    args = parse_line(parser, "--task tabular --data df --target y --loss ce --optimizer sgd --lr 0.1 --epochs 3 "
                              "--val 0.2 --hidden 32,16 --name clf --save out --out r")  # fmt: skip
    assert (args.task, args.data, args.target, args.loss, args.optimizer) == ("tabular", "df", "y", "ce", "sgd")
    assert (args.lr, args.epochs, args.val, args.hidden, args.name, args.save, args.out) == (
        0.1, 3, 0.2, "32,16", "clf", "out", "r"
    )
    lm = parse_line(parser, "--task causal-lm --lora --no-chat --max-steps 5")
    assert lm.lora and lm.chat is False and lm.max_steps == 5
    help_text = parser.format_help()
    assert "default: tabular 0.01 with adam/adamw" in help_text and "%%generate" in help_text
    with pytest.raises(AIMagicsError, match="--epochs"):
        parse_line(parser, "--epochs many")


def test_marker_round_trip_and_folder_rules(tmp_path: Path):
    folder = persistence.prepare_folder(str(tmp_path / "new"), "clf")
    assert folder.is_dir() and persistence.read_marker(folder) is None
    persistence.write_marker(folder, "classifier", "trained", "tabular", spec={"a": 1})
    marker = persistence.load_marker(folder)
    assert marker["kind"] == "classifier" and marker["file_format"] == "trained" and marker["spec"] == {"a": 1}
    assert persistence.prepare_folder(str(folder), "clf") == folder  # an earlier save may be overwritten
    session = persistence.prepare_folder(None, "clf")
    assert session.is_dir() and session.name.startswith("ai_magics_clf_")
    (tmp_path / "file.txt").write_text("x")
    with pytest.raises(AIMagicsError, match="is a file"):
        persistence.prepare_folder(str(tmp_path / "file.txt"), None)
    with pytest.raises(AIMagicsError, match="not a model saved by %%train"):
        persistence.load_marker(tmp_path)
    (folder / persistence.MARKER).write_text(json.dumps({"kind": "classifier", "format_version": 99}))
    with pytest.raises(AIMagicsError, match="newer ai-magics"):
        persistence.load_marker(folder)


def test_missing_weights_say_the_folder_is_incomplete(tmp_path: Path):
    with pytest.raises(AIMagicsError, match="incomplete"):
        persistence.load_tensors(tmp_path / "model.safetensors")


def test_a_damaged_folder_fails_with_a_message(tmp_path: Path):
    from ai_magics.registry import LoadRequest

    persistence.write_marker(tmp_path, "classifier", "trained", "tabular", spec={"features": ["a"]})
    (tmp_path / persistence.WEIGHTS).write_bytes(b"not safetensors")
    source = ModelSource(model_id=str(tmp_path), path=str(tmp_path), kind="classifier", file_format="trained")
    with pytest.raises(AIMagicsError, match="damaged or incomplete"):
        train_plugin.load_trained(LoadRequest(source, "classifier", "cpu", "float32"))
    persistence.write_marker(tmp_path, "causal-lm", "transformers", "causal-lm")
    with pytest.raises(AIMagicsError, match="not a classifier"):
        train_plugin.load_trained(LoadRequest(source, "classifier", "cpu", "float32"))
