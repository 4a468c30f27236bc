"""The plugin host: broken plugins are reported with their reason and never stop the built-in ones."""

from __future__ import annotations

import importlib
import sys
import uuid
from pathlib import Path

import pytest

import ai_magics.plugins as plugins
from ai_magics import hookimpl
from ai_magics.events import DoneEvent, TokenEvent
from ai_magics.plugins import BUILTIN_PLUGINS, DISABLE_ENV, PluginHost, get_plugin_host, reload_plugins
from ai_magics.registry import Backend, ModelAlias, ModelSource, Task
from ai_magics.report import plugins_report

BUILTIN_TASKS = {"generate"}
BUILTIN_MODELS = {"smollm2", "minilm"}


def make_task(name: str, summary: str = "a test task") -> Task:
    return Task(name, summary, lambda parser: None, lambda args, body, context: body.upper())


def state_of(report: str, plugin: str) -> str:
    """The 'state' column of ``plugin``'s row in the plugins table."""
    for line in report.splitlines():
        cells = line.split()
        if cells and cells[0] == plugin:
            return cells[-1]
    raise AssertionError(f"{plugin!r} is not in the report:\n{report}")


def listed(report: str, what: str) -> set[str]:
    """The names on the report's 'tasks:' / 'models:' / 'backends:' line."""
    line = next(line for line in report.splitlines() if line.startswith(f"{what}: "))
    return set(line[len(what) + 2 :].split(", "))


def assert_builtins_work(host: PluginHost) -> None:
    registry = host.registry
    assert BUILTIN_TASKS <= set(registry.tasks) and BUILTIN_MODELS <= set(registry.models)
    assert registry.owners[("tasks", "generate")] == "builtin-generate"
    assert registry.owners[("models", "smollm2")] == "builtin-models"
    assert "transformers" in registry.backends
    for name in BUILTIN_PLUGINS:
        assert host.statuses[name].ok and not host.statuses[name].problems, host.statuses[name]
    from ai_magics.magics import task_parser

    args = task_parser("generate").parse_args(["-n", "5", "--temperature", "0"])
    assert args.max_new_tokens == 5 and args.temperature == 0.0


@pytest.fixture
def host(monkeypatch: pytest.MonkeyPatch) -> PluginHost:
    """A host with the built-in plugins only, installed as the process-wide one (what %ai_magics reports)."""
    host = PluginHost(load_entry_points=False)
    monkeypatch.setattr(plugins, "_host", host)
    return host


