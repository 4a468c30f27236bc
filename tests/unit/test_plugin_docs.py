"""docs/plugins.md: every hook spec is documented, and the documented example plugin works when installed."""

from __future__ import annotations

import importlib
import inspect
import re
import subprocess
import sys
from pathlib import Path

import pytest

import ai_magics.plugins as plugins
from ai_magics import hookspecs

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "plugins.md"
FILE_BLOCK = re.compile(r"<!-- file: (?P<name>[\w./-]+) -->\s*```\w*\n(?P<code>.*?)```", re.S)


def doc_text() -> str:
    return DOC.read_text(encoding="utf-8")


def hook_sections(text: str) -> dict[str, str]:
    """The text of each '### `ai_magics_...(...)`' section, keyed by hook name."""
    sections: dict[str, str] = {}
    parts = re.split(r"^### ", text, flags=re.M)
    for part in parts[1:]:
        match = re.match(r"`(ai_magics_\w+)\(([^)]*)\)`", part)
        if match:
            sections[match.group(1)] = part
    return sections


def documented_files() -> dict[str, str]:
    return {m.group("name"): m.group("code") for m in FILE_BLOCK.finditer(doc_text())}


def test_every_hookspec_is_documented_with_its_arguments():
    sections = hook_sections(doc_text())
    names = hookspecs.all_hook_names()
    assert len(names) >= 7
    for name in names:
        assert name in sections, f"docs/plugins.md has no '### `{name}(...)`' section"
        spec_args = list(inspect.signature(getattr(hookspecs, name)).parameters)
        heading = re.match(r"`\w+\(([^)]*)\)`", sections[name]).group(1)
        assert [a.strip() for a in heading.split(",") if a.strip()] == spec_args, (name, heading)
        body = sections[name].split("\n", 1)[1]
        assert len(body.split()) >= 20, f"the section on {name} says too little"
    assert set(sections) <= set(names), f"documented hooks that do not exist: {set(sections) - set(names)}"


def test_the_doc_names_the_reference_and_the_failure_cases():
    text = doc_text()
    assert "ai_magics/hookspecs.py" in text and "[project.entry-points.ai_magics]" in text
    phrases = ("failed to load", "rejected: PluginValidationError", "already registered",
               "AI_MAGICS_DISABLE_PLUGINS", "AIMagics.disabled_plugins", "TextGenerator")  # fmt: skip
    for phrase in phrases:
        assert phrase in text, phrase
    for link in re.findall(r"\]\((\.\./[^)#]+)\)", text):
        assert (DOC.parent / link).resolve().exists(), f"broken link {link}"


def test_the_documented_files_compile():
    files = documented_files()
    assert set(files) == {"ai_magics_parrot.py", "pyproject.toml"}
    compile(files["ai_magics_parrot.py"], "ai_magics_parrot.py", "exec")
    import tomllib

    project = tomllib.loads(files["pyproject.toml"])
    assert project["project"]["entry-points"]["ai_magics"] == {"parrot": "ai_magics_parrot"}


@pytest.fixture(scope="module")
def example_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The documented plugin, built and installed by pip from the files on the page into a folder (once)."""
    source = tmp_path_factory.mktemp("parrot-src")
    for name, code in documented_files().items():
        (source / name).write_text(code, encoding="utf-8")
    target = tmp_path_factory.mktemp("parrot-site")
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-deps",
         "--no-build-isolation", "--no-index", "--target", str(target), str(source)],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    assert any(target.glob("ai_magics_parrot-0.1.0.dist-info/entry_points.txt"))
    return target


@pytest.fixture
def installed_example(example_site: Path, monkeypatch: pytest.MonkeyPatch):
    """The installed example on sys.path, with a new plugin host that will find its entry point."""
    monkeypatch.syspath_prepend(str(example_site))
    importlib.invalidate_caches()
    monkeypatch.setattr(plugins, "_host", None)
    yield
    sys.modules.pop("ai_magics_parrot", None)


def test_the_documented_example_plugin_runs_for_real(installed_example, capsys):
    from ai_magics.magics import AIMagicsLineMagic, run_task_magic
    from ai_magics.models.loading import plan_model

    host = plugins.get_plugin_host()
    status = host.statuses["parrot"]
    assert status.ok and not status.problems and status.origin == "ai-magics-parrot"
    registry = host.registry
    assert registry.owners[("tasks", "shout")] == "parrot"
    assert registry.owners[("models", "parrot")] == "parrot"
    assert "parrot" in registry.backends

    # %%shout, as the cell magic runs it: options parsed, {name} filled in, --out stored
    namespace = {"name": "ada"}
    assert run_task_magic("shout", "--times 2 --out loud", "hello {name}\n", namespace) == "HELLO ADA HELLO ADA"
    assert namespace["loud"] == "HELLO ADA HELLO ADA"
    import ai_magics

    assert ai_magics.run_task("shout", "hi", times=3) == "HI HI HI"

    # %%generate --model parrot: the alias resolves, the plugin's select hook picks its backend, it streams
    assert plan_model("parrot", "causal-lm", device="cpu").backend == "parrot"
    capsys.readouterr()
    said = run_task_magic("generate", "--model parrot --max-new-tokens 6 --out said", "one two three", namespace)
    assert said == namespace["said"] == "one two three one two three"
    printed = capsys.readouterr().out
    assert "one two three one two three" in printed and "6 tokens" in printed and "tok/s" in printed
    stopped = run_task_magic("generate", "--model parrot -n 20 --stop four", "one two three four five", namespace)
    assert stopped == "one two three "

    parrot = sys.modules["ai_magics_parrot"]
    assert ("generate", "parrot", 6) in parrot.finished_runs

    # %ai_magics plugins, as the line magic prints it
    AIMagicsLineMagic(shell=None).ai_magics("plugins")
    report = capsys.readouterr().out
    row = next(line.split() for line in report.splitlines() if line.startswith("parrot "))
    assert row == ["parrot", "ai-magics-parrot", "ok"]
    assert "shout" in report and "Problems" not in report.split("tasks:")[0].split("parrot")[0]


def test_the_documented_plugin_can_be_turned_off(installed_example, monkeypatch):
    monkeypatch.setenv(plugins.DISABLE_ENV, "parrot")
    host = plugins.reload_plugins()
    assert host.statuses["parrot"].disabled
    assert "shout" not in host.registry.tasks and "parrot" not in host.registry.models
    assert "ai_magics_parrot" not in sys.modules  # never imported


def test_the_readme_links_the_plugin_guide():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "](docs/plugins.md)" in readme
    for plugin in ("plugins/ai-magics-llamacpp", "plugins/ai-magics-openai"):
        assert f"]({plugin})" in readme and (ROOT / plugin / "README.md").exists()
