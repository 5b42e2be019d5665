"""What `run` and `backfill` show on a terminal: a live progress line on stderr, log records
printed above it.

While the line is live, the stderr log handler is swapped for rich's, on the same console, so a
record never lands in the middle of the progress line; INFO records stay out of the way unless
asked for (`-v`). Off a terminal none of this runs and rich is not imported (cron stays quiet).
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.progress import Progress, ProgressColumn

    from tracker.pipeline import PageOutcome


def _stderr_handlers(logger: logging.Logger) -> list[logging.Handler]:
    return [
        handler
        for handler in logger.handlers
        if isinstance(handler, logging.StreamHandler)
        and not isinstance(handler, logging.FileHandler)
        and handler.stream is sys.stderr
    ]


def _level_above_progress(verbosity: int) -> int:
    """Which records show above the progress line: WARNING and up, INFO with -v, DEBUG with -vv."""
    if verbosity < 0:
        return logging.ERROR
    return {0: logging.WARNING, 1: logging.INFO}.get(verbosity, logging.DEBUG)


@contextmanager
def _live_progress(verbosity: int, *columns: ProgressColumn) -> Iterator[Progress]:
    """Yield a transient progress display on stderr, log records printed above it."""
    from rich.console import Console
    from rich.logging import RichHandler
    from rich.progress import Progress

    console = Console(stderr=True)
    root = logging.getLogger()
    replaced = _stderr_handlers(root)
    above = RichHandler(
        console=console, show_time=False, show_path=False, markup=False, rich_tracebacks=False
    )
    above.setLevel(_level_above_progress(verbosity))
    above.setFormatter(logging.Formatter("%(name)s: %(message)s"))
    for handler in replaced:
        root.removeHandler(handler)
    root.addHandler(above)
    try:
        with Progress(*columns, console=console, transient=True) as progress:
            yield progress
    finally:
        root.removeHandler(above)
        for handler in replaced:
            root.addHandler(handler)


@contextmanager
def progress_display(
    *, enabled: bool, verbosity: int = 0
) -> Iterator[Callable[[PageOutcome], None] | None]:
    """Show a live count of pages tracked (stderr) when `enabled`; yield the per-page callback."""
    if not enabled:
        yield None
        return
    from rich.progress import SpinnerColumn, TextColumn

    with _live_progress(verbosity, SpinnerColumn(), TextColumn("{task.description}")) as progress:
        task = progress.add_task("tracking: 0 pages", total=None)
        count = 0

        def advance(outcome: PageOutcome) -> None:
            nonlocal count
            count += 1
            name = outcome.url.rstrip("/").rpartition("/")[2]
            progress.update(
                task, description=f"tracking: {count} pages ({name}: {outcome.outcome})"
            )

        yield advance


@contextmanager
def capture_progress(
    *, enabled: bool, verbosity: int = 0
) -> Iterator[Callable[[int, int], None] | None]:
    """Show a bar of web-archive captures fetched out of those to fetch (stderr) when
    `enabled`; yield the callback `backfill` calls with (fetched, total)."""
    if not enabled:
        yield None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, TextColumn

    columns = (TextColumn("captures fetched"), BarColumn(), MofNCompleteColumn())
    with _live_progress(verbosity, *columns) as progress:
        task = progress.add_task("backfill", total=None)

        def advance(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        yield advance
