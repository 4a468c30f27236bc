"""One process-wide instance of a plugin's settings class, joined to the running IPython shell.

A plugin's ``traitlets.config.Configurable`` (say ``MyPlugin``) must sit in the shell's ``configurables`` for
``%config MyPlugin.option = ...`` to reach it and for ``c.MyPlugin.option`` in ``ipython_config.py`` to apply.
``ShellSettings(MyPlugin).get()`` returns that instance, creating and joining it on first use; outside IPython it is
a plain instance::

    _settings = ShellSettings(MyPlugin)

    def get_settings() -> MyPlugin:
        return _settings.get()
"""

from __future__ import annotations

from typing import Any, Callable, Generic, TypeVar

from traitlets.config import Configurable

C = TypeVar("C", bound=Configurable)


def running_shell() -> Any:
    """The running IPython shell, or None."""
    from IPython import get_ipython

    return get_ipython()


class ShellSettings(Generic[C]):
    """The one instance of ``cls``: the shell's (so ``%config`` changes it), else a process-wide plain one.

    ``shell`` finds the shell (default: IPython's running one); tests pass ``lambda: None`` to stay out of theirs."""

    def __init__(self, cls: type[C], shell: Callable[[], Any] = running_shell) -> None:
        self._cls = cls
        self._shell = shell
        self._instance: C | None = None

    def get(self) -> C:
        """The instance in the running shell's configurables (created and added there on first use)."""
        shell = self._shell()
        configurables = getattr(shell, "configurables", None) if shell is not None else None
        if configurables is None:
            if self._instance is None:
                self._instance = self._cls()
            return self._instance
        for configurable in configurables:
            if isinstance(configurable, self._cls):
                self._instance = configurable
                return configurable
        self._instance = self._cls(parent=shell)
        configurables.append(self._instance)
        return self._instance

    def reset(self) -> None:
        """Forget the instance, in the shell too (tests); the next :meth:`get` makes a new one."""
        shell = self._shell()
        if shell is not None and getattr(shell, "configurables", None) is not None:
            shell.configurables[:] = [c for c in shell.configurables if not isinstance(c, self._cls)]
        self._instance = None
