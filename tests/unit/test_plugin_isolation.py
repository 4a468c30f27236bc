"""Broken plugins all at once, as installed distributions: `%ai_magics plugins` shows every reason while the
built-in magics and the working plugins keep working; and a conflict the user settles by disabling a plugin.

The single cases (one failure at a time, on the host directly) are in test_plugins.py; its helpers are reused.
"""

from __future__ import annotations

import sys

import pytest
from test_plugins import (  # noqa: F401  (site_dir is a fixture)
    assert_builtins_work,
    install_fake_dist,
    listed,
    site_dir,
    state_of,
    unique,
)

import ai_magics.plugins as plugins
from ai_magics.plugins import DISABLE_ENV, get_plugin_host, reload_plugins

GOOD = '''
from ai_magics import hookimpl
from ai_magics.registry import Backend, ModelAlias, ModelSource, Task

class Words:
    nbytes = 1
    def has_chat_template(self):
        return False
    def format_chat(self, messages):
        raise NotImplementedError
    def stream(self, prompt, options, should_stop, chat=False):
        words = prompt.split()
        for i in range(min(options.max_new_tokens, len(words))):
            if should_stop():
                return
            yield (" " if i else "") + words[i]

@hookimpl
def ai_magics_register_backends(register):
    register(Backend("words", ("causal-lm",), ("words",), lambda request: Words()))

@hookimpl
def ai_magics_register_models(register):
    register(ModelAlias("words", "causal-lm", lambda: ModelSource("words", "", kind="causal-lm", file_format="words")))

@hookimpl
def ai_magics_register_tasks(register):
    register(Task("count", "Count the words of the cell.", lambda parser: None, lambda a, body, c: len(body.split())))

@hookimpl
def ai_magics_select_backend(source, kind, device):
    return "words" if source.file_format == "words" else None

seen = []

@hookimpl
def ai_magics_on_token(event):
    seen.append(event.text)
'''

RAISES_ON_IMPORT = "raise RuntimeError('needs a GPU driver')\n"

HOOK_RAISES = '''
from ai_magics import hookimpl

@hookimpl
def ai_magics_register_models(register):
    raise KeyError("model table missing")

@hookimpl
def ai_magics_on_token(event):
    raise ValueError("listener bug")
'''

WRONG_SIGNATURE = '''
from ai_magics import hookimpl

@hookimpl
def ai_magics_register_tasks(register, priority):
    pass
'''

DUPLICATES = '''
from ai_magics import hookimpl
from ai_magics.registry import ModelAlias, ModelSource, Task

@hookimpl
def ai_magics_register_models(register):
    register(ModelAlias("smollm2", "causal-lm", lambda: ModelSource("impostor", "/nowhere"), "impostor"))

@hookimpl
def ai_magics_register_tasks(register):
    register(Task("generate", "impostor", lambda parser: None, lambda a, b, c: "impostor"))
'''


def plugins_output(capsys: pytest.CaptureFixture) -> str:
    """What `%ai_magics plugins` prints, through the line magic itself."""
    from ai_magics.magics import AIMagicsLineMagic

    capsys.readouterr()
    AIMagicsLineMagic(shell=None).ai_magics("plugins")
    return capsys.readouterr().out


