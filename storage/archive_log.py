"""The web-archive captures `backfill` is done with: the `archive_capture` table (DESIGN §12).

A capture is recorded in the transaction that stores its archive run (replayed: its outcome and
run), or once it is skipped for a reason asking again would not change (its reason, no run). The
next backfill reads them back (`replayed_captures`) and fetches none of them again. Functions
take a Session and never commit.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Final, cast

from sqlalchemy import Table, func, insert, select
from sqlalchemy.orm import Session

from storage.statuses import Trigger
from storage.tables import ArchiveCapture, Run

_CAPTURES: Final = cast(Table, ArchiveCapture.__table__)


@dataclass(frozen=True, slots=True)
class ReplayedCapture:
    """A capture done with: what came of it, and the archive run that stored it (if one did)."""

    url: str
    timestamp: str  # the archive's 14 digits
    outcome: str  # an observation outcome (new, changed, unchanged) or a skip reason
    run_id: int | None = None

    @property
    def key(self) -> tuple[str, str]:
        """Return (url, timestamp), as `scraper.archive.Capture.key` names the capture."""
        return (self.url, self.timestamp)


def replayed_captures(session: Session) -> dict[tuple[str, str], ReplayedCapture]:
    """Return every recorded capture by (url, timestamp)."""
    rows = session.execute(
        select(
            ArchiveCapture.url,
            ArchiveCapture.timestamp,
            ArchiveCapture.outcome,
            ArchiveCapture.run_id,
        )
    )
    found = (ReplayedCapture(*row) for row in rows)
    return {capture.key: capture for capture in found}


def record_captures(
    session: Session, captures: Iterable[ReplayedCapture], *, now: datetime
) -> None:
    """Record captures as done with (each at most once: the table refuses a second row)."""
    rows = [
        {
            "url": capture.url,
            "timestamp": capture.timestamp,
            "outcome": capture.outcome,
            "run_id": capture.run_id,
            "recorded_at": now,
        }
        for capture in captures
    ]
    if rows:
        session.execute(insert(_CAPTURES), rows)


def first_live_run(session: Session) -> datetime | None:
    """Return when the earliest run that is not an archive run started (None: there is none).

    History from web archives ends there: what came later, live runs have seen.
    """
    found: datetime | None = session.scalar(
        select(func.min(Run.started_at)).where(Run.trigger != Trigger.ARCHIVE.value)
    )
    return found
