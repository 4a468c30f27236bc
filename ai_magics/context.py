"""What a task's magic needs from the notebook: the user namespace, settings, and how to show live views."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ai_magics.config import AIMagics
from ai_magics.errors import AIMagicsError
from ai_magics.widgets.frontend import use_widgets


@dataclass
class RunContext:
    """Handed to ``Task.run``: where to read variables and store results, and whether widgets are on."""

    task: str
    user_ns: dict[str, Any]
    settings: AIMagics

    @property
    def widgets(self) -> bool:
        """Whether live ipywidgets views should be shown (else plain text)."""
        return use_widgets(self.settings.widgets)

    def lookup(self, name: str, option: str) -> Any:
        """The value of variable ``name`` in the notebook, or a clear error naming the option."""
        if name not in self.user_ns:
            raise AIMagicsError(
                f"{option} {name}: there is no variable {name!r} in the notebook. Define it in a cell above "
                "and run that cell first, or check the spelling."
            )
        return self.user_ns[name]

    def store(self, name: str | None, value: Any) -> None:
        """Store ``value`` in the notebook as ``name`` (for ``--out NAME``)."""
        if name:
            self.user_ns[name] = value


def check_identifier(name: str | None, option: str) -> str | None:
    """``name`` if it is a valid Python variable name (for --out, --conversation, ...), else a clear error."""
    if name is None:
        return None
    if not name.isidentifier():
        raise AIMagicsError(f"{option} {name!r} is not a valid Python variable name. Use letters, digits and _.")
    return name
