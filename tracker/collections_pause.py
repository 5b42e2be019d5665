"""Fewer garbage-collector passes while a run allocates: what a run builds lives until it ends."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Final

# A run allocates millions of small objects (parsed pages, rows) and frees few of them before it
# ends, so the default threshold (700) starts a young-generation pass every few hundred
# allocations, each of which finds almost nothing to free; the modules imported before the run
# are frozen out of every pass. Cyclic garbage is still collected, in larger steps.
RUN_THRESHOLDS: Final = (50_000, 20, 100)


@contextmanager
def fewer_collections() -> Iterator[None]:
    """Run the block with `RUN_THRESHOLDS` and the objects alive now frozen; restore after."""
    before = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(*RUN_THRESHOLDS)
    try:
        yield
    finally:
        gc.set_threshold(*before)
        gc.unfreeze()
