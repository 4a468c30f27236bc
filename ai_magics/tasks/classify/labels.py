"""Parsing label sets: ``--labels sports,politics``, quoted labels with commas, and ``label=description`` items."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from typing import Mapping, Sequence

from ai_magics.errors import AIMagicsError

DEFAULT_TEMPLATE = "This is {label}."


@dataclass(frozen=True)
class LabelSet:
    """Label names in column order, each with the text that describes it (None: fill the template)."""

    names: tuple[str, ...]
    descriptions: tuple[str | None, ...]

    def texts(self, template: str = DEFAULT_TEMPLATE) -> list[str]:
        """What a sentence encoder embeds for each label: its description, or the template filled with its name."""
        check_template(template)
        return [d if d else template.replace("{label}", n) for n, d in zip(self.names, self.descriptions)]


def check_template(template: str) -> str:
    """``template`` if it holds the ``{label}`` placeholder, else a clear error."""
    if not isinstance(template, str) or "{label}" not in template:
        raise AIMagicsError(
            f"The label template {template!r} has no {{label}} placeholder. Write it like "
            f"{DEFAULT_TEMPLATE!r}; each label's name is put where {{label}} is."
        )
    return template


def split_items(spec: str) -> list[str]:
    """Split one ``--labels`` word at commas; double quotes keep commas inside a label: ``'"a, b",c'``."""
    row = next(csv.reader([spec], skipinitialspace=True), [])
    return [item.strip() for item in row if item.strip()]


def _item(text: str) -> tuple[str, str | None]:
    name, sep, description = text.partition("=")
    name = name.strip()
    if not name:
        raise AIMagicsError(
            f"The label item {text!r} has no name before '='. Write NAME=DESCRIPTION, e.g. "
            "'positive=This is great.'."
        )
    return name, (description.strip() or None) if sep else None


def parse_labels(labels: str | Sequence[str] | Mapping[str, str] | None) -> LabelSet:
    """A LabelSet from ``--labels`` words, a comma-separated string, a list, or a {name: description} dict."""
    if labels is None:
        raise _no_labels()
    pairs: list[tuple[str, str | None]]
    if isinstance(labels, Mapping):
        pairs = [(str(k).strip(), (str(v).strip() or None) if v is not None else None) for k, v in labels.items()]
        if any(not name for name, _ in pairs):
            raise AIMagicsError("A label name is empty. Give every label a name.")
    elif isinstance(labels, str):
        pairs = [_item(item) for item in split_items(labels)]
    elif isinstance(labels, Sequence):
        words = [str(w) for w in labels]
        pairs = [_item(item) for word in words for item in split_items(word)]
    else:
        raise AIMagicsError(
            f"labels must be text such as 'sports,politics', a list of names or a dict of name: description, "
            f"not {type(labels).__name__}."
        )
    if not pairs:
        raise _no_labels()
    names = [name for name, _ in pairs]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise AIMagicsError(f"The label(s) {', '.join(map(repr, repeated))} appear twice. Give each label once.")
    return LabelSet(tuple(names), tuple(d for _, d in pairs))


def require_choice(labels: LabelSet, multi_label: bool) -> LabelSet:
    """``labels``, unless a single-label run was given only one label to choose from."""
    if len(labels.names) < 2 and not multi_label:
        raise AIMagicsError(
            f"Only one label ({labels.names[0]!r}) was given; picking a label needs at least two to choose from. "
            "Add more labels, e.g. --labels sports,politics, or pass --multi-label to score the one label alone."
        )
    return labels


def _no_labels() -> AIMagicsError:
    return AIMagicsError(
        "No labels were given. Zero-shot classification needs the labels to choose from: pass --labels "
        "sports,politics,technology (quote a label holding commas or spaces: --labels '\"arts, culture\",sports'), "
        "or --model NAME of a model trained with %%train."
    )
