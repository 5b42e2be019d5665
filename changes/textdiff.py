"""Compare the normalised text of two document versions: did it change, and the optional line diff.

Pure. Used by `changes/diff.py`.
"""

from __future__ import annotations

import difflib
from collections import Counter


def _lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


def text_changed(old: str, new: str) -> bool:
    """Return True when the text says something different, not merely in another order.

    Lines are compared as a multiset: a reorder of organisations (or of any blocks) permutes lines
    and is reported as `organisation_order` metadata, which does not count as a change (DESIGN §8).
    """
    if old == new:
        return False
    return Counter(_lines(old)) != Counter(_lines(new))


def unified_text_diff(old: str, new: str, *, old_label: str = "old", new_label: str = "new") -> str:
    """Return a unified line diff (difflib, 3 lines of context); "" when the texts are equal."""
    return "\n".join(
        difflib.unified_diff(
            old.splitlines(), new.splitlines(), fromfile=old_label, tofile=new_label, lineterm=""
        )
    )
