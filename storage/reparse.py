"""Storage side of re-parsing: which versions an older parser made, and rewriting them in place.

A version is stale when an older parser than the current one produced its content and it can be
re-parsed: from its raw body, or, for an attachment (recorded from its publication's Documents
list, never fetched), from its publication's version. A version the current parser could not
re-parse is marked (`reparse_failed_by`) and not tried again until the parser changes again.
Rewriting a version forgets the summaries of the runs that may have seen it (`summary_json`
NULL), so the caller can rebuild them, even after a crash in between.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, and_, delete, func, or_, select, update
from sqlalchemy.orm import Session

from storage.content import EncodedPage, stored_content
from storage.order import OLDEST_FIRST, after, newest_versions
from storage.queries import FINISHED
from storage.snapshots import Parsed, write_content_rows
from storage.tables import OrganisationRow, PageVersion, Run, UpdateEntryRow
from storage.tables import Page as PageRow


@dataclass(frozen=True, slots=True)
class StaleVersion:
    """A version to re-parse, with what re-parsing it needs."""

    version_id: int
    run_id: int
    url: str
    kind: str  # the page's kind: publication, html_document or attachment
    blob_sha256: str | None
    transport_charset: str | None
    content_hash: str


def _stale(parser_version: int) -> ColumnElement[bool]:
    return and_(
        PageVersion.parser_version < parser_version,
        or_(
            PageVersion.reparse_failed_by.is_(None),
            PageVersion.reparse_failed_by < parser_version,
        ),
        or_(PageVersion.blob_sha256.is_not(None), PageRow.kind == "attachment"),
    )


def stale_version_count(session: Session, parser_version: int) -> int:
    """How many versions could be brought up to `parser_version` by re-parsing."""
    count = session.scalar(
        select(func.count())
        .select_from(PageVersion)
        .join(PageRow, PageRow.id == PageVersion.page_id)
        .where(_stale(parser_version))
    )
    return count or 0


def kept_version_counts(session: Session, parser_version: int) -> tuple[int, int]:
    """How many versions keep an older parser's content: (raw body gone, rejected by it)."""
    rejected = PageVersion.reparse_failed_by >= parser_version
    rows = session.execute(
        select(rejected, func.count())
        .select_from(PageVersion)
        .join(PageRow, PageRow.id == PageVersion.page_id)
        .where(PageVersion.parser_version < parser_version, ~_stale(parser_version))
        .group_by(rejected)
    ).all()
    counts = {bool(flag): count for flag, count in rows}
    return counts.get(False, 0), counts.get(True, 0)


def pages_with_stale_versions(session: Session, parser_version: int) -> list[tuple[int, str]]:
    """The (id, kind) of each page with stale versions: publications first, attachments last.

    An attachment is re-derived from its publication's version, so publications come first.
    """
    order = {"publication": 0, "html_document": 1, "attachment": 2}
    rows = session.execute(
        select(PageRow.id, PageRow.kind)
        .join(PageVersion, PageVersion.page_id == PageRow.id)
        .where(_stale(parser_version))
        .group_by(PageRow.id, PageRow.kind)
    ).all()
    return sorted(((page_id, kind) for page_id, kind in rows), key=lambda r: (order[r[1]], r[0]))


def stale_versions(session: Session, page_id: int, parser_version: int) -> list[StaleVersion]:
    """The page's stale versions, oldest first."""
    rows = session.execute(
        select(
            PageVersion.id,
            PageVersion.run_id,
            PageRow.url,
            PageRow.kind,
            PageVersion.blob_sha256,
            PageVersion.transport_charset,
            PageVersion.content_hash,
        )
        .join(PageRow, PageRow.id == PageVersion.page_id)
        .where(PageVersion.page_id == page_id, _stale(parser_version))
        .order_by(PageVersion.id)
    ).all()
    return [StaleVersion(*row) for row in rows]


def publication_versions_at(session: Session, run_id: int) -> list[tuple[int, int, bytes]]:
    """(version id, parser version, content) of each publication's newest version at `run_id`."""
    newest = newest_versions(session.get_one(Run, run_id), kind="publication")
    rows = session.execute(
        select(PageVersion.id, PageVersion.parser_version, PageVersion.content).where(
            PageVersion.id.in_(newest)
        )
    ).all()
    return [(version_id, version, content) for version_id, version, content in rows]


def rewrite_version(
    session: Session, version: StaleVersion, encoded: EncodedPage, parsed: Parsed
) -> bool:
    """Give a version the content the current parser made of it; return whether it changed.

    Its organisation and update entry rows are rebuilt when the content changed, and the
    summaries of the runs that may have reported it are forgotten (`forget_summaries`).
    """
    changed = encoded.content_hash != version.content_hash
    values: dict[str, Any] = {
        "parser_version": parsed.parser_version,
        "reparse_failed_by": None,
        "source_fingerprint": parsed.source_fingerprint,
    }
    if changed:
        values |= {
            "content_hash": encoded.content_hash,
            "content": stored_content(encoded),
        }
    session.execute(update(PageVersion).where(PageVersion.id == version.version_id).values(values))
    if changed:
        for table in (OrganisationRow, UpdateEntryRow):
            session.execute(delete(table).where(table.version_id == version.version_id))
        write_content_rows(session, version.version_id, encoded.page)
        forget_summaries(session, from_run=version.run_id)
    return changed


def mark_reparse_failed(session: Session, version_id: int, parser_version: int) -> None:
    """Record that `parser_version` could not re-parse the version (it keeps its content)."""
    session.execute(
        update(PageVersion)
        .where(PageVersion.id == version_id)
        .values(reparse_failed_by=parser_version)
    )


def forget_summaries(session: Session, *, from_run: int) -> None:
    """Clear the stored summaries of finished runs from `from_run` on (in time order), to be
    rebuilt (`runs_without_summary`).

    A version written by run R is in the state of every run from R until the page's next
    version, and in the diff of the run where it appears and of the one where it is replaced.
    """
    session.execute(
        update(Run)
        .where(or_(Run.id == from_run, after(session.get_one(Run, from_run))))
        .where(Run.status.in_(FINISHED))
        .values(summary_json=None, organisations_stored=None, updates_stored=None)
    )


def runs_without_summary(session: Session) -> list[int]:
    """Finished runs whose summary is to be rebuilt, oldest first."""
    return list(
        session.scalars(
            select(Run.id)
            .where(Run.status.in_(FINISHED), Run.summary_json.is_(None))
            .order_by(*OLDEST_FIRST)
        )
    )
