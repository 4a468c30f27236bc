"""The plugin host: a pluggy PluginManager with the built-in plugins and the ``ai_magics`` entry points.

Built-in features are plugins like any other. A third-party plugin that fails to import, fails validation or
raises in a hook is recorded with its reason (``%ai_magics plugins``) and never stops the others.
"""

from __future__ import annotations

import importlib
import os
import threading
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import Any

import pluggy

from ai_magics import hookspecs
from ai_magics.registry import Registry

ENTRY_POINT_GROUP = "ai_magics"
DISABLE_ENV = "AI_MAGICS_DISABLE_PLUGINS"
BUILTIN_PLUGINS = {
    "builtin-models": "ai_magics.models.builtin_aliases",
    "builtin-transformers": "ai_magics.backends.transformers_backend",
    "builtin-generate": "ai_magics.tasks.generate.plugin",
    "builtin-classify": "ai_magics.tasks.classify.plugin",
    "builtin-train": "ai_magics.tasks.train.plugin",
}


@dataclass
class PluginStatus:
    """One plugin as the host saw it: where it came from, whether it works, and why not."""

    name: str
    origin: str
    ok: bool = True
    problems: list[str] = field(default_factory=list)
    disabled: bool = False

    def fail(self, problem: str) -> None:
        self.ok = False
        self.problems.append(problem)


def _call(impl: Any, **kwargs: Any) -> Any:
    """Call a hook implementation with only the arguments it declares (pluggy allows a subset)."""
    return impl.function(*[kwargs[name] for name in impl.argnames])


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}".strip()


