"""What every delivery channel shares: the Channel protocol, Outgoing and DeliveryError.

A channel is built from one frozen options dataclass and sends one Outgoing at a time
(`deliver`). It renders through reports.formats at send time and never looks inside a ChangeSet.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar, Protocol

from reports.errors import UnknownNameError
from reports.model import Report


class DeliveryError(Exception):
    """One delivery failed (a file could not be written, the mail server said no).

    Raised by every channel in reports/channels/. The caller records the message in the
    delivery's `last_error`, leaves the delivery pending for a retry, and goes on with the
    other deliveries. The message is always one line and never contains a secret.
    """

    def __init__(self, message: str) -> None:
        super().__init__(one_line(message))

    @property
    def message(self) -> str:
        """Return the one-line message."""
        return str(self.args[0])


class UnknownChannelError(UnknownNameError):
    """A channel name is not in the CHANNELS registry (raised by `reports.channels.get_channel`)."""

    kind = "channel"


@dataclass(frozen=True, slots=True)
class Alert:
    """A problem alert: a subject line and plain text, with no report behind it."""

    subject: str
    text: str


def _no_report() -> Report:
    raise DeliveryError("this delivery carries no report")


def _no_feed() -> Sequence[Report]:
    return ()


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One delivery, as a channel sends it. The composition root builds it from the outbox row.

    The report is read from the store only when a channel calls `load_report` (a site rebuild
    needs none); `load_feed` reads the reports of the last changed runs, newest first, for
    feed.atom. `run_at` and `range_from` name the report's files: a run's own report is
    `<run>-<run_at>.<ext>` and may become latest.*; a range (`report FROM TO`) is
    `<from>-<run>-<created_at>.<ext>` and never touches latest.* or feed.atom.
    """

    delivery_id: int
    format: str  # a reports.formats name; an alert's is "alert"
    target: str  # the outbox row's target: a directory, recipients, a masked notify URL
    created_at: datetime
    run: int | None = None
    run_at: datetime | None = None
    is_range: bool = False
    range_from: int | None = None  # the FROM run of a range; None for a baseline range
    target_key: str | None = None  # finds a notify target's full URL (never stored)
    alert: Alert | None = None
    link: str | None = None  # where readers see more ([site] base_url), for short messages
    load_report: Callable[[], Report] = _no_report
    load_feed: Callable[[], Sequence[Report]] = _no_feed


class Channel(Protocol):
    """A way to deliver reports, built from its options dataclass; registered in CHANNELS."""

    name: ClassVar[str]

    def __init__(self, options: Any) -> None:
        """Keep the channel's options (a frozen dataclass of the channel's own module)."""
        ...

    def deliver(self, outgoing: Outgoing) -> None:
        """Send one delivery.

        Raises:
            DeliveryError: it could not be sent; the message is one line without secrets.
        """
        ...


def one_line(text: str) -> str:
    """Collapse all whitespace, newlines included, so a message fits on one line."""
    return " ".join(text.split())
