"""Word-level changes (changes.worddiff): what changed in a text, the unchanged stretches elided."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from changes.worddiff import CONTEXT_WORDS, ELLIPSIS, MIN_ELIDED, Segment, word_diff

CPRD_BEFORE = (
    "CPRD is a not-for-profit government research service, jointly supported by the Medicines "
    "and Healthcare products Regulatory Agency and the National Institute for Health and Care "
    "Research, as part of the Department of Health and Social Care. It has provided anonymised "
    "primary care records for public health research for over 30 years."
)
CPRD_AFTER = CPRD_BEFORE.replace(
    "Social Care. It has", "Social Care. It now covers devices. It has"
)


def same(text: str) -> Segment:
    return Segment("same", text)


def gap() -> Segment:
    return Segment("elided", ELLIPSIS)


def test_an_insertion_shows_a_few_words_either_side_and_elides_the_rest() -> None:
    assert word_diff(CPRD_BEFORE, CPRD_AFTER) == (
        gap(),
        same("Health and Social Care."),
        Segment("inserted", "It now covers devices."),
        same("It has provided anonymised"),
        gap(),
    )


def test_a_replacement_is_the_old_words_then_the_new() -> None:
    assert word_diff("MedCity promotes the cluster.", "MedCity is a membership body.") == (
        same("MedCity"),
        Segment("deleted", "promotes the cluster."),
        Segment("inserted", "is a membership body."),
    )


def test_nearby_changes_share_their_context_distant_ones_are_elided_between() -> None:
    words = [f"w{i}" for i in range(40)]
    near = list(words)
    near[10], near[16] = "X", "Y"  # 5 unchanged words between: shown whole
    assert ELLIPSIS not in [s.text for s in word_diff(" ".join(words), " ".join(near))[1:-1]]
    far = list(words)
    far[10], far[30] = "X", "Y"  # 19 unchanged words between: 4 + … + 4
    segments = word_diff(" ".join(words), " ".join(far))
    assert [s.kind for s in segments] == [
        "elided", "same", "deleted", "inserted", "same", "elided", "same", "deleted", "inserted",
        "same", "elided",
    ]  # fmt: skip
    assert segments[4] == same("w11 w12 w13 w14")
    assert segments[6] == same("w26 w27 w28 w29")


def test_short_unchanged_stretches_are_never_elided() -> None:
    # Two words before the change: fewer than MIN_ELIDED, so no "…" stands in for them.
    assert word_diff("a b c d e f", "a b c d e g")[0] == same("a b c d e")
    assert (MIN_ELIDED, CONTEXT_WORDS) == (3, 4)


def test_the_same_words_give_no_change_even_when_spacing_differs() -> None:
    assert word_diff("Life  Sciences\nHub", "Life Sciences Hub") == ()
    assert word_diff("", "") == ()


def test_text_added_to_or_removed_from_nothing_is_one_segment() -> None:
    assert word_diff("", "New text here.") == (Segment("inserted", "New text here."),)
    assert word_diff("Old text.", "") == (Segment("deleted", "Old text."),)


words = st.lists(
    st.sampled_from(["the", "NHS", "care", "Wales", "cluster.", "and", "x"]), max_size=30
)


@given(words, words)
def test_kept_and_deleted_words_rebuild_the_old_text_and_kept_and_inserted_the_new(
    old: list[str], new: list[str]
) -> None:
    segments = word_diff(" ".join(old), " ".join(new), context=10**6)  # nothing elided
    if old == new:
        assert segments == ()
        return
    assert ELLIPSIS not in [s.text for s in segments]
    rebuilt_old = " ".join(s.text for s in segments if s.kind in ("same", "deleted")).split()
    rebuilt_new = " ".join(s.text for s in segments if s.kind in ("same", "inserted")).split()
    assert (rebuilt_old, rebuilt_new) == (old, new)
    assert all(s.text for s in segments)


def test_an_inserted_sentence_is_marked_as_a_whole_sentence() -> None:
    # difflib alone would mark "Care. It {+now covers devices. It+} has": same texts, harder read.
    segments = word_diff("Care. It has data.", "Care. It now covers devices. It has data.")
    assert segments == (
        same("Care."),
        Segment("inserted", "It now covers devices."),
        same("It has data."),
    )
    deleted = word_diff("Care. It now covers devices. It has data.", "Care. It has data.")
    assert deleted[1] == Segment("deleted", "It now covers devices.")
