"""The plugin API: every hook a plugin may implement. This file is the reference for plugin authors.

A plugin is a module or object with functions decorated by ``@ai_magics.hookimpl`` whose names are the specs
below. Install it with an entry point in the ``ai_magics`` group::

    [project.entry-points.ai_magics]
    my_plugin = "my_package.plugin"

Registration hooks receive a ``register`` callback rather than returning values, so a spec can gain keyword
arguments later without breaking plugins (the pattern of simonw's ``llm``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

import pluggy

if TYPE_CHECKING:
    from ai_magics.events import DoneEvent, TokenEvent, TrainStepEvent
    from ai_magics.registry import Backend, ModelAlias, ModelSource, Task

hookspec = pluggy.HookspecMarker("ai_magics")
hookimpl = pluggy.HookimplMarker("ai_magics")


@hookspec
def ai_magics_register_tasks(register: Callable[[Task], None]) -> None:
    """Add tasks. Call ``register(Task(...))`` once per task.

    Each task becomes a cell magic of its name (``%%<name>``) and is callable from Python as
    ``ai_magics.run_task(name, ...)``. A name that is already taken is reported as a conflict and the first
    registration is kept.
    """


@hookspec
def ai_magics_register_models(register: Callable[[ModelAlias], None]) -> None:
    """Add model aliases. Call ``register(ModelAlias(...))`` once per alias.

    An alias names a model source (a local path, a hub id, or a GGUF file) and its kind (``causal-lm``,
    ``text-encoder``, ...). ``--model <alias>`` in any magic then resolves to it.
    """


@hookspec
def ai_magics_register_backends(register: Callable[[Backend], None]) -> None:
    """Add backends: loaders that turn a model source into a loaded model for a kind of task.

    Call ``register(Backend(...))``. A backend declares the kinds and formats it can load; which backend
    loads a given model is decided by ``ai_magics_select_backend``.
    """


@hookspec(firstresult=True)
def ai_magics_select_backend(source: ModelSource, kind: str, device: str) -> str | None:
    """Return the name of the backend that should load ``source`` for ``kind`` on ``device``, or None to pass.

    The first non-None answer wins. The built-in answer is marked ``trylast``, so a plugin's answer overrides
    it: this is how a plugin becomes the default backend for, say, GGUF files on CPU. A ``--backend`` option
    given by the user bypasses this hook.
    """


@hookspec(firstresult=True)
def ai_magics_resolve_model(name: str) -> ModelSource | None:
    """Return the source for a ``--model`` name this plugin understands (such as ``server:NAME``), or None to pass.

    Asked for names that are neither a registered alias nor a trained model, before they are taken as a local
    path or a hub id; the first non-None answer wins. Raise ``AIMagicsError`` for a name that is yours but wrong.
    """


@hookspec
def ai_magics_on_token(event: TokenEvent) -> None:
    """Observe each piece of text as generation streams it. Must be fast: it runs once per token."""


@hookspec
def ai_magics_on_train_step(event: TrainStepEvent) -> None:
    """Observe each optimisation step of a training run (step, epoch, loss, learning rate, metrics)."""


@hookspec
def ai_magics_on_done(event: DoneEvent) -> None:
    """Observe the end of a task run: which task, which model, whether it was stopped, and its summary."""


def all_hook_names() -> list[str]:
    """The names of every hook spec in this module, for documentation checks."""
    return [name for name, value in globals().items() if name.startswith("ai_magics_") and callable(value)]


