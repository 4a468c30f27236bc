"""What plugins register: tasks, model aliases and backends, and the table that holds them."""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:
    from ai_magics.context import RunContext


@dataclass(frozen=True)
class Task:
    """A task: a cell magic ``%%<name>`` and a Python entry point.

    ``add_arguments(parser)`` declares the magic's options on an argparse parser; ``run(args, body, context)``
    does the work with the parsed options and the (interpolated) cell body and returns the cell's value.
    """

    name: str
    summary: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace, str, "RunContext"], Any]


@dataclass(frozen=True)
class ModelSource:
    """Where a model's files are: a local directory or hub id, optionally a GGUF file inside it.

    ``file_format`` tells backends what they are given: 'transformers' (a folder or hub id), 'gguf' (then
    ``gguf_file`` names the file inside ``path``), or a plugin's own format such as 'trained'.
    """

    model_id: str
    path: str
    kind: str | None = None
    gguf_file: str | None = None
    revision: str | None = None
    trust_remote_code: bool = False
    file_format: str = ""

    def __post_init__(self) -> None:
        if not self.file_format:
            object.__setattr__(self, "file_format", "gguf" if self.gguf_file else "transformers")


@dataclass(frozen=True)
class ModelAlias:
    """A short name for a model. ``locate()`` finds its files only when it is first used."""

    name: str
    kind: str
    locate: Callable[[], ModelSource]
    description: str = ""


@dataclass(frozen=True)
class LoadRequest:
    """What a backend is asked to load: a source, for a kind of task, on a device, in a dtype."""

    source: ModelSource
    kind: str
    device: str
    dtype: str


@dataclass(frozen=True)
class Backend:
    """A loader. ``load(request)`` returns an object with an ``nbytes`` attribute (its memory footprint)."""

    name: str
    kinds: tuple[str, ...]
    formats: tuple[str, ...]
    load: Callable[[LoadRequest], Any]
    description: str = ""
    estimate: Callable[[LoadRequest], int] | None = None


@dataclass
class Registry:
    """The registered tasks, aliases and backends, with the conflicts found while registering."""

    tasks: dict[str, Task] = field(default_factory=dict)
    models: dict[str, ModelAlias] = field(default_factory=dict)
    backends: dict[str, Backend] = field(default_factory=dict)
    owners: dict[tuple[str, str], str] = field(default_factory=dict)
    conflicts: list[tuple[str, str]] = field(default_factory=list)  # (plugin, message)

    def add(self, what: str, item: Task | ModelAlias | Backend, plugin: str) -> bool:
        """Add ``item`` to the table ``what``; a taken name is a conflict (the first one is kept)."""
        table: dict[str, Any] = getattr(self, what)
        expected = {"tasks": Task, "models": ModelAlias, "backends": Backend}[what]
        if not isinstance(item, expected):
            raise TypeError(f"register() for {what} takes a {expected.__name__}, not {type(item).__name__}")
        if item.name in table:
            owner = self.owners[(what, item.name)]
            self.conflicts.append((
                plugin,
                f"plugin {plugin!r} registers {what[:-1]} {item.name!r}, which plugin {owner!r} already "
                f"registered; {owner!r}'s is kept (disable one of them to choose)",
            ))
            return False
        table[item.name] = item
        self.owners[(what, item.name)] = plugin
        return True
