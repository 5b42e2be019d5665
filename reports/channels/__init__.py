"""Report delivery channels: where a rendered report goes.

To add one, write a module and list it in CHANNELS.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from reports.channels.base import Channel, DeliveryError, UnknownChannelError
from reports.channels.email import EmailChannel, EmailOptions, make_message_id
from reports.channels.file import FileChannel, FileOptions

__all__ = [
    "CHANNELS",
    "Channel",
    "DeliveryError",
    "EmailChannel",
    "EmailOptions",
    "FileChannel",
    "FileOptions",
    "UnknownChannelError",
    "get_channel",
    "make_message_id",
]

CHANNELS: Final[Mapping[str, type[Channel]]] = {
    "file": FileChannel,
    "email": EmailChannel,
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
