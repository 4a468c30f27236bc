"""%load_ext ai_magics in a fresh IPython: light to load, registers the magics, unloads cleanly, configurable."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

SCRIPT = textwrap.dedent(
    """
    import contextlib, io, json, sys
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    result = {}

    def heavy():
        return sorted(m for m in ("torch", "transformers", "sentence_transformers", "pandas") if m in sys.modules)

    def magics():
        return {
            "cell": sorted(shell.magics_manager.magics["cell"]),
            "line": sorted(shell.magics_manager.magics["line"]),
        }

    def capture(line):
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            shell.run_line_magic(*line.split(" ", 1))
        return out.getvalue()

    result["before"] = magics()
    shell.run_line_magic("load_ext", "ai_magics")
    result["heavy_after_load"] = heavy()
    result["loaded"] = magics()
    result["plugins_report"] = capture("ai_magics plugins")
    result["help_report"] = capture("ai_magics help")
    result["heavy_after_reports"] = heavy()

    from ai_magics.config import AIMagics, get_settings

    result["device_before"] = get_settings().device
    shell.run_line_magic("config", "AIMagics.device = 'cpu'")
    shell.run_line_magic("config", "AIMagics.memory_budget = '2GB'")
    result["device_after"] = get_settings().device
    result["budget_after"] = get_settings().memory_budget
    from ai_magics.cache import get_cache
    result["cache_budget"] = get_cache().budget("cpu")
    result["configurables"] = sum(isinstance(c, AIMagics) for c in shell.configurables)
    shell.run_line_magic("unload_ext", "ai_magics")
    result["unloaded"] = magics()
    result["configurables_after_unload"] = sum(isinstance(c, AIMagics) for c in shell.configurables)
    shell.run_line_magic("load_ext", "ai_magics")
    result["reloaded"] = magics()
    result["device_after_reload"] = get_settings().device

    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        shell.run_line_magic("config", "AIMagics.memory_budget = 'plenty'")
    result["bad_budget_output"] = err.getvalue()
    result["budget_after_bad"] = get_settings().memory_budget
    shell.run_line_magic("unload_ext", "ai_magics")
    try:
        shell.extension_manager.load_extension("ai_magics")
        result["reload_after_bad_config"] = "ok"
    except Exception as exc:
        result["reload_after_bad_config"] = f"{type(exc).__name__}: {exc}"
    print("RESULT=" + json.dumps(result))
    """
)


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory) -> dict:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONDONTWRITEBYTECODE": "1"}
    env.pop("AI_MAGICS_DISABLE_PLUGINS", None)
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=120, env=env,
        cwd=tmp_path_factory.mktemp("notebook-dir"),  # like a notebook elsewhere: the installed package is used
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    line = next(line for line in proc.stdout.splitlines() if line.startswith("RESULT="))
    return json.loads(line[len("RESULT=") :])


def test_loading_does_not_import_torch_or_transformers(session):
    assert session["heavy_after_load"] == []


def test_the_plugins_and_help_reports_stay_light_too(session):
    assert session["heavy_after_reports"] == []


def test_load_registers_the_task_magics_and_ai_magics(session):
    assert "generate" not in session["before"]["cell"] and "ai_magics" not in session["before"]["line"]
    assert "generate" in session["loaded"]["cell"]
    assert "ai_magics" in session["loaded"]["line"]


def test_ai_magics_reports_print(session):
    plugins = session["plugins_report"]
    assert "builtin-generate" in plugins and "tasks:" in plugins and "generate" in plugins
    assert "%%generate" in session["help_report"] and "%ai_magics plugins" in session["help_report"]


def test_config_changes_the_shared_settings(session):
    assert session["device_before"] == "auto"
    assert session["device_after"] == "cpu"
    assert session["budget_after"] == "2GB" and session["cache_budget"] == 2 * 10**9
    assert session["configurables"] == 1


def test_a_bad_config_value_is_reported(session):
    assert "Memory budget 'plenty' is not a size" in session["bad_budget_output"]


def test_a_bad_config_value_leaves_the_old_one(session):
    assert session["budget_after_bad"] == "2GB"


def test_a_bad_config_value_does_not_block_loading_the_extension_again(session):
    assert session["reload_after_bad_config"] == "ok"


def test_unload_removes_the_magics_and_the_configurable(session):
    assert session["unloaded"]["cell"] == session["before"]["cell"]
    assert session["unloaded"]["line"] == session["before"]["line"]
    assert session["configurables_after_unload"] == 0


def test_the_extension_can_be_loaded_again(session):
    assert session["reloaded"] == session["loaded"]
    assert session["device_after_reload"] == "cpu"  # the shell's config is applied to the new settings
