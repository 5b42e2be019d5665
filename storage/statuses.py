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
    """Where an outbox delivery stands.

    pending -> sending (claimed by one process, for a lease) -> sent, or back to pending with its
    error, or failed after `max_attempts`; pending or failed -> cancelled by `outbox cancel`.
    """

    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    CANCELLED = "cancelled"


class DeliveryKind(StrEnum):
    """What an outbox delivery carries (the `delivery.kind` column)."""

    RUN = "run"  # a run's own report: its files may become latest.* and feed.atom
    RANGE = "range"  # `report FROM TO`: its own files, never latest.*
    # One `backfill`'s summary: the range of the archive runs it stored (their ids in the
    # payload, {"runs": [...]}); files like a range's.
    BACKFILL = "backfill"
    ALERT = "alert"  # a problem alert (`[email] problems_after`); its text is the payload


# Observation outcomes that leave the page's last version in place: nothing new was stored.
PROBLEM_OUTCOMES: frozenset[Outcome] = frozenset({Outcome.ERROR, Outcome.ANOMALY, Outcome.GONE})
# Outcomes whose response's content is what the page's latest version holds (its validators
# serve conditional requests).
STORED_OUTCOMES: frozenset[Outcome] = frozenset({Outcome.NEW, Outcome.CHANGED, Outcome.UNCHANGED})
