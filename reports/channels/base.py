"""What every delivery channel shares: the Channel protocol and DeliveryError.

Channels deliver reports that the formats already rendered; they never look inside a ChangeSet.
"""

from __future__ import annotations

from typing import ClassVar, Protocol

from reports.errors import UnknownNameError


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


class Channel(Protocol):
    """A way to deliver rendered reports, built from one frozen options dataclass."""

    name: ClassVar[str]

    @property
    def target(self) -> str:
        """Return where this channel delivers to, for the outbox's `target` column."""
        ...


def one_line(text: str) -> str:
    """Collapse all whitespace, newlines included, so a message fits on one line."""
    return " ".join(text.split())
