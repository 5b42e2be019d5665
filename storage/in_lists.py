"""Long `IN (...)` lists, cut into pieces: SQLite limits how many parameters one statement takes."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Final, TypeVar

IN_LIST_SIZE: Final = 500

_Value = TypeVar("_Value")


def in_chunks(values: Sequence[_Value]) -> Iterator[Sequence[_Value]]:
    """`values` in order, at most `IN_LIST_SIZE` at a time."""
    for start in range(0, len(values), IN_LIST_SIZE):
        yield values[start : start + IN_LIST_SIZE]
