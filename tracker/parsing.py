"""The parser for each kind of fetched page, and a body as the parser reads it."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Final

from scraper.page import Page
from scraper.parse import HtmlSource, parse_html_document, parse_publication

# Page kinds fetched and parsed (an attachment is recorded from its publication, never fetched).
PARSERS: Final[Mapping[str, Callable[[HtmlSource, str], Page]]] = MappingProxyType(
    {"publication": parse_publication, "html_document": parse_html_document}
)


def html_source(body: bytes, charset: str | None) -> HtmlSource:
    """The body to parse, decoded with the HTTP charset when the response named one (DESIGN §5)."""
    return HtmlSource(body, transport_encoding=charset)
