"""Match the organisations of two versions of one HTML document, and say what changed (DESIGN §8).

Pure. Used by `changes/diff.py`; a rename is one change, a reorder is no organisation change at all.
"""

from __future__ import annotations

import unicodedata
from collections import Counter, defaultdict
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher
from functools import partial
from typing import Any, Final

from changes.changeset import ORGANISATION_FIELDS, OrganisationChange, OrganisationChanges
from scraper.page import Organisation

RENAME_RATIO: Final = 0.8
_APOSTROPHES: Final = frozenset("'’ʼ`")


def normalise_name(name: str) -> str:
    """Return the name as matching sees it: casefolded, punctuation stripped, whitespace collapsed.

    Apostrophes are dropped ("King's" = "Kings"); other punctuation separates words.
    """
    characters: list[str] = []
    for character in unicodedata.normalize("NFC", name).casefold():
        if character in _APOSTROPHES:
            continue
        characters.append(" " if unicodedata.category(character).startswith("P") else character)
    return " ".join("".join(characters).split())


@dataclass(frozen=True, slots=True)
class OrganisationMatch:
    """Indexes into the old and new organisation sequences: matched pairs, removed, added."""

    pairs: tuple[tuple[int, int], ...]  # (old index, new index), by old index
    removed: tuple[int, ...]
    added: tuple[int, ...]


def _pair_by_key(
    old: Sequence[Organisation],
    new: Sequence[Organisation],
    free_old: list[int],
    free_new: list[int],
    key: Callable[[Organisation], Hashable],
) -> list[tuple[int, int]]:
    """Pair still-unmatched organisations with equal keys, the n-th occurrence with the n-th."""
    waiting: defaultdict[Hashable, list[int]] = defaultdict(list)
    for index in free_new:
        waiting[key(new[index])].append(index)
    pairs: list[tuple[int, int]] = []
    for index in free_old:
        candidates = waiting.get(key(old[index]))
        if candidates:
            pairs.append((index, candidates.pop(0)))
    return pairs


def _unique_url_pairs(
    old: Sequence[Organisation],
    new: Sequence[Organisation],
    free_old: list[int],
    free_new: list[int],
) -> list[tuple[int, int]]:
    old_counts = Counter(old[i].url for i in free_old if old[i].url)
    new_counts = Counter(new[i].url for i in free_new if new[i].url)
    new_by_url = {new[i].url: i for i in free_new if new_counts[new[i].url] == 1}
    return [
        (i, new_by_url[old[i].url])
        for i in free_old
        if old[i].url and old_counts[old[i].url] == 1 and old[i].url in new_by_url
    ]


def _rename_pairs(
    old: Sequence[Organisation],
    new: Sequence[Organisation],
    free_old: list[int],
    free_new: list[int],
) -> list[tuple[int, int]]:
    """Pair the rest greedily, best score first: similar names, or the same url and description."""
    scored: list[tuple[float, int, int]] = []
    for i in free_old:
        old_name = normalise_name(old[i].name)
        for j in free_new:
            ratio = SequenceMatcher(None, old_name, normalise_name(new[j].name)).ratio()
            same_place = (
                old[i].url is not None
                and old[i].url == new[j].url
                and old[i].description == new[j].description
            )
            if ratio >= RENAME_RATIO or same_place:
                scored.append((ratio + (1.0 if same_place else 0.0), i, j))
    scored.sort(key=lambda item: (-item[0], item[1], item[2]))
    used_old: set[int] = set()
    used_new: set[int] = set()
    pairs: list[tuple[int, int]] = []
    for _, i, j in scored:
        if i not in used_old and j not in used_new:
            used_old.add(i)
            used_new.add(j)
            pairs.append((i, j))
    return pairs


def _identity(organisation: Organisation) -> Hashable:
    return (
        organisation.name,
        organisation.url,
        organisation.stage,
        organisation.description,
        organisation.links,
    )


def _name_in_stage(organisation: Organisation) -> Hashable:
    return (normalise_name(organisation.name), organisation.stage)


def _name(organisation: Organisation) -> Hashable:
    return normalise_name(organisation.name)


_Step = Callable[
    [Sequence[Organisation], Sequence[Organisation], list[int], list[int]], list[tuple[int, int]]
]
_STEPS: Final[tuple[_Step, ...]] = (
    partial(_pair_by_key, key=_identity),
    _unique_url_pairs,
    partial(_pair_by_key, key=_name_in_stage),
    partial(_pair_by_key, key=_name),
    _rename_pairs,
)


def match_organisations(
    old: Sequence[Organisation], new: Sequence[Organisation]
) -> OrganisationMatch:
    """Pair the organisations of two versions of a document.

    DESIGN §8 order: by url where it is unique on both sides, then by (normalised name, occurrence),
    then as renames. Two refinements keep reorders silent: identical organisations pair first, and
    a name pairs within its own stage before across stages (so duplicate names in two stages
    swapped in order stay paired with their own stage).
    """
    free_old = list(range(len(old)))
    free_new = list(range(len(new)))
    pairs: list[tuple[int, int]] = []
    for step in _STEPS:
        found = step(old, new, free_old, free_new)
        pairs.extend(found)
        matched_old = {i for i, _ in found}
        matched_new = {j for _, j in found}
        free_old = [i for i in free_old if i not in matched_old]
        free_new = [j for j in free_new if j not in matched_new]
    return OrganisationMatch(tuple(sorted(pairs)), tuple(free_old), tuple(free_new))


def _field_changes(old: Organisation, new: Organisation) -> dict[str, tuple[Any, Any]]:
    changes: dict[str, tuple[Any, Any]] = {}
    for name in ORGANISATION_FIELDS:
        before, after = getattr(old, name), getattr(new, name)
        if before != after:
            changes[name] = (before, after)
    return changes


def _order_changed(
    old: Sequence[Organisation], new: Sequence[Organisation], pairs: Sequence[tuple[int, int]]
) -> bool:
    """Return True when organisations that kept their stage changed their relative order."""
    kept = [j for i, j in pairs if old[i].stage == new[j].stage]
    return kept != sorted(kept)


def compare_organisations(
    old: Sequence[Organisation], new: Sequence[Organisation]
) -> tuple[OrganisationChanges, bool]:
    """Return the organisation changes of one document, and whether only their order changed too.

    Added and changed organisations are listed in new document order, removed ones in old order.
    """
    match = match_organisations(old, new)
    changed: list[tuple[int, OrganisationChange]] = []
    for i, j in match.pairs:
        changes = _field_changes(old[i], new[j])
        if changes:
            renamed = "name" in changes
            changed.append(
                (
                    j,
                    OrganisationChange(
                        name=new[j].name,
                        stage=new[j].stage,
                        changes=changes,
                        old_name=old[i].name if renamed else None,
                    ),
                )
            )
    result = OrganisationChanges(
        added=tuple(new[j] for j in sorted(match.added)),
        removed=tuple(old[i] for i in sorted(match.removed)),
        changed=tuple(change for _, change in sorted(changed, key=lambda item: item[0])),
    )
    return result, _order_changed(old, new, match.pairs)