def test_every_kind_of_broken_plugin_is_shown_with_its_reason_while_the_rest_works(site_dir, capsys):
    from ai_magics.magics import run_task_magic

    good, raises, hooks, wrong, dupes = (unique() for _ in range(5))
    install_fake_dist(
        site_dir,
        "fake-plugin-zoo",
        {
            "good": good,
            "fails-to-import": raises,
            "missing-object": f"{good}:NoSuchPlugin",
            "hook-raises": hooks,
            "wrong-signature": wrong,
            "duplicates": dupes,
        },
        {good: GOOD, raises: RAISES_ON_IMPORT, hooks: HOOK_RAISES, wrong: WRONG_SIGNATURE, dupes: DUPLICATES},
    )
    host = get_plugin_host()
    namespace: dict = {}
    # the working plugin works: its task, its alias, its backend chosen by its select hook, its event hook
    assert run_task_magic("count", "", "one two three", namespace) == 3
    text = run_task_magic("generate", "--model words -n 3 --out said", "alpha beta gamma delta", namespace)
    assert text == namespace["said"] == "alpha beta gamma"
    assert sys.modules[good].seen == ["alpha", " beta", " gamma"]  # on_token of the good plugin ran...
    assert host.statuses["hook-raises"].problems[-1] == "ai_magics_on_token raised ValueError: listener bug"

    report = plugins_output(capsys)
    assert state_of(report, "good") == "ok"
    for name in ("fails-to-import", "missing-object", "hook-raises", "wrong-signature", "duplicates"):
        assert state_of(report, name) == "PROBLEM", name
    assert "- fails-to-import: failed to load: RuntimeError: needs a GPU driver" in report
    assert "- missing-object: failed to load: AttributeError" in report and "NoSuchPlugin" in report
    assert "- hook-raises: ai_magics_register_models raised KeyError: 'model table missing'" in report
    assert "- hook-raises: ai_magics_on_token raised ValueError: listener bug" in report
    assert "- wrong-signature: rejected: PluginValidationError" in report and "priority" in report
    assert (
        "- duplicates: plugin 'duplicates' registers model 'smollm2', which plugin 'builtin-models' already "
        "registered; 'builtin-models''s is kept (disable one of them to choose)"
    ) in report
    assert "- duplicates: plugin 'duplicates' registers task 'generate', which plugin 'builtin-generate'" in report
    assert "the other plugins work as usual" in report
    assert {"count", "generate"} <= listed(report, "tasks") and {"words", "smollm2"} <= listed(report, "models")
    assert "words" in listed(report, "backends")
    # the built-ins are untouched: the real generate task and smollm2 alias, and every built-in reported ok
    assert_builtins_work(host)
    assert host.registry.models["smollm2"].description != "impostor"


CLAIMS_SUMMARISE = '''
from ai_magics import hookimpl
from ai_magics.registry import Task

@hookimpl
def ai_magics_register_tasks(register):
    register(Task("summarise", {who!r}, lambda parser: None, lambda a, b, c: {who!r}))
'''


def test_a_conflict_keeps_the_first_until_the_user_disables_it(site_dir, monkeypatch, capsys):
    from ai_magics.config import get_settings

    first, second = unique(), unique()
    install_fake_dist(
        site_dir,
        "fake-summarisers",
        {"summarise-a": first, "summarise-b": second},
        {first: CLAIMS_SUMMARISE.format(who="a"), second: CLAIMS_SUMMARISE.format(who="b")},
    )
    host = get_plugin_host()
    owner = host.registry.owners[("tasks", "summarise")]
    other = ({"summarise-a", "summarise-b"} - {owner}).pop()
    report = plugins_output(capsys)
    conflict = f"- {other}: plugin {other!r} registers task 'summarise', which plugin {owner!r} already registered"
    assert conflict in report

    # the user chooses the other one: with the environment variable...
    monkeypatch.setenv(DISABLE_ENV, owner)
    host = reload_plugins()
    assert host.registry.owners[("tasks", "summarise")] == other
    report = plugins_output(capsys)
    assert state_of(report, owner) == "disabled" and state_of(report, other) == "ok"
    assert "Problems" not in report

    # ...or with the setting (%config AIMagics.disabled_plugins), the environment variable unset
    monkeypatch.delenv(DISABLE_ENV)
    get_settings().disabled_plugins = owner
    assert reload_plugins().registry.owners[("tasks", "summarise")] == other
    get_settings().disabled_plugins = ""
    assert reload_plugins().registry.owners[("tasks", "summarise")] == owner


