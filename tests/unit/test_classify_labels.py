"""Parsing --labels: commas, quotes, spaces, descriptions, templates, and the errors for bad label sets."""

from __future__ import annotations

import pytest

from ai_magics.errors import AIMagicsError
from ai_magics.tasks.classify.labels import DEFAULT_TEMPLATE, check_template, parse_labels, require_choice, split_items


def test_comma_separated_labels_keep_their_order() -> None:
    labels = parse_labels("sports, politics,technology")
    assert labels.names == ("sports", "politics", "technology")
    assert labels.texts() == [DEFAULT_TEMPLATE.replace("{label}", n) for n in labels.names]


def test_magic_words_each_split_at_commas() -> None:
    # --labels sports "science and tech" arts,music  (shlex keeps the quoted words together)
    assert parse_labels(["sports", "science and tech", "arts,music"]).names == (
        "sports", "science and tech", "arts", "music",
    )  # fmt: skip


def test_double_quotes_keep_commas_inside_a_label() -> None:
    assert split_items('"arts, culture",sports') == ["arts, culture", "sports"]
    assert parse_labels(['"arts, culture", "food, drink"']).names == ("arts, culture", "food, drink")


def test_descriptions_replace_the_template() -> None:
    labels = parse_labels(["positive=This is great.,negative=This is terrible.", "neutral"])
    assert labels.names == ("positive", "negative", "neutral")
    assert labels.texts("Topic: {label}") == ["This is great.", "This is terrible.", "Topic: neutral"]


def test_dict_of_descriptions() -> None:
    labels = parse_labels({"pos": "I loved it.", "neg": ""})
    assert labels.names == ("pos", "neg")
    assert labels.descriptions == ("I loved it.", None)


@pytest.mark.parametrize("bad", [None, "", " , ,", [], [""], {}])
def test_no_labels_is_a_clear_error(bad: object) -> None:
    with pytest.raises(AIMagicsError, match="No labels were given.*--labels"):
        parse_labels(bad)  # type: ignore[arg-type]


def test_repeated_labels_and_nameless_descriptions_fail() -> None:
    with pytest.raises(AIMagicsError, match="'a' appear twice"):
        parse_labels("a,b,a")
    with pytest.raises(AIMagicsError, match="no name before '='"):
        parse_labels("=just a description,b")
    with pytest.raises(AIMagicsError, match="not int"):
        parse_labels(3)  # type: ignore[arg-type]


def test_one_label_needs_multi_label() -> None:
    one = parse_labels("spam")
    with pytest.raises(AIMagicsError, match="at least two"):
        require_choice(one, multi_label=False)
    assert require_choice(one, multi_label=True) is one


def test_template_needs_the_placeholder() -> None:
    assert check_template("It is {label}") == "It is {label}"
    with pytest.raises(AIMagicsError, match="no \\{label\\} placeholder"):
        parse_labels("a,b").texts("This is {}.")
