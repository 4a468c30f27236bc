"""Resolving what follows --model: aliases, trained models, local folders, .gguf files and hub ids."""

from __future__ import annotations

from pathlib import Path

import pytest

from ai_magics.errors import AIMagicsError
from ai_magics.models import trained
from ai_magics.models.resolve import known_models, resolve_model
from ai_magics.plugins import PluginHost
from ai_magics.registry import ModelSource


@pytest.fixture
def registry():
    return PluginHost(load_entry_points=False).registry


@pytest.fixture(autouse=True)
def no_trained_models(monkeypatch):
    monkeypatch.setattr(trained, "_sources", {})


def test_builtin_aliases_resolve_to_the_wheel_files(registry):
    smollm2 = resolve_model("smollm2", registry)
    assert smollm2.model_id == "smollm2" and smollm2.kind == "causal-lm" and smollm2.file_format == "gguf"
    assert smollm2.gguf_file.endswith(".gguf") and (Path(smollm2.path) / smollm2.gguf_file).is_file()
    minilm = resolve_model("  minilm ", registry)
    assert minilm.kind == "text-encoder" and minilm.file_format == "transformers"
    assert (Path(minilm.path) / "config.json").is_file()


def test_a_local_folder(registry, tmp_path, monkeypatch):
    folder = tmp_path / "my-model"
    folder.mkdir()
    source = resolve_model(str(folder), registry)
    assert source == ModelSource(model_id=str(folder.resolve()), path=str(folder.resolve()))
    assert source.kind is None and source.file_format == "transformers"
    monkeypatch.chdir(tmp_path)
    assert resolve_model("my-model", registry).path == str(folder.resolve())  # relative to the notebook
    assert resolve_model("./my-model/", registry).path == str(folder.resolve())


def test_a_gguf_file(registry, tmp_path):
    path = tmp_path / "models" / "tiny.Q4_0.gguf"
    path.parent.mkdir()
    path.write_bytes(b"GGUF")
    source = resolve_model(str(path), registry)
    assert source.model_id == str(path.resolve()) and source.path == str(path.parent.resolve())
    assert source.gguf_file == "tiny.Q4_0.gguf" and source.file_format == "gguf"


def test_a_file_that_is_not_a_model(registry, tmp_path):
    path = tmp_path / "weights.bin"
    path.write_bytes(b"x")
    with pytest.raises(AIMagicsError, match="is a file, not a model folder"):
        resolve_model(str(path), registry)


@pytest.mark.parametrize("name", ["./missing-model", "/no/such/dir", "~/no-such-model-here", "missing.gguf", "a/b/c"])
def test_a_missing_path(registry, name):
    with pytest.raises(AIMagicsError) as info:
        resolve_model(name, registry)
    assert str(info.value) == f"There is no model at {name!r}: that path does not exist. Check the spelling."


@pytest.mark.parametrize(
    ("name", "model_id", "revision"),
    [("HuggingFaceTB/SmolLM2-360M-Instruct", "HuggingFaceTB/SmolLM2-360M-Instruct", None),
     ("org/name@v1.0", "org/name", "v1.0"), ("Org-1/name.v2@0123abcd", "Org-1/name.v2", "0123abcd"),
     ("sentence-transformers/all-MiniLM-L6-v2", "sentence-transformers/all-MiniLM-L6-v2", None)],
)  # fmt: skip
def test_hub_ids(registry, name, model_id, revision):
    source = resolve_model(name, registry)
    assert (source.model_id, source.path, source.revision) == (model_id, model_id, revision)
    assert source.kind is None and source.file_format == "transformers"


@pytest.mark.parametrize("revision", ["refs/pr/3", "feature/x"])
def test_hub_revisions_with_a_slash(registry, revision):
    source = resolve_model(f"org/name@{revision}", registry)
    assert (source.model_id, source.revision) == ("org/name", revision)


@pytest.mark.parametrize("name", ["gpt5", "smollm", "org/", "/name", "org name/x"])
def test_unknown_names_list_the_known_models(registry, name):
    with pytest.raises(AIMagicsError) as info:
        resolve_model(name, registry)
    message = str(info.value)
    if name.startswith("/"):
        assert "There is no model at" in message
        return
    assert message.startswith(f"Unknown model {name!r}. Known models: {', '.join(known_models(registry))}.")
    assert {"minilm", "smollm2"} <= set(known_models(registry))
    assert "'organisation/name'" in message and "\n" not in message


@pytest.mark.parametrize("name", ["", "   ", None])
def test_no_model(registry, name):
    with pytest.raises(AIMagicsError, match="No model was given"):
        resolve_model(name, registry)


def test_trained_models_resolve_and_are_listed(registry):
    source = ModelSource("trained:sentiment", "/tmp/sentiment", kind="classifier", file_format="trained")
    trained.register("sentiment", source)
    assert resolve_model("sentiment", registry) is source
    assert known_models(registry) == [*sorted(registry.models), "sentiment"]
    with pytest.raises(AIMagicsError, match="Known models: .*minilm, .*smollm2, sentiment"):
        resolve_model("sentimental", registry)
    trained.forget("sentiment")
    with pytest.raises(AIMagicsError, match="Unknown model 'sentiment'"):
        resolve_model("sentiment", registry)


def test_an_alias_wins_over_a_folder_of_the_same_name(registry, tmp_path, monkeypatch):
    (tmp_path / "smollm2").mkdir()
    monkeypatch.chdir(tmp_path)
    assert resolve_model("smollm2", registry).model_id == "smollm2"
    assert resolve_model("./smollm2", registry).path == str((tmp_path / "smollm2").resolve())


def test_plan_model_checks_the_kind():
    from ai_magics.models.loading import plan_model

    with pytest.raises(AIMagicsError) as info:
        plan_model("minilm", "causal-lm", device="cpu")
    assert str(info.value).startswith("Model 'minilm' is a text encoder, not a text generator. Use a text generator")
    assert "'smollm2'" in str(info.value)
    plan = plan_model(None, "causal-lm", device="cpu", dtype="bf16")
    assert plan.key.model_id == "smollm2" and plan.key.dtype == "bfloat16"
    assert plan.key.backend in {"transformers", "llama.cpp"}  # llama.cpp when ai-magics-llamacpp is installed
    with pytest.raises(AIMagicsError, match="Backend 'nope' is not installed. Installed backends: .*transformers"):
        plan_model("smollm2", "causal-lm", device="cpu", backend="nope")