def test_the_disabled_list_reaches_installed_plugins_by_entry_point_name(site_dir, monkeypatch):
    good = unique()
    install_fake_dist(site_dir, "fake-good", {"good-one": good}, {good: GOOD})
    monkeypatch.setenv(DISABLE_ENV, "good-one")
    host = reload_plugins()
    assert host.statuses["good-one"].disabled and host.statuses["good-one"].origin == "fake-good"
    assert "count" not in host.registry.tasks and "words" not in host.registry.backends
    assert good not in sys.modules  # a disabled plugin is never imported
    assert plugins.disabled_plugins() == {"good-one"}


# -- with the core patches: registration order, misspelled hooks, ai_magics_resolve_model ----------------------


def test_trylast_cannot_make_a_plugin_take_over_a_builtin_task():
    from ai_magics import hookimpl
    from ai_magics.plugins import PluginHost
    from ai_magics.registry import Task

    class Hijack:
        @hookimpl(trylast=True)
        def ai_magics_register_tasks(self, register):
            register(Task("generate", "hijacked", lambda parser: None, lambda a, b, c: "hijacked"))

    host = PluginHost(load_entry_points=False)
    host.add_plugin(Hijack(), "hijack")
    assert host.registry.owners[("tasks", "generate")] == "builtin-generate"
    assert [plugin for plugin, _ in host.registry.conflicts] == ["hijack"]
    assert host.statuses["builtin-generate"].ok and not host.statuses["builtin-generate"].problems


def test_a_misspelled_hook_is_reported_instead_of_silently_ignored(monkeypatch):
    from ai_magics import hookimpl
    from ai_magics.plugins import PluginHost
    from ai_magics.report import plugins_report

    class Typo:
        @hookimpl
        def ai_magics_register_task(self, register):  # missing "s"
            pass

        @hookimpl(optionalhook=True)
        def ai_magics_future_hook(self, event):  # declared optional: fine
            pass

    host = PluginHost(load_entry_points=False)
    monkeypatch.setattr(plugins, "_host", host)
    assert host.add_plugin(Typo(), "typo")
    assert host.statuses["typo"].problems == [
        "implements ai_magics_register_task, which is not a hook (misspelled?); the hooks are: "
        + ", ".join(__import__("ai_magics.hookspecs", fromlist=["x"]).all_hook_names())
    ]
    assert state_of(plugins_report(), "typo") == "PROBLEM"
    assert_builtins_work(host)


def test_plugins_resolve_model_names_of_their_own(monkeypatch):
    from ai_magics import hookimpl
    from ai_magics.errors import AIMagicsError
    from ai_magics.models.loading import plan_model
    from ai_magics.plugins import PluginHost
    from ai_magics.registry import Backend, ModelSource

    class Remote:
        @hookimpl
        def ai_magics_register_backends(self, register):
            register(Backend("remote", ("causal-lm",), ("remote",), lambda request: object()))

        @hookimpl
        def ai_magics_resolve_model(self, name):
            if name.startswith("remote:"):
                if name == "remote:":
                    raise AIMagicsError("remote: needs a model name after the colon.")
                return ModelSource(name, "", kind="causal-lm", file_format="remote")
            return None

        @hookimpl
        def ai_magics_select_backend(self, source):
            return "remote" if source.file_format == "remote" else None

    class Broken:
        @hookimpl
        def ai_magics_resolve_model(self, name):
            raise LookupError("no table")

    host = PluginHost(load_entry_points=False)
    monkeypatch.setattr(plugins, "_host", host)
    host.add_plugin(Remote(), "remote")
    host.add_plugin(Broken(), "broken")
    plan = plan_model("remote:big-model", "causal-lm", device="cpu")
    assert (plan.source.model_id, plan.backend) == ("remote:big-model", "remote")
    assert host.statuses["broken"].problems == ["ai_magics_resolve_model raised LookupError: no table"]
    with pytest.raises(AIMagicsError, match="needs a model name"):
        plan_model("remote:", "causal-lm", device="cpu")
    assert plan_model("smollm2", "causal-lm", device="cpu").source.model_id == "smollm2"  # aliases come first
    with pytest.raises(AIMagicsError, match="Unknown model 'elsewhere:x'"):
        plan_model("elsewhere:x", "causal-lm", device="cpu")
