"""Report formats: how a Report is written down. To add one, write a module and list it here."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from reports.errors import UnknownFormatError
from reports.formats.atom import AtomFormat
from reports.formats.base import Format
from reports.formats.chat import ChatFormat
from reports.formats.html import HtmlFormat
from reports.formats.json import JsonFormat
from reports.formats.markdown import MarkdownFormat
from reports.formats.text import TextFormat

__all__ = ["FORMATS", "Format", "get_format"]

FORMATS: Final[Mapping[str, Format]] = {
    "text": TextFormat(),
    "markdown": MarkdownFormat(),
    "html": HtmlFormat(),
    "json": JsonFormat(),
    "atom": AtomFormat(),
    "chat": ChatFormat(),
}


def get_format(name: str) -> Format:
    """Return the format registered under `name` (a config value such as "markdown").

    Raises:
        UnknownFormatError: `name` is not a format; its `choices` lists the known ones.
    """
    try:
        return FORMATS[name]
    except KeyError:
        raise UnknownFormatError(name, choices=sorted(FORMATS)) from None
