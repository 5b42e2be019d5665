"""Report delivery channels: where a report goes. Each sends one Outgoing with `deliver`.

To add one, write a module with a channel class built from its options dataclass, list it in
CHANNELS, and tell the composition root how to build its options (tracker/delivery.py SETUPS).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from reports.channels.base import Alert, Channel, DeliveryError, Outgoing, UnknownChannelError
from reports.channels.email import EmailChannel, EmailOptions, make_message_id
from reports.channels.file import FileChannel, FileOptions
from reports.channels.notify import NotifyChannel, NotifyOptions
from reports.channels.site import SiteChannel, SiteOptions

__all__ = [
    "CHANNELS",
    "Alert",
    "Channel",
    "DeliveryError",
    "EmailChannel",
    "EmailOptions",
    "FileChannel",
    "FileOptions",
    "NotifyChannel",
    "NotifyOptions",
    "Outgoing",
    "SiteChannel",
    "SiteOptions",
    "UnknownChannelError",
    "get_channel",
    "make_message_id",
]

CHANNELS: Final[Mapping[str, type[Channel]]] = {
    "file": FileChannel,
    "site": SiteChannel,
    "email": EmailChannel,
    "notify": NotifyChannel,
}


def get_channel(name: str) -> type[Channel]:
    """Return the channel class registered under `name` (a config value such as "file").

    Raises:
        UnknownChannelError: `name` is not a channel; the message lists the known ones.
    """
    try:
        return CHANNELS[name]
    except KeyError:
        raise UnknownChannelError(name, choices=sorted(CHANNELS)) from None
