"""The text ``%ai_magics`` prints: plugins, models, cache, help."""

from __future__ import annotations

from ai_magics.cache import get_cache
from ai_magics.cache.memory import format_bytes
from ai_magics.errors import AIMagicsError
from ai_magics.models import trained
from ai_magics.plugins import get_plugin_host


def _table(rows: list[tuple[str, ...]], header: tuple[str, ...]) -> str:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(str(c).ljust(w) for c, w in zip(row, widths)).rstrip() for row in [header, *rows]]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def plugins_report() -> str:
    """Every plugin with its origin and state, and what each problem was."""
    host = get_plugin_host()
    registry = host.registry
    rows = []
    for status in host.statuses.values():
        state = "disabled" if status.disabled else ("ok" if status.ok and not status.problems else "PROBLEM")
        rows.append((status.name, status.origin, state))
    text = _table(rows, ("plugin", "from", "state"))
    problems = [f"- {s.name}: {p}" for s in host.statuses.values() for p in s.problems]
    if problems:
        text += "\n\nProblems (the other plugins work as usual):\n" + "\n".join(problems)
    text += (
        f"\n\ntasks: {', '.join(sorted(registry.tasks))}\nmodels: {', '.join(sorted(registry.models))}"
        f"\nbackends: {', '.join(sorted(registry.backends))}"
    )
    return text


def models_report() -> str:
    """Known model names and what is loaded now."""
    registry = get_plugin_host().registry
    rows = [(a.name, a.kind, registry.owners[("models", a.name)], a.description) for a in registry.models.values()]
    rows += [(name, trained.source(name).kind or "?", "trained here", trained.source(name).path) for name in trained.names()]
    text = _table(rows, ("name", "kind", "from", "description"))
    text += "\n\nAlso accepted by --model: a local folder, a .gguf file, or a hub id 'organisation/name'.\n\n"
    return text + loaded_report()


def loaded_report() -> str:
    entries = get_cache().entries()
    if not entries:
        return "No model is loaded."
    rows = [
        (e.key.model_id, e.key.kind, e.key.backend, e.key.device, e.key.dtype, format_bytes(e.nbytes),
         "in use" if e.pins else "", f"{e.load_seconds:.1f} s")
        for e in entries
    ]  # fmt: skip
    return "Loaded (least recently used first):\n" + _table(
        rows, ("model", "kind", "backend", "device", "dtype", "memory", "state", "load time")
    )


def cache_report() -> str:
    """Counters, budget and entries of the shared cache."""
    cache = get_cache()
    s = cache.stats
    devices = sorted({e.key.device for e in cache.entries()} | {"cpu"})
    budgets = ", ".join(
        f"{d}: {format_bytes(cache.used_bytes(d))} used of {format_bytes(cache.budget(d))}" for d in devices
    )
    return (
        f"hits {s.hits}, misses {s.misses}, loads {s.loads}, evictions {s.evictions}, "
        f"out-of-memory retries {s.oom_retries}\nbudget: {budgets}\n\n" + loaded_report()
    )


def clear_cache() -> str:
    """Evict every model not in use."""
    return f"Evicted {get_cache().clear()} model(s)."


def help_report(task: str | None = None) -> str:
    """Overview of the magics, or one task's options."""
    from ai_magics.tasks.runner import task_parser

    registry = get_plugin_host().registry
    if task:
        if task not in registry.tasks:
            raise AIMagicsError(f"Unknown task {task!r}. Tasks: {', '.join(sorted(registry.tasks))}.")
        return task_parser(task).format_help()
    lines = ["Cell magics (one per task; `%%<task> --help` for options):"]
    lines += [f"  %%{t.name:<10} {t.summary}" for t in registry.tasks.values()]
    lines += [
        "",
        "%ai_magics plugins | models | cache | clear | help [task]",
        "Settings: %config AIMagics (default_model, device, dtype, memory_budget, widgets, disabled_plugins)",
    ]
    return "\n".join(lines)
