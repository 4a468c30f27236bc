"""The IPython extension: one cell magic per registered task, and the ``%ai_magics`` line magic.

Kept thin: parse the line, fill ``{name}`` fields, call the task, and turn errors into short messages.
"""

from __future__ import annotations

import sys
import traceback
from typing import Any, Callable

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_magic, magics_class

from ai_magics.arguments import HelpRequested, parse_line
from ai_magics.config import AIMagics, get_settings, use_settings
from ai_magics.context import RunContext
from ai_magics.errors import AIMagicsError, one_line
from ai_magics.interpolate import interpolate
from ai_magics.plugins import get_plugin_host
from ai_magics.tasks.runner import task_parser

_last_traceback: str | None = None


def last_traceback() -> str | None:
    """The full traceback of the last unexpected error a magic reported (for bug reports)."""
    return _last_traceback


def run_task_magic(task_name: str, line: str, cell: str, user_ns: dict[str, Any]) -> Any:
    """Parse, interpolate and run one task magic; raises AIMagicsError for anything the user can fix."""
    task = get_plugin_host().registry.tasks[task_name]
    parser = task_parser(task_name)
    try:
        args = parse_line(parser, line)
    except HelpRequested as help_text:
        print(help_text)
        return None
    body = interpolate(cell or "", user_ns)
    return task.run(args, body, RunContext(task_name, user_ns, get_settings()))


def _report(task: str, exc: BaseException) -> UsageError:
    global _last_traceback
    if isinstance(exc, AIMagicsError):
        return UsageError(str(exc))
    _last_traceback = "".join(traceback.format_exception(exc))
    return UsageError(
        f"%%{task} failed unexpectedly: {type(exc).__name__}: {one_line(exc, 200)}. This is a bug in ai-magics or "
        "a plugin, not in your cell; the full traceback is in ai_magics.magics.last_traceback(). Your other "
        "variables and models are untouched."
    )


def make_cell_magic(task_name: str, shell: Any) -> Callable[[str, str], Any]:
    """The cell magic function for ``task_name``."""

    def cell_magic(line: str, cell: str | None = None) -> Any:
        try:
            return run_task_magic(task_name, line, cell or "", shell.user_ns)
        except KeyboardInterrupt:
            raise UsageError(f"Interrupted: %%{task_name} stopped before it produced anything.") from None
        except Exception as exc:
            raise _report(task_name, exc) from None

    cell_magic.__name__ = task_name
    try:
        cell_magic.__doc__ = task_parser(task_name).format_help()
    except Exception:
        cell_magic.__doc__ = f"%%{task_name}: see `%%{task_name} --help`."
    return cell_magic


@magics_class
class AIMagicsLineMagic(Magics):
    """``%ai_magics plugins | models | cache | clear | help [task]``."""

    @line_magic("ai_magics")
    def ai_magics(self, line: str) -> None:
        from ai_magics import report

        words = line.split()
        command = words[0] if words else "help"
        commands = {
            "plugins": report.plugins_report,
            "models": report.models_report,
            "cache": report.cache_report,
            "clear": report.clear_cache,
            "help": lambda: report.help_report(words[1] if len(words) > 1 else None),
        }
        if command not in commands:
            raise UsageError(
                f"Unknown %ai_magics command {command!r}. Use one of: {', '.join(commands)}."
            )
        try:
            print(commands[command]())
        except AIMagicsError as exc:
            raise UsageError(str(exc)) from None


_registered: dict[int, list[str]] = {}


def _settings_from(shell: Any) -> AIMagics:
    """``AIMagics`` configured from the shell; invalid configured values are dropped with a warning."""
    try:
        return AIMagics(parent=shell)
    except AIMagicsError:
        configured = shell.config.get("AIMagics", {})
        for name in list(configured):
            try:
                AIMagics(**{name: configured[name]})
            except Exception as exc:
                print(f"ai_magics: ignoring AIMagics.{name} = {configured[name]!r}: {exc}", file=sys.stderr)
                del configured[name]
        return AIMagics(parent=shell)


def load_ipython_extension(shell: Any) -> None:
    """Register the magics and the ``AIMagics`` configurable on ``shell``."""
    settings = _settings_from(shell)
    use_settings(settings)
    shell.configurables.append(settings)
    shell.register_magics(AIMagicsLineMagic)
    names = []
    for name in get_plugin_host().registry.tasks:
        # line_cell: `%train --data df ...` works too, since IPython refuses a cell magic with an empty body.
        shell.register_magic_function(make_cell_magic(name, shell), magic_kind="line_cell", magic_name=name)
        names.append(name)
    _registered[id(shell)] = names


def unload_ipython_extension(shell: Any) -> None:
    """Remove the magics and the configurable again."""
    magics = shell.magics_manager.magics
    for name in _registered.pop(id(shell), []):
        magics["cell"].pop(name, None)
        magics["line"].pop(name, None)
    shell.magics_manager.magics["line"].pop("ai_magics", None)
    shell.configurables[:] = [c for c in shell.configurables if not isinstance(c, AIMagics)]


