"""The llama.cpp plugin's registration: listed by %ai_magics plugins, default for GGUF on CPU, and switchable."""

from __future__ import annotations

import pytest

pytest.importorskip("ai_magics_llamacpp", reason="the ai-magics-llamacpp plugin is not installed (make install)")
pytest.importorskip("llama_cpp", reason="llama-cpp-python is not installed (make install)")

from ai_magics.errors import AIMagicsError
from ai_magics.models.loading import plan_model
from ai_magics.plugins import DISABLE_ENV, get_plugin_host, reload_plugins
from ai_magics.registry import LoadRequest, ModelSource
from ai_magics.report import plugins_report
from ai_magics_llamacpp import plugin
from ai_magics_llamacpp.settings import DEFAULT_ENV, LlamaCpp, get_settings

pytestmark = pytest.mark.usefixtures("fresh")
GGUF = ModelSource("m", "/models", kind="causal-lm", gguf_file="m.gguf")
FOLDER = ModelSource("m", "/models/m", kind="causal-lm")


def row(report: str, plugin_name: str) -> list[str]:
    return next(line.split() for line in report.splitlines() if line.split()[:1] == [plugin_name])


def test_the_plugin_is_installed_by_entry_point_and_listed():
    host = get_plugin_host()
    status = host.statuses["llamacpp"]
    assert status.ok and not status.problems and status.origin == "ai-magics-llamacpp"
    backend = host.registry.backends["llama.cpp"]
    assert backend.kinds == ("causal-lm",) and backend.formats == ("gguf",)
    report = plugins_report()
    assert row(report, "llamacpp") == ["llamacpp", "ai-magics-llamacpp", "ok"]
    assert "llama.cpp" in report.split("backends: ")[1]


def test_it_is_the_default_for_gguf_files_on_cpu_only():
    host = get_plugin_host()
    assert host.select_backend(GGUF, "causal-lm", "cpu") == "llama.cpp"
    assert host.select_backend(GGUF, "causal-lm", "cuda") == "transformers"
    assert host.select_backend(FOLDER, "causal-lm", "cpu") == "transformers"
    assert host.select_backend(GGUF, "text-encoder", "cpu") == "transformers"
    plan = plan_model("smollm2", "causal-lm", device="cpu")
    assert plan.backend == "llama.cpp" and plan.key.backend == "llama.cpp"
    assert plan_model("smollm2", "causal-lm", device="cpu", backend="transformers").backend == "transformers"


def test_the_default_is_a_setting():
    get_settings().default_for_gguf = False  # %config LlamaCpp.default_for_gguf = False
    assert plan_model("smollm2", "causal-lm", device="cpu").backend == "transformers"
    assert plan_model("smollm2", "causal-lm", device="cpu", backend="llama.cpp").backend == "llama.cpp"


@pytest.mark.parametrize("value", ["0", "false", "Off"])
def test_the_default_can_be_turned_off_in_the_environment(monkeypatch, value):
    monkeypatch.setenv(DEFAULT_ENV, value)
    assert LlamaCpp().default_for_gguf is False
    assert plan_model("smollm2", "causal-lm", device="cpu").backend == "transformers"


def test_disabling_the_plugin_gives_the_gguf_default_back_to_transformers(monkeypatch):
    monkeypatch.setenv(DISABLE_ENV, "llamacpp")
    host = reload_plugins()
    assert host.statuses["llamacpp"].disabled and "llama.cpp" not in host.registry.backends
    assert plan_model("smollm2", "causal-lm", device="cpu").backend == "transformers"
    with pytest.raises(AIMagicsError, match="Backend 'llama.cpp' is not installed"):
        plan_model("smollm2", "causal-lm", device="cpu", backend="llama.cpp")
    assert row(plugins_report(), "llamacpp")[-1] == "disabled"


def test_it_refuses_what_it_cannot_load(tmp_path):
    with pytest.raises(AIMagicsError, match="cannot load transformers models"):
        plan_model(str(tmp_path), "causal-lm", device="cpu", backend="llama.cpp")
    missing = ModelSource("gone", str(tmp_path), kind="causal-lm", gguf_file="gone.gguf")
    with pytest.raises(AIMagicsError, match="There is no GGUF file"):
        plugin.load(LoadRequest(missing, "causal-lm", "cpu", "float32"))
    broken = tmp_path / "broken.gguf"
    broken.write_bytes(b"GGUF" + b"\0" * 64)
    source = ModelSource("broken", str(tmp_path), kind="causal-lm", gguf_file="broken.gguf")
    pytest.importorskip("llama_cpp")
    with pytest.raises(AIMagicsError, match="llama.cpp could not load"):
        plugin.load(LoadRequest(source, "causal-lm", "cpu", "float32"))


def test_the_memory_estimate_is_the_file_and_its_kv_cache(smollm2_gguf):
    source = ModelSource("smollm2", str(smollm2_gguf.parent), kind="causal-lm", gguf_file=smollm2_gguf.name)
    size = smollm2_gguf.stat().st_size
    estimate = plugin.estimate_bytes(LoadRequest(source, "causal-lm", "cpu", "float32"))
    # 30 layers x 4096 tokens x (576 x 3/9) dims x K and V x 2 bytes = 94 MiB of KV cache
    assert estimate == size + 2 * 30 * 4096 * 192 * 2
