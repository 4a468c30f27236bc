"""Running any registered task from Python: ``ai_magics.run_task('generate', 'Hello', max_new_tokens=8)``.

The magics parse their line into the same options and call the same ``Task.run``, so every task a plugin
registers is reachable both as ``%%<name>`` and from scripts.
"""

from __future__ import annotations

import argparse
from typing import Any

from ai_magics.arguments import MagicArgumentParser
from ai_magics.config import get_settings
from ai_magics.context import RunContext
from ai_magics.errors import AIMagicsError
from ai_magics.plugins import get_plugin_host


def task_parser(task_name: str) -> MagicArgumentParser:
    """The argument parser for a registered task's magic line."""
    registry = get_plugin_host().registry
    if task_name not in registry.tasks:
        raise AIMagicsError(f"Unknown task {task_name!r}. Tasks: {', '.join(sorted(registry.tasks)) or 'none'}.")
    task = registry.tasks[task_name]
    parser = MagicArgumentParser(task.name, task.summary)
    task.add_arguments(parser)
    return parser


def default_options(parser: argparse.ArgumentParser) -> argparse.Namespace:
    """Every option of ``parser`` at its default value."""
    return argparse.Namespace(**{a.dest: a.default for a in parser._actions if a.dest != argparse.SUPPRESS})


def run_task(task_name: str, body: str = "", user_ns: dict[str, Any] | None = None, **options: Any) -> Any:
    """Run task ``task_name`` with ``body`` (the cell text) and keyword options named like its magic's options
    (``max_new_tokens`` for ``--max-new-tokens``). ``user_ns`` is where ``--data``/``--out``-style names are
    looked up and stored (default: a new dict)."""
    parser = task_parser(task_name)
    args = default_options(parser)
    for name, value in options.items():
        if not hasattr(args, name) or name == "help":
            known = ", ".join(sorted(k for k in vars(args) if k != "help"))
            raise AIMagicsError(f"Task {task_name!r} has no option {name!r}. Its options: {known}.")
        setattr(args, name, value)
    task = get_plugin_host().registry.tasks[task_name]
    namespace = {} if user_ns is None else user_ns
    return task.run(args, body, RunContext(task_name, namespace, get_settings()))
