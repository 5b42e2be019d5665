"""The statuses and outcomes the store records (DESIGN §7), as string enums.

Stored as their string values, so SQL users read plain words; compared as enums in code.
"""

from __future__ import annotations

from enum import StrEnum


class RunStatus(StrEnum):
    """A run's status: running until it finishes, then ok, partial or failed."""

    RUNNING = "running"
    OK = "ok"
    PARTIAL = "partial"
    FAILED = "failed"


class Trigger(StrEnum):
    """What started a run: a person, the scheduler, or a web-archive replay (`backfill`)."""

    MANUAL = "manual"
    SCHEDULE = "schedule"
    ARCHIVE = "archive"


class Outcome(StrEnum):
    """What one fetch of one page in one run came to (the `observation.outcome` column)."""

    NEW = "new"
    CHANGED = "changed"
    UNCHANGED = "unchanged"
    NOT_MODIFIED = "not_modified"
    GONE = "gone"
    ERROR = "error"
    ANOMALY = "anomaly"


class DeliveryStatus(StrEnum):
    """Where an outbox delivery stands."""

    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"


# Observation outcomes that leave the page's last version in place: nothing new was stored.
PROBLEM_OUTCOMES: frozenset[Outcome] = frozenset({Outcome.ERROR, Outcome.ANOMALY, Outcome.GONE})
# Outcomes whose response's content is what the page's latest version holds (its validators
# serve conditional requests).
STORED_OUTCOMES: frozenset[Outcome] = frozenset({Outcome.NEW, Outcome.CHANGED, Outcome.UNCHANGED})