@pytest.fixture
def site_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A folder on sys.path for fake installed distributions; their modules are forgotten afterwards."""
    site = tmp_path / "site"
    site.mkdir()
    monkeypatch.syspath_prepend(str(site))
    before = set(sys.modules)
    yield site
    for name in set(sys.modules) - before:
        if name.startswith("fake_ai_plugin_"):
            del sys.modules[name]


def install_fake_dist(site: Path, dist: str, entry_points: dict[str, str], modules: dict[str, str]) -> None:
    info = site / f"{dist.replace('-', '_')}-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 0.1\n")
    lines = "".join(f"{name} = {target}\n" for name, target in entry_points.items())
    (info / "entry_points.txt").write_text(f"[ai_magics]\n{lines}")
    for module, source in modules.items():
        (site / f"{module}.py").write_text(source)
    importlib.invalidate_caches()


def unique(prefix: str = "fake_ai_plugin_") -> str:
    return prefix + uuid.uuid4().hex[:8]


# -- the built-in plugins ------------------------------------------------------------------------------------


def test_builtin_plugins_register_tasks_models_and_backends(host):
    assert_builtins_work(host)
    report = plugins_report()
    for name in BUILTIN_PLUGINS:
        assert state_of(report, name) == "ok"
    assert "Problems" not in report
    assert BUILTIN_TASKS <= listed(report, "tasks") and BUILTIN_MODELS <= listed(report, "models")
    assert "transformers" in listed(report, "backends")


def test_get_plugin_host_is_shared_and_reload_replaces_it():
    first = get_plugin_host()
    assert get_plugin_host() is first
    second = reload_plugins()
    assert second is not first and get_plugin_host() is second
    assert_builtins_work(second)


# -- plugins that fail to load -------------------------------------------------------------------------------


def test_a_loader_raising_import_error_is_reported(host):
    def missing_dependency():
        raise ImportError("No module named 'cuda_ext'")

    host._load("needs-cuda", "cuda-plugin 1.0", missing_dependency)
    status = host.statuses["needs-cuda"]
    assert not status.ok and status.problems == ["failed to load: ImportError: No module named 'cuda_ext'"]
    report = plugins_report()
    assert state_of(report, "needs-cuda") == "PROBLEM"
    assert "- needs-cuda: failed to load: ImportError: No module named 'cuda_ext'" in report
    assert "the other plugins work as usual" in report
    assert_builtins_work(host)


def test_a_module_that_raises_on_import_is_reported(host, site_dir):
    module = unique()
    (site_dir / f"{module}.py").write_text("raise RuntimeError('this plugin needs a GPU driver')\n")
    importlib.invalidate_caches()
    host._load("raises-on-import", "a file", lambda: importlib.import_module(module))
    assert host.statuses["raises-on-import"].problems == [
        "failed to load: RuntimeError: this plugin needs a GPU driver"
    ]
    assert "- raises-on-import: failed to load: RuntimeError: this plugin needs a GPU driver" in plugins_report()
    assert_builtins_work(host)


def test_even_system_exit_on_import_is_contained(host):
    def exits():
        raise SystemExit(3)

    host._load("exits", "x", exits)
    assert host.statuses["exits"].problems == ["failed to load: SystemExit: 3"]
    assert_builtins_work(host)


def test_keyboard_interrupt_while_loading_a_plugin_is_not_swallowed(host):
    def interrupted():
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        host._load("slow", "x", interrupted)


def test_installed_entry_points_load_and_broken_ones_are_reported(site_dir):
    good, broken = unique(), unique()
    install_fake_dist(
        site_dir,
        "fake-plugins",
        {
            "echo": f"{good}",
            "broken-import": f"{broken}",
            "missing-module": f"{unique()}",
            "missing-attr": f"{good}:no_such_object",
        },
        {
            good: (
                "from ai_magics import hookimpl\n"
                "from ai_magics.registry import Task\n"
                "@hookimpl\n"
                "def ai_magics_register_tasks(register):\n"
                "    register(Task('echo', 'repeat the cell', lambda p: None, lambda a, b, c: b))\n"
            ),
            broken: "import a_dependency_that_is_not_installed\n",
        },
    )
    host = get_plugin_host()  # the real thing: reads the entry points of every installed distribution
    registry = host.registry
    assert "echo" in registry.tasks and registry.owners[("tasks", "echo")] == "echo"
    assert host.statuses["echo"].origin == "fake-plugins" and host.statuses["echo"].ok
    report = plugins_report()
    assert state_of(report, "echo") == "ok"
    missing = "No module named 'a_dependency_that_is_not_installed'"
    assert f"- broken-import: failed to load: ModuleNotFoundError: {missing}" in report
    assert state_of(report, "missing-module") == "PROBLEM"
    assert "- missing-module: failed to load: ModuleNotFoundError" in report
    assert "- missing-attr: failed to load: AttributeError" in report and "no_such_object" in report
    assert {"echo", "generate"} <= listed(report, "tasks")
    assert_builtins_work(host)


# -- plugins that register wrongly ---------------------------------------------------------------------------


def test_a_plugin_with_a_wrong_hook_signature_is_rejected(host):
    class WrongSignature:
        @hookimpl
        def ai_magics_register_tasks(self, register, extra_argument):
            register(make_task("never"))

    assert host.add_plugin(WrongSignature(), "wrong-signature", "wrong-dist") is False
    status = host.statuses["wrong-signature"]
    assert not status.ok and len(status.problems) == 1
    assert status.problems[0].startswith("rejected: PluginValidationError")
    assert "extra_argument" in status.problems[0]
    report = plugins_report()
    assert state_of(report, "wrong-signature") == "PROBLEM"
    assert "- wrong-signature: rejected: PluginValidationError" in report
    assert "never" not in host.registry.tasks
    assert_builtins_work(host)


def test_a_plugin_whose_hook_raises_is_reported(host):
    class Raises:
        @hookimpl
        def ai_magics_register_tasks(self, register):
            raise RuntimeError("boom while registering")

    class Fine:
        @hookimpl
        def ai_magics_register_tasks(self, register):
            register(make_task("fine"))

    assert host.add_plugin(Raises(), "raises") and host.add_plugin(Fine(), "fine")
    assert "fine" in host.registry.tasks
    assert host.statuses["raises"].problems == ["ai_magics_register_tasks raised RuntimeError: boom while registering"]
    report = plugins_report()
    assert state_of(report, "raises") == "PROBLEM" and state_of(report, "fine") == "ok"
    assert "- raises: ai_magics_register_tasks raised RuntimeError: boom while registering" in report
    assert_builtins_work(host)


def test_registering_the_wrong_kind_of_object_is_reported(host):
    class WrongType:
        @hookimpl
        def ai_magics_register_models(self, register):
            register("tinyllama")

    host.add_plugin(WrongType(), "wrong-type")
    assert "tinyllama" not in host.registry.models  # problems are found when the registry is built
    assert host.statuses["wrong-type"].problems == [
        "ai_magics_register_models raised TypeError: register() for models takes a ModelAlias, not str"
    ]
    assert_builtins_work(host)


def test_a_conflict_between_two_plugins_is_reported_and_one_registration_kept(host):
    class First:
        @hookimpl
        def ai_magics_register_tasks(self, register):
            register(make_task("summarise", "first"))

    class Second:
        @hookimpl
        def ai_magics_register_tasks(self, register):
            register(make_task("summarise", "second"))

    host.add_plugin(First(), "first-plugin")
    host.add_plugin(Second(), "second-plugin")
    registry = host.registry
    assert len(registry.conflicts) == 1
    loser, message = registry.conflicts[0]
    winner = registry.owners[("tasks", "summarise")]
    assert {loser, winner} == {"first-plugin", "second-plugin"}
    assert registry.tasks["summarise"].summary == winner.split("-")[0]
    assert message == (
        f"plugin {loser!r} registers task 'summarise', which plugin {winner!r} already registered; "
        f"{winner!r}'s is kept (disable one of them to choose)"
    )
    report = plugins_report()
    assert f"- {loser}: {message}" in report and state_of(report, loser) == "PROBLEM"
    assert state_of(report, winner) == "ok"
    assert_builtins_work(host)


def test_a_duplicate_of_a_builtin_task_or_alias_keeps_the_builtin(host):
    class Duplicate:
        @hookimpl
        def ai_magics_register_tasks(self, register):
            register(make_task("generate", "an impostor"))

        @hookimpl
        def ai_magics_register_models(self, register):
            register(ModelAlias("smollm2", "causal-lm", lambda: ModelSource("other", "/nowhere"), "impostor"))

    host.add_plugin(Duplicate(), "duplicate")
    registry = host.registry
    assert registry.tasks["generate"].summary != "an impostor"
    assert registry.models["smollm2"].description != "impostor"
    assert [plugin for plugin, _message in registry.conflicts] == ["duplicate", "duplicate"]
    report = plugins_report()
    assert state_of(report, "duplicate") == "PROBLEM" and state_of(report, "builtin-generate") == "ok"
    assert "- duplicate: plugin 'duplicate' registers task 'generate', which plugin 'builtin-generate'" in report
    assert_builtins_work(host)


def test_adding_and_removing_a_plugin_rebuilds_the_registry(host):
    class Extra:
        @hookimpl
        def ai_magics_register_tasks(self, register):
            register(make_task("extra"))

    assert "extra" not in host.registry.tasks
    host.add_plugin(Extra(), "extra")
    assert "extra" in host.registry.tasks
    host.remove_plugin("extra")
    assert "extra" not in host.registry.tasks and "extra" not in host.statuses


# -- disabling -----------------------------------------------------------------------------------------------


def test_disabling_plugins_with_the_environment_variable(monkeypatch, site_dir):
    broken = unique()
    install_fake_dist(site_dir, "fake-broken", {"broken": broken}, {broken: "raise ImportError('nope')\n"})
    monkeypatch.setenv(DISABLE_ENV, " builtin-generate , broken,")
    assert plugins.disabled_plugins() == {"builtin-generate", "broken"}
    host = reload_plugins()
    assert host.statuses["builtin-generate"].disabled and host.statuses["broken"].disabled
    assert not host.statuses["broken"].problems  # never imported
    assert "generate" not in host.registry.tasks
    assert BUILTIN_MODELS <= set(host.registry.models)
    report = plugins_report()
    assert state_of(report, "builtin-generate") == "disabled" and state_of(report, "broken") == "disabled"
    assert "Problems" not in report
    monkeypatch.delenv(DISABLE_ENV)
    assert "generate" in reload_plugins().registry.tasks


def test_disabling_plugins_with_the_setting():
    from ai_magics.config import get_settings

    get_settings().disabled_plugins = "builtin-models"
    host = reload_plugins()
    assert host.statuses["builtin-models"].disabled and BUILTIN_MODELS.isdisjoint(host.registry.models)
    assert "generate" in host.registry.tasks


# -- backend selection ---------------------------------------------------------------------------------------

SOURCE = ModelSource("some-model", "/models/some-model", kind="causal-lm")


def fake_backend(name: str = "fake", formats: tuple[str, ...] = ("transformers", "gguf")) -> Backend:
    return Backend(name, ("causal-lm",), formats, load=lambda request: object(), description="a fake backend")


def test_builtin_backend_is_selected_by_default(host):
    assert host.select_backend(SOURCE, "causal-lm", "cpu") == "transformers"
    assert host.select_backend(SOURCE, "image-generator", "cpu") is None


def test_a_plugins_select_backend_overrides_the_trylast_builtin(host):
    class Chooser:
        @hookimpl
        def ai_magics_register_backends(self, register):
            register(fake_backend())

        @hookimpl
        def ai_magics_select_backend(self, source, kind, device):
            return "fake" if source.file_format == "gguf" else None

    host.add_plugin(Chooser(), "chooser")
    gguf = ModelSource("m", "/models", kind="causal-lm", gguf_file="m.gguf")
    assert host.select_backend(gguf, "causal-lm", "cpu") == "fake"
    assert host.select_backend(SOURCE, "causal-lm", "cpu") == "transformers"  # None passes to the built-in
    # pluggy's own firstresult call agrees with the host's loop
    assert host.pm.hook.ai_magics_select_backend(source=gguf, kind="causal-lm", device="cpu") == "fake"

    from ai_magics.models.loading import plan_model

    plan = plan_model("smollm2", "causal-lm", device="cpu")
    assert plan.backend == "fake" and plan.key.backend == "fake"
    assert plan_model("smollm2", "causal-lm", device="cpu", backend="transformers").backend == "transformers"


def test_an_answer_naming_no_installed_backend_falls_through(host):
    class Confused:
        @hookimpl
        def ai_magics_select_backend(self, source, kind, device):
            return "llama-cpp"

    host.add_plugin(Confused(), "confused")
    assert host.select_backend(SOURCE, "causal-lm", "cpu") == "transformers"


def test_a_select_backend_that_raises_is_reported_and_skipped(host):
    class Raises:
        @hookimpl
        def ai_magics_select_backend(self, source, kind, device):
            raise LookupError("no GPU table")

    host.add_plugin(Raises(), "raises")
    assert host.select_backend(SOURCE, "causal-lm", "cpu") == "transformers"
    assert host.statuses["raises"].problems == ["ai_magics_select_backend raised LookupError: no GPU table"]
    assert "- raises: ai_magics_select_backend raised LookupError: no GPU table" in plugins_report()


def test_hook_implementations_may_take_a_subset_of_the_arguments(host):
    seen: list[str] = []

    class Subset:
        @hookimpl
        def ai_magics_register_backends(self, register):
            register(fake_backend())

        @hookimpl
        def ai_magics_select_backend(self, kind):
            return "fake" if kind == "causal-lm" else None

        @hookimpl
        def ai_magics_on_done(self):
            seen.append("done")

    assert host.add_plugin(Subset(), "subset")  # pluggy accepts it
    assert host.select_backend(SOURCE, "causal-lm", "cpu") == "fake"
    host.emit("ai_magics_on_done", DoneEvent("generate", "m", False))
    assert seen == ["done"]
    assert host.statuses["subset"].ok and not host.statuses["subset"].problems


# -- events --------------------------------------------------------------------------------------------------


def test_emit_reaches_every_listener_and_reports_one_that_raises(host):
    received: list[object] = []

    class Raising:
        @hookimpl
        def ai_magics_on_token(self, event):
            raise ValueError("listener bug")

    class Recording:
        @hookimpl
        def ai_magics_on_token(self, event):
            received.append(event)

        @hookimpl
        def ai_magics_on_done(self, event):
            received.append(event)

    assert not host.has_listeners("ai_magics_on_token")
    host.add_plugin(Raising(), "raising")
    host.add_plugin(Recording(), "recording")
    assert host.has_listeners("ai_magics_on_token") and host.has_listeners("ai_magics_on_done")
    assert not host.has_listeners("ai_magics_on_train_step")
    first, second = TokenEvent("generate", "m", "Hel", 1), TokenEvent("generate", "m", "lo", 2)
    host.emit("ai_magics_on_token", first)
    host.emit("ai_magics_on_token", second)
    done = DoneEvent("generate", "m", stopped=True, summary={"tokens": 2})
    host.emit("ai_magics_on_done", done)
    assert received == [first, second, done]
    assert host.statuses["raising"].problems == ["ai_magics_on_token raised ValueError: listener bug"]  # once
    assert host.statuses["recording"].ok
    report = plugins_report()
    assert state_of(report, "raising") == "PROBLEM"
    assert "- raising: ai_magics_on_token raised ValueError: listener bug" in report
    assert_builtins_work(host)
