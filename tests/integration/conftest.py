"""Integration fixtures: a real IPython shell with the extension loaded, on the real default models."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")


@pytest.fixture(scope="session")
def shell():
    """A real (terminal-style) IPython shell with ``%load_ext ai_magics``."""
    from IPython import get_ipython
    from IPython.testing.globalipapp import start_ipython

    ip = start_ipython() or get_ipython()  # start_ipython returns None after the first call
    ip.run_line_magic("load_ext", "ai_magics")
    yield ip


@pytest.fixture
def run(shell):
    """Run a cell; return IPython's ExecutionResult."""

    def _run(source: str):
        return shell.run_cell(source, store_history=False)

    return _run



@pytest.fixture
def add_plugin() -> Iterator[Callable[[object, str], None]]:
    """Add plugins to the shared host for one test (integration tests share the host); removed after."""
    from ai_magics.plugins import get_plugin_host

    added: list[str] = []

    def _add(plugin: object, name: str) -> None:
        assert get_plugin_host().add_plugin(plugin, name)
        added.append(name)

    yield _add
    for name in added:
        get_plugin_host().remove_plugin(name)
