"""The registry table and the records plugins register."""

from __future__ import annotations

import dataclasses

import pytest

from ai_magics.registry import Backend, LoadRequest, ModelAlias, ModelSource, Registry, Task


def task(name: str) -> Task:
    return Task(name, f"{name} task", lambda parser: None, lambda args, body, context: None)


def alias(name: str, kind: str = "causal-lm") -> ModelAlias:
    return ModelAlias(name, kind, lambda: ModelSource(name, f"/models/{name}"))


def backend(name: str) -> Backend:
    return Backend(name, ("causal-lm",), ("transformers",), load=lambda request: None)


def test_add_fills_the_right_table_and_records_the_owner():
    registry = Registry()
    assert registry.add("tasks", task("t"), "p1") is True
    assert registry.add("models", alias("m"), "p1") is True
    assert registry.add("backends", backend("b"), "p2") is True
    assert list(registry.tasks) == ["t"] and list(registry.models) == ["m"] and list(registry.backends) == ["b"]
    assert registry.owners == {("tasks", "t"): "p1", ("models", "m"): "p1", ("backends", "b"): "p2"}
    assert registry.conflicts == []


def test_a_taken_name_is_a_conflict_and_the_first_is_kept():
    registry = Registry()
    first, second = task("t"), task("t")
    assert registry.add("tasks", first, "early") is True
    assert registry.add("tasks", second, "late") is False
    assert registry.tasks["t"] is first and registry.owners[("tasks", "t")] == "early"
    assert registry.conflicts == [
        ("late", "plugin 'late' registers task 't', which plugin 'early' already registered; 'early''s is kept "
         "(disable one of them to choose)")
    ]  # fmt: skip


def test_the_same_name_in_different_tables_is_no_conflict():
    registry = Registry()
    registry.add("tasks", task("same"), "p")
    registry.add("models", alias("same"), "p")
    registry.add("backends", backend("same"), "p")
    assert registry.conflicts == []


def test_conflicts_in_models_and_backends_name_the_table():
    registry = Registry()
    registry.add("models", alias("m"), "a")
    registry.add("models", alias("m"), "b")
    registry.add("backends", backend("x"), "a")
    registry.add("backends", backend("x"), "c")
    messages = [m for _plugin, m in registry.conflicts]
    assert "registers model 'm'" in messages[0] and "registers backend 'x'" in messages[1]
    assert [p for p, _m in registry.conflicts] == ["b", "c"]


@pytest.mark.parametrize(
    ("table", "item", "expected"),
    [("tasks", alias("m"), "Task"), ("models", task("t"), "ModelAlias"), ("backends", "transformers", "Backend")],
)
def test_the_wrong_kind_of_item_is_a_type_error(table, item, expected):
    registry = Registry()
    with pytest.raises(TypeError, match=f"register\\(\\) for {table} takes a {expected}, not {type(item).__name__}"):
        registry.add(table, item, "p")
    assert getattr(registry, table) == {}


def test_model_source_file_format_follows_the_gguf_file():
    assert ModelSource("m", "/m").file_format == "transformers"
    assert ModelSource("m", "/m", gguf_file="m.gguf").file_format == "gguf"
    assert ModelSource("m", "/m", kind="classifier", file_format="trained").file_format == "trained"


def test_records_are_immutable_and_comparable():
    source = ModelSource("m", "/m", revision="main")
    with pytest.raises(dataclasses.FrozenInstanceError):
        source.path = "/elsewhere"  # type: ignore[misc]
    assert source == ModelSource("m", "/m", revision="main")
    request = LoadRequest(source, "causal-lm", "cpu", "float32")
    assert hash(request) == hash(LoadRequest(source, "causal-lm", "cpu", "float32"))
    assert ModelAlias("a", "causal-lm", lambda: source).locate() is source
    assert Backend("b", ("causal-lm",), ("gguf",), load=lambda r: None).estimate is None
