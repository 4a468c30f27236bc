"""Every registered task is reachable from Python through run_task, and a third-party task becomes a magic."""

from __future__ import annotations

import pytest

from ai_magics import AIMagicsError, hookimpl, run_task
from ai_magics.plugins import get_plugin_host
from ai_magics.registry import Task


class EchoPlugin:
    """A third-party task plugin, registered the way an entry point would be."""

    @hookimpl
    def ai_magics_register_tasks(self, register):
        def add_arguments(parser):
            parser.add_argument("--shout", action="store_true")
            parser.add_argument("--out")

        def run(args, body, context):
            result = body.upper() if args.shout else body
            context.store(args.out, result)
            return result

        register(Task("echo", "Echo the cell body.", add_arguments, run))


@pytest.fixture
def echo_plugin():
    host = get_plugin_host()
    host.add_plugin(EchoPlugin(), "echo-plugin", "test")
    yield
    host.remove_plugin("echo-plugin")


def test_run_task_uses_defaults_and_keyword_options(echo_plugin):
    namespace: dict = {}
    assert run_task("echo", "hi") == "hi"
    assert run_task("echo", "hi", user_ns=namespace, shout=True, out="loud") == "HI"
    assert namespace["loud"] == "HI"


def test_run_task_rejects_unknown_tasks_and_options(echo_plugin):
    with pytest.raises(AIMagicsError, match="Unknown task 'nope'"):
        run_task("nope")
    with pytest.raises(AIMagicsError, match="has no option 'loudness'.*shout"):
        run_task("echo", "x", loudness=3)


def test_third_party_task_becomes_a_cell_magic(echo_plugin):
    from IPython import get_ipython
    from IPython.testing.globalipapp import start_ipython

    shell = start_ipython() or get_ipython()  # the same global test shell the integration tests use
    was_loaded = "ai_magics" in shell.extension_manager.loaded
    shell.run_line_magic("reload_ext" if was_loaded else "load_ext", "ai_magics")
    try:
        result = shell.run_cell("%%echo --shout --out said\nhello {who}", store_history=False)
        assert result.success is False  # {who} is undefined: a clear error, not a traceback
        shell.user_ns["who"] = "world"
        result = shell.run_cell("%%echo --shout --out said\nhello {who}", store_history=False)
        assert result.success
        assert shell.user_ns["said"] == "HELLO WORLD\n" or shell.user_ns["said"] == "HELLO WORLD"
    finally:
        if not was_loaded:
            shell.run_line_magic("unload_ext", "ai_magics")
