"""What changed in a piece of text, word by word, with the unchanged stretches elided. Pure.

`word_diff("… Social Care. It has …", "… Social Care. It now covers devices. It has …")` gives
segments a format marks up: kept words, deleted words, inserted words and "…" for the long
unchanged stretches between them. Reports use it for a re-described organisation and for long
metadata fields (DESIGN §9: a reader sees what changed, not two paragraphs to compare).
"""

from __future__ import annotations

from dataclasses import dataclass
from difflib import SequenceMatcher
from typing import Final, Literal, TypeAlias

SegmentKind: TypeAlias = Literal["same", "deleted", "inserted", "elided"]
# Unchanged words kept on each side of a change. Two changes this close share their context and
# read as one stretch; a longer unchanged stretch between them is elided.
CONTEXT_WORDS: Final = 4
# An ellipsis stands for at least this many words; a shorter unchanged stretch is shown whole.
MIN_ELIDED: Final = 3
ELLIPSIS: Final = "…"
_SENTENCE_END: Final = (".", "!", "?", ";", ":")

_Token: TypeAlias = tuple[SegmentKind, str]


@dataclass(frozen=True, slots=True)
class Segment:
    """A run of words of one kind; an "elided" segment stands for unchanged words left out."""

    kind: SegmentKind
    text: str


def word_diff(old: str, new: str, *, context: int = CONTEXT_WORDS) -> tuple[Segment, ...]:
    """Return the word-level changes from `old` to `new`; () when the words are the same.

    Words are whitespace-separated tokens (punctuation stays with its word) and are joined again
    with single spaces. A replaced stretch is a deleted segment followed by an inserted one. An
    inserted (or deleted) stretch that could sit at several places reads best where it is a whole
    sentence: "Care. {+It now covers devices.+} It has", not "Care. It {+now covers devices. It+}".
    """
    old_words, new_words = old.split(), new.split()
    if old_words == new_words:
        return ()
    tokens: list[_Token] = []
    for tag, i1, i2, j1, j2 in SequenceMatcher(None, old_words, new_words, False).get_opcodes():
        if tag == "equal":
            tokens += [("same", word) for word in old_words[i1:i2]]
            continue
        tokens += [("deleted", word) for word in old_words[i1:i2]]
        tokens += [("inserted", word) for word in new_words[j1:j2]]
    _place_blocks(tokens)
    return _segments(tokens, context)


def _place_blocks(tokens: list[_Token]) -> None:
    """Move each block of only inserted (or only deleted) words to its best equivalent place."""
    start = 0
    while start < len(tokens):
        kind = tokens[start][0]
        end = start
        while end < len(tokens) and tokens[end][0] == kind:
            end += 1
        if kind != "same" and _kind_at(tokens, start - 1) == _kind_at(tokens, end) == "same":
            end = _slide(tokens, start, end)
        start = end


def _kind_at(tokens: list[_Token], index: int) -> SegmentKind:
    return tokens[index][0] if 0 <= index < len(tokens) else "same"


def _slide(tokens: list[_Token], start: int, end: int) -> int:
    """Slide the block tokens[start:end] to its best place; return its new end.

    A block can move one word left when the word before it equals its last word (and right when
    the word after it equals its first): both texts stay the same, only the marking moves.
    """
    kind = tokens[start][0]

    def step(left: bool) -> bool:
        nonlocal start, end
        outside, inside = (start - 1, end - 1) if left else (end, start)
        if not (0 <= outside < len(tokens)) or tokens[outside] != ("same", tokens[inside][1]):
            return False
        tokens[outside], tokens[inside] = (kind, tokens[outside][1]), ("same", tokens[inside][1])
        start, end = (start - 1, end - 1) if left else (start + 1, end + 1)
        return True

    while step(left=True):
        pass
    best_start, best_score = start, _score(tokens, start, end)
    while step(left=False):
        if _score(tokens, start, end) > best_score:
            best_start, best_score = start, _score(tokens, start, end)
    while start > best_start and step(left=True):
        pass
    return end


def _score(tokens: list[_Token], start: int, end: int) -> int:
    """How well a block reads here: it ends a sentence (2), it starts one (1)."""
    ends = tokens[end - 1][1].endswith(_SENTENCE_END)
    starts = start == 0 or tokens[start - 1][1].endswith(_SENTENCE_END)
    return 2 * ends + starts


def _segments(tokens: list[_Token], context: int) -> tuple[Segment, ...]:
    runs: list[tuple[SegmentKind, list[str]]] = []
    for kind, word in tokens:
        if runs and runs[-1][0] == kind:
            runs[-1][1].append(word)
        else:
            runs.append((kind, [word]))
    segments: list[Segment] = []
    for index, (kind, words) in enumerate(runs):
        if kind == "same":
            head = 0 if index == 0 else context
            tail = 0 if index == len(runs) - 1 else context
            segments += _kept(words, head=head, tail=tail)
        else:
            segments.append(Segment(kind, " ".join(words)))
    return tuple(segments)


def _kept(words: list[str], *, head: int, tail: int) -> list[Segment]:
    """An unchanged stretch: its first `head` and last `tail` words, the rest elided.

    Fewer than MIN_ELIDED words are never elided: "…" would save the reader nothing.
    """
    if len(words) < head + tail + MIN_ELIDED:
        return [Segment("same", " ".join(words))]
    kept: list[Segment] = []
    if head:
        kept.append(Segment("same", " ".join(words[:head])))
    kept.append(Segment("elided", ELLIPSIS))
    if tail:
        kept.append(Segment("same", " ".join(words[len(words) - tail :])))
    return kept
