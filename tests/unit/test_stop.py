"""Stop strings: generation ends at one without ever showing part of it."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from ai_magics.tasks.generate.stop import StopMatcher


def run(stops: tuple[str, ...], pieces: list[str]) -> tuple[list[str], bool]:
    """Feed pieces until a stop is hit; return what was emitted (flush included when none was hit)."""
    matcher = StopMatcher(stops)
    shown: list[str] = []
    for piece in pieces:
        text, stopped = matcher.feed(piece)
        shown.append(text)
        if stopped:
            return shown, True
    shown.append(matcher.flush())
    return shown, False


def test_without_stops_everything_passes_through():
    matcher = StopMatcher(())
    assert matcher.feed("Hello") == ("Hello", False)
    assert matcher.feed("###") == ("###", False)
    assert matcher.flush() == ""


def test_empty_stop_strings_are_ignored():
    assert StopMatcher(("",)).feed("abc") == ("abc", False)


def test_a_stop_inside_one_piece_cuts_before_it():
    assert StopMatcher(("###",)).feed("Answer: 42### more") == ("Answer: 42", True)


def test_a_stop_split_across_pieces_is_never_shown():
    shown, stopped = run(("###",), ["Hello #", "#", "# world"])
    assert stopped and shown == ["Hello ", "", ""]


def test_held_text_is_released_when_it_turns_out_not_to_be_a_stop():
    matcher = StopMatcher(("###",))
    assert matcher.feed("a #") == ("a ", False)
    assert matcher.feed("# b") == ("## b", False)
    assert matcher.feed("#") == ("", False)
    assert matcher.flush() == "#"
    assert matcher.flush() == ""


def test_the_earliest_of_several_stops_wins():
    assert StopMatcher(("END", "\n\n")).feed("one\n\ntwo END") == ("one", True)
    assert StopMatcher(("\n\n", "END")).feed("oneEND\n\n") == ("one", True)


def test_holds_back_the_longest_possible_stop_prefix():
    matcher = StopMatcher(("<|im_end|>", "<|"))
    assert matcher.feed("hi <") == ("hi ", False)
    assert matcher.feed("|im") == ("", True)  # "<|" itself is a stop


def test_overlapping_prefixes():
    shown, stopped = run(("aab",), ["a", "a", "a", "b", "tail"])
    assert stopped and "".join(shown) == "a"


def test_a_stop_at_the_very_start():
    assert run(("Q:",), ["Q", ":", " next"]) == (["", ""], True)


@settings(max_examples=300, deadline=None)
@given(
    stop=st.text(alphabet="ab#", min_size=1, max_size=4),
    pieces=st.lists(st.text(alphabet="ab# ", max_size=5), max_size=12),
)
def test_emitted_text_is_everything_before_the_first_stop(stop, pieces):
    full = "".join(pieces)
    shown, stopped = run((stop,), pieces)
    cut = full.find(stop)
    assert stopped == (cut >= 0)
    assert "".join(shown) == (full[:cut] if cut >= 0 else full)
