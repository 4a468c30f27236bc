"""ShellSettings: one instance of a plugin's Configurable, joined to the running IPython shell."""

from __future__ import annotations

import pytest
from traitlets import Int
from traitlets.config import Configurable

from ai_magics.shell_settings import ShellSettings, running_shell


class Example(Configurable):
    size = Int(3).tag(config=True)


def fake_shell(*configurables: Configurable) -> Configurable:
    """A Configurable with a ``configurables`` list, as IPython's InteractiveShell has."""
    shell = Configurable()
    shell.configurables = list(configurables)
    return shell


def test_outside_ipython_it_is_one_plain_instance():
    settings = ShellSettings(Example, shell=lambda: None)
    first = settings.get()
    assert isinstance(first, Example) and settings.get() is first
    settings.reset()
    assert settings.get() is not first


def test_in_a_shell_it_joins_the_configurables_once_and_reset_leaves_them():
    other = Configurable()
    shell = fake_shell(other)
    settings = ShellSettings(Example, shell=lambda: shell)
    joined = settings.get()
    assert shell.configurables == [other, joined] and settings.get() is joined and joined.parent is shell
    joined.size = 7  # what %config Example.size = 7 does
    assert settings.get().size == 7
    settings.reset()
    assert shell.configurables == [other]
    assert settings.get().size == 3 and len(shell.configurables) == 2


def test_an_instance_already_in_the_shell_is_the_one_used():
    existing = Example(size=5)
    shell = fake_shell(existing)
    assert ShellSettings(Example, shell=lambda: shell).get() is existing


@pytest.mark.parametrize("shell", [Configurable(), None])
def test_a_shell_without_configurables_gives_a_plain_instance(shell):
    settings = ShellSettings(Example, shell=lambda: shell)
    assert settings.get() is settings.get() and settings.get().parent is None


def test_the_default_shell_is_ipythons_running_one():
    from IPython import get_ipython

    assert running_shell() is get_ipython()