class PluginHost:
    """Loads plugins, builds the registry from their registration hooks, and fans events out to them."""

    def __init__(self, disabled: set[str] | None = None, load_entry_points: bool = True) -> None:
        self.pm = pluggy.PluginManager("ai_magics")
        self.pm.add_hookspecs(hookspecs)
        self.statuses: dict[str, PluginStatus] = {}
        self.disabled = set(disabled or ())
        self._registry: Registry | None = None
        self._lock = threading.RLock()
        for name, module_name in BUILTIN_PLUGINS.items():
            self._load(name, "built-in", lambda m=module_name: importlib.import_module(m))
        if load_entry_points:
            for ep in entry_points(group=ENTRY_POINT_GROUP):
                origin = ep.dist.name if ep.dist is not None else ep.value
                self._load(ep.name, origin, ep.load)

    def _load(self, name: str, origin: str, loader: Any) -> None:
        status = self.statuses.setdefault(name, PluginStatus(name, origin))
        if name in self.disabled:
            status.disabled = True
            return
        try:
            plugin = loader()
        except BaseException as exc:  # a plugin's import may raise anything, even SystemExit
            if isinstance(exc, KeyboardInterrupt):
                raise
            status.fail(f"failed to load: {_describe(exc)}")
            return
        self.add_plugin(plugin, name, origin)

    def add_plugin(self, plugin: object, name: str, origin: str = "added at run time") -> bool:
        """Register ``plugin`` (a module or object with hookimpls); a validation failure is recorded."""
        status = self.statuses.setdefault(name, PluginStatus(name, origin))
        try:
            self.pm.register(plugin, name=name)
        except Exception as exc:
            status.fail(f"rejected: {_describe(exc)}")
            return False
        for caller in self.pm.get_hookcallers(plugin) or []:
            if caller.spec is None and not all(i.optionalhook for i in caller.get_hookimpls() if i.plugin is plugin):
                status.fail(
                    f"implements {caller.name}, which is not a hook (misspelled?); the hooks are: "
                    f"{', '.join(hookspecs.all_hook_names())}"
                )
        self._registry = None
        return True

    def remove_plugin(self, name: str) -> None:
        """Unregister a plugin by name (for tests and for plugins added at run time)."""
        plugin = self.pm.get_plugin(name)
        if plugin is not None:
            self.pm.unregister(plugin)
        self.statuses.pop(name, None)
        self._registry = None

    @property
    def registry(self) -> Registry:
        """Tasks, aliases and backends from every plugin, built on first use."""
        with self._lock:
            if self._registry is None:
                self._registry = self._build_registry()
            return self._registry

    def _build_registry(self) -> Registry:
        registry = Registry()
        for hook_name, table in (
            ("ai_magics_register_backends", "backends"),
            ("ai_magics_register_models", "models"),
            ("ai_magics_register_tasks", "tasks"),
        ):
            for impl in self._registration_order(hook_name):
                plugin = impl.plugin_name

                def register(item: Any, _table: str = table, _plugin: str = plugin) -> None:
                    registry.add(_table, item, _plugin)

                try:
                    _call(impl, register=register)
                except Exception as exc:
                    self._status(plugin).fail(f"{hook_name} raised {_describe(exc)}")
        for plugin, message in registry.conflicts:
            self._status(plugin).problems.append(message)
        return registry

    def _registration_order(self, hook_name: str) -> list[Any]:
        """Implementations in the order plugins were loaded (built-ins first), whatever tryfirst/trylast say:
        registering first is what wins a name, so a plugin cannot take over a built-in task or alias."""
        loaded = {name: index for index, name in enumerate(self.statuses)}
        impls = getattr(self.pm.hook, hook_name).get_hookimpls()
        return sorted(impls, key=lambda impl: loaded.get(impl.plugin_name, len(loaded)))

    def _status(self, plugin: str) -> PluginStatus:
        return self.statuses.setdefault(plugin, PluginStatus(plugin, "added at run time"))

    def emit(self, hook_name: str, event: object) -> None:
        """Send ``event`` to every implementation of an event hook; one that raises is reported and skipped."""
        impls = getattr(self.pm.hook, hook_name).get_hookimpls()
        for impl in impls:
            try:
                _call(impl, event=event)
            except Exception as exc:
                status = self._status(impl.plugin_name)
                problem = f"{hook_name} raised {_describe(exc)}"
                if problem not in status.problems:
                    status.fail(problem)

    def has_listeners(self, hook_name: str) -> bool:
        """Whether any plugin implements the event hook (so callers can skip building events)."""
        return bool(getattr(self.pm.hook, hook_name).get_hookimpls())

    def select_backend(self, source: Any, kind: str, device: str) -> str | None:
        """Ask ``ai_magics_select_backend`` implementations in pluggy's call order; the first answer wins."""
        for impl in reversed(self.pm.hook.ai_magics_select_backend.get_hookimpls()):
            try:
                answer = _call(impl, source=source, kind=kind, device=device)
            except Exception as exc:
                self._status(impl.plugin_name).fail(f"ai_magics_select_backend raised {_describe(exc)}")
                continue
            if answer is not None and answer in self.registry.backends:
                return answer
        return None

    def resolve_model(self, name: str) -> Any:
        """Ask ``ai_magics_resolve_model`` implementations for ``name``; the first ModelSource wins, else None.

        An AIMagicsError (the name is the plugin's, but wrong) reaches the user; any other exception is reported
        against the plugin and skipped."""
        from ai_magics.errors import AIMagicsError

        for impl in reversed(self.pm.hook.ai_magics_resolve_model.get_hookimpls()):
            try:
                answer = _call(impl, name=name)
            except AIMagicsError:
                raise
            except Exception as exc:
                self._status(impl.plugin_name).fail(f"ai_magics_resolve_model raised {_describe(exc)}")
                continue
            if answer is not None:
                return answer
        return None


_host: PluginHost | None = None
_host_lock = threading.Lock()


def disabled_plugins() -> set[str]:
    """Plugin names turned off by ``AI_MAGICS_DISABLE_PLUGINS`` or ``%config AIMagics.disabled_plugins``."""
    from ai_magics.config import get_settings

    names = os.environ.get(DISABLE_ENV, "") + "," + get_settings().disabled_plugins
    return {n.strip() for n in names.split(",") if n.strip()}


def get_plugin_host() -> PluginHost:
    """The process-wide plugin host, created on first use."""
    global _host
    with _host_lock:
        if _host is None:
            _host = PluginHost(disabled=disabled_plugins())
        return _host


def reload_plugins() -> PluginHost:
    """Forget the current host and load every plugin again (after installing one or changing the disabled list)."""
    global _host
    with _host_lock:
        _host = None
    return get_plugin_host()
