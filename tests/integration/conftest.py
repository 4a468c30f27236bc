"""Integration fixtures: a real IPython shell with the extension loaded, on the real default models."""

from __future__ import annotations

import os

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

