"""Filling ``{name}`` in a cell body from the notebook's variables; ``{{`` and ``}}`` are literal braces."""

from __future__ import annotations

import string
from typing import Any, Mapping

from ai_magics.errors import AIMagicsError


class _Namespace(dict):
    def __init__(self, user_ns: Mapping[str, Any]) -> None:
        super().__init__()
        self._user_ns = user_ns

    def __missing__(self, key: str) -> Any:
        if key in self._user_ns:
            return self._user_ns[key]
        raise AIMagicsError(
            f"The cell uses {{{key}}}, but there is no variable {key!r} in the notebook. Define it in a cell "
            "above, or write {{ and }} for literal braces."
        )


def interpolate(body: str, user_ns: Mapping[str, Any]) -> str:
    """Replace ``{expr}`` fields (a name, with optional .attr / [key] / :format) by their values."""
    if "{" not in body and "}" not in body:
        return body
    formatter = string.Formatter()
    try:
        fields = list(formatter.parse(body))
    except ValueError as exc:
        raise AIMagicsError(
            f"The cell has an unmatched brace ({exc}). Write {{{{ and }}}} for literal braces, and {{name}} to "
            "insert a variable."
        ) from None
    for _literal, field, _spec, _conv in fields:
        if field is not None and (field == "" or field[0].isdigit()):
            raise AIMagicsError(
                "The cell has '{}' or a numbered field; put a variable name inside the braces, e.g. {topic}, "
                "or write {{ and }} for literal braces."
            )
    try:
        return formatter.vformat(body, (), _Namespace(user_ns))
    except AIMagicsError:
        raise
    except Exception as exc:
        raise AIMagicsError(
            f"Could not fill the cell's {{...}} fields: {type(exc).__name__}: {exc}. Write {{{{ and }}}} for "
            "literal braces."
        ) from None
