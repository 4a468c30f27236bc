"""The hook specs are the plugin API's reference: each documented, and all of them registered."""

from __future__ import annotations

import inspect

import pluggy
import pytest

from ai_magics import hookspecs

SPEC_MARKER = "ai_magics_spec"


def registered_hook_names() -> set[str]:
    pm = pluggy.PluginManager("ai_magics")
    pm.add_hookspecs(hookspecs)
    return {name for name in vars(pm.hook) if name.startswith("ai_magics_")}


def test_all_hook_names_matches_the_registered_specs():
    names = hookspecs.all_hook_names()
    assert len(names) == len(set(names))
    assert set(names) == registered_hook_names()
    assert set(names) >= {
        "ai_magics_register_tasks", "ai_magics_register_models", "ai_magics_register_backends",
        "ai_magics_select_backend", "ai_magics_on_token", "ai_magics_on_train_step", "ai_magics_on_done",
    }  # fmt: skip


@pytest.mark.parametrize("name", hookspecs.all_hook_names())
def test_every_spec_is_marked_and_documented(name):
    function = getattr(hookspecs, name)
    assert hasattr(function, SPEC_MARKER), f"{name} is not decorated with @hookspec"
    doc = inspect.getdoc(function)
    assert doc and len(doc.split()) >= 8, f"{name} needs a docstring that tells plugin authors what to do"


def test_registration_hooks_take_a_register_callback_and_events_take_an_event():
    for name in hookspecs.all_hook_names():
        params = list(inspect.signature(getattr(hookspecs, name)).parameters)
        if name.startswith("ai_magics_register_"):
            assert params == ["register"], name
        elif name.startswith("ai_magics_on_"):
            assert params == ["event"], name
    assert list(inspect.signature(hookspecs.ai_magics_select_backend).parameters) == ["source", "kind", "device"]


def test_only_the_choosing_hooks_are_firstresult():
    firstresult = {
        name for name in hookspecs.all_hook_names() if getattr(hookspecs, name).ai_magics_spec["firstresult"]
    }
    assert firstresult == {"ai_magics_select_backend", "ai_magics_resolve_model"}


def test_the_public_hookimpl_marker_matches_the_project_name():
    import ai_magics

    assert ai_magics.hookimpl is hookspecs.hookimpl
    assert hookspecs.hookimpl.project_name == hookspecs.hookspec.project_name == "ai_magics"


def test_module_docstring_shows_the_entry_point_group():
    from ai_magics.plugins import ENTRY_POINT_GROUP

    assert f"[project.entry-points.{ENTRY_POINT_GROUP}]" in hookspecs.__doc__
