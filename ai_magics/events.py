"""The events tasks emit while they run; plugins observe them through the ``ai_magics_on_*`` hooks."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class TokenEvent:
    """New text from a generation: ``text`` is the piece just decoded, ``index`` the token count so far."""

    task: str
    model: str
    text: str
    index: int


@dataclass(frozen=True, slots=True)
class TrainStepEvent:
    """One optimisation step of a training run."""

    task: str
    model: str
    step: int
    epoch: int
    loss: float
    total_steps: int
    metrics: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class DoneEvent:
    """The end of a task run. ``stopped`` is True when the user stopped or interrupted it."""

    task: str
    model: str
    stopped: bool
    summary: dict[str, Any] = field(default_factory=dict)
