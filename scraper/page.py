"""The parsed content of a GOV.UK page: frozen values with a canonical JSON form.

Everything downstream (storage, changes, reports) works on these types. Equality is semantic
equality because the parser normalises text, so the SHA-256 of `page_to_json` is the change gate.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field, fields, is_dataclass
from functools import cache
from typing import TYPE_CHECKING, Any, Literal, TypeAlias

if TYPE_CHECKING:
    import msgspec

PageKind: TypeAlias = Literal["publication", "html_document", "attachment"]


@dataclass(frozen=True, slots=True)
class DocumentLink:
    """One entry of a publication's "Documents" list."""

    title: str
    url: str
    kind: Literal["html", "attachment"]
    attributes: tuple[str, ...] = ()  # e.g. ("HTML",) or ("PDF", "1.2 MB", "12 pages")


@dataclass(frozen=True, slots=True)
class UpdateEntry:
    """One entry of a publication's change history: the date GOV.UK shows and the note."""

    date: str  # ISO date, the date part of the datetime attribute in its own offset
    note: str


@dataclass(frozen=True, slots=True)
class Organisation:
    """An organisation listed in an HTML document: an h3 and what follows it."""

    name: str
    url: str | None
    description: str
    stage: str  # normalised stage label, e.g. "Discovery and deep research"
    stage_heading: str  # the h2 text as written
    links: tuple[str, ...] = ()
    position: int = 0  # 0-based order within the document


@dataclass(frozen=True, slots=True)
class Publication:
    """A GOV.UK publication page: metadata, its Documents list and its change history."""

    url: str
    title: str
    doc_type: str
    description: str
    from_organisations: tuple[str, ...]
    published: str | None  # ISO date
    last_updated: str | None  # ISO date
    documents: tuple[DocumentLink, ...]
    updates: tuple[UpdateEntry, ...]  # newest first
    details_text: str
    kind: Literal["publication"] = field(default="publication")


@dataclass(frozen=True, slots=True)
class HtmlDocument:
    """An HTML attachment of a publication, with the organisations it lists."""

    url: str
    title: str
    doc_type: str
    updated: str | None  # ISO date of the "Updated <date>" / "Published <date>" line
    intro_text: str
    organisations: tuple[Organisation, ...]
    text: str  # normalised body text, for line diffs
    kind: Literal["html_document"] = field(default="html_document")


@dataclass(frozen=True, slots=True)
class Attachment:
    """A non-HTML attachment (PDF, CSV, ...) recorded from the Documents list, never fetched."""

    url: str
    title: str
    attributes: tuple[str, ...]
    kind: Literal["attachment"] = field(default="attachment")


Page: TypeAlias = Publication | HtmlDocument | Attachment


def page_to_dict(page: Page) -> dict[str, Any]:
    """Return the page as plain JSON-compatible data (what `dataclasses.asdict` returns).

    Written out because `asdict` deep-copies every value on its way, which made it a tenth of
    the cost of parsing a page.
    """
    return _as_dict(page)


def _as_dict(value: Any) -> dict[str, Any]:
    cls: type = type(value)
    return {name: _plain(getattr(value, name)) for name in _field_names(cls)}


def _plain(value: Any) -> Any:
    if isinstance(value, tuple):
        return tuple(_plain(item) for item in value)
    if is_dataclass(value):
        return _as_dict(value)
    return value


@cache  # pure: a dataclass's fields never change (the few page types, so the cache stays small)
def _field_names(cls: type) -> tuple[str, ...]:
    return tuple(item.name for item in fields(cls))


@cache  # one encoder per process, made on first use (the query commands never need it)
def _canonical_encoder() -> msgspec.json.Encoder:
    import msgspec

    return msgspec.json.Encoder(order="sorted")


def canonical_json(value: Any) -> str:
    """Return the canonical JSON of pages, their parts, or dicts and tuples of them.

    Sorted keys, no ASCII escaping, compact separators: byte for byte what `json.dumps(
    page_to_dict(page), sort_keys=True, ensure_ascii=False, separators=(",", ":"))` writes
    (tests/test_page_json.py), several times faster, reading the dataclasses directly.
    """
    return _canonical_encoder().encode(value).decode("utf-8")


def page_to_json(page: Page) -> str:
    """Return the canonical JSON form: sorted keys, no ASCII escaping, compact separators."""
    return canonical_json(page)


def page_fields(page: Page, *, without: str = "") -> dict[str, Any]:
    """Return the page's fields by name (not converted), leaving out the field `without`."""
    cls: type = type(page)
    return {name: getattr(page, name) for name in _field_names(cls) if name != without}


def content_hash(page: Page) -> str:
    """Return the SHA-256 hex digest of the canonical JSON: equal pages have equal hashes."""
    return hashlib.sha256(page_to_json(page).encode("utf-8")).hexdigest()


def page_from_dict(data: dict[str, Any]) -> Page:
    """Rebuild a page from `page_to_dict` output (as stored)."""
    kind = data["kind"]
    if kind == "publication":
        return Publication(
            url=data["url"],
            title=data["title"],
            doc_type=data["doc_type"],
            description=data["description"],
            from_organisations=tuple(data["from_organisations"]),
            published=data["published"],
            last_updated=data["last_updated"],
            documents=tuple(
                DocumentLink(d["title"], d["url"], d["kind"], tuple(d["attributes"]))
                for d in data["documents"]
            ),
            updates=tuple(UpdateEntry(u["date"], u["note"]) for u in data["updates"]),
            details_text=data["details_text"],
        )
    if kind == "html_document":
        return HtmlDocument(
            url=data["url"],
            title=data["title"],
            doc_type=data["doc_type"],
            updated=data["updated"],
            intro_text=data["intro_text"],
            organisations=tuple(
                Organisation(
                    name=o["name"],
                    url=o["url"],
                    description=o["description"],
                    stage=o["stage"],
                    stage_heading=o["stage_heading"],
                    links=tuple(o["links"]),
                    position=o["position"],
                )
                for o in data["organisations"]
            ),
            text=data["text"],
        )
    if kind == "attachment":
        return Attachment(
            url=data["url"], title=data["title"], attributes=tuple(data["attributes"])
        )
    raise ValueError(f"unknown page kind {kind!r}")


def page_from_json(text: str) -> Page:
    """Rebuild a page from its canonical JSON."""
    return page_from_dict(json.loads(text))
