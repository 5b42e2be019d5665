"""Re-parse stored raw bodies with the current parser: `db reparse`, and runs after a change.

Every version records the parser version that produced its content. After a parser change,
the versions of older parsers are re-parsed from their raw bodies and rewritten in place, so
that comparing two stored states compares GOV.UK's pages, not two parsers. One transaction per
page (all its stale versions): a kill leaves each page's versions either all old or all new, and
running again finishes the job. An attachment (never fetched) is re-derived from its
publication's re-parsed Documents list. Then the stored summaries of the runs whose findings
may have changed are rebuilt (`history` shows them), one transaction per run.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from scraper.errors import LayoutChangedError
from scraper.page import Attachment, Page, Publication
from scraper.parse import PARSER_VERSION
from storage import reparse as stored
from storage.content import EncodedPage, decode_version, encode_page
from storage.snapshots import Parsed, load_blob
from storage.tables import Run
from tracker.parsing import PARSERS, html_source
from tracker.states import record_summary, run_changes

logger = logging.getLogger(__name__)
# Told (pages done, pages in all) after each page.
Progress = Callable[[int, int], None]

__all__ = ["ReparseSummary", "reparse_store", "stale_version_count"]


def stale_version_count(session: Session, parser_version: int = PARSER_VERSION) -> int:
    """How many stored versions an older parser made that can be re-parsed."""
    return stored.stale_version_count(session, parser_version)


@dataclass(frozen=True, slots=True)
class ReparseSummary:
    """What a re-parse did."""

    reparsed: int = 0  # versions given the current parser's content
    changed: int = 0  # of those, versions whose content changed
    failed: int = 0  # versions the current parser rejected, now or before (they keep content)
    without_body: int = 0  # versions that keep an older parser's content (no raw body, ...)
    runs_refreshed: int = 0  # run summaries rebuilt

    def describe(self) -> str:
        """One line for a person."""
        return (
            f"{self.reparsed} versions re-parsed ({self.changed} changed, "
            f"{self.reparsed - self.changed} unchanged), {self.failed} rejected by the current "
            f"parser, {self.without_body} without a raw body; "
            f"{self.runs_refreshed} run summaries rebuilt"
        )


@dataclass
class _Tally:
    reparsed: int = 0
    changed: int = 0
    failed: int = 0


def reparse_store(
    sessions: sessionmaker[Session], *, progress: Progress | None = None
) -> ReparseSummary:
    """Re-parse every stale version, page by page, then rebuild the summaries that changed."""
    with sessions() as session:
        pages = stored.pages_with_stale_versions(session, PARSER_VERSION)
    tally = _Tally()
    for done, (page_id, _kind) in enumerate(pages, start=1):
        with sessions.begin() as session:
            for version in stored.stale_versions(session, page_id, PARSER_VERSION):
                _reparse_version(session, version, tally)
        if progress is not None:
            progress(done, len(pages))
    with sessions() as session:
        without_body, rejected = stored.kept_version_counts(session, PARSER_VERSION)
    refreshed = refresh_summaries(sessions)
    return ReparseSummary(tally.reparsed, tally.changed, rejected, without_body, refreshed)


def _reparse_version(session: Session, version: stored.StaleVersion, tally: _Tally) -> None:
    page = _current_content(session, version)
    if page is None:
        logger.warning(
            "%s: the version of run %d could not be re-parsed with parser version %d "
            "(it keeps its content)",
            version.url,
            version.run_id,
            PARSER_VERSION,
        )
        stored.mark_reparse_failed(session, version.version_id, PARSER_VERSION)
        tally.failed += 1
        return
    encoded, parsed = page
    tally.reparsed += 1
    if stored.rewrite_version(session, version, encoded, parsed):
        tally.changed += 1
        logger.info("%s: the version of run %d has new content", version.url, version.run_id)


def _current_content(
    session: Session, version: stored.StaleVersion
) -> tuple[EncodedPage, Parsed] | None:
    """What the current parser makes of the version (None: it cannot)."""
    if version.kind == "attachment":
        attachment = _attachment_from_publication(session, version)
        if attachment is None:
            return None
        return encode_page(attachment), Parsed(PARSER_VERSION)
    body = load_blob(session, version.blob_sha256) if version.blob_sha256 else None
    parse = PARSERS.get(version.kind)
    if body is None or parse is None:
        return None
    source = html_source(body, version.transport_charset)
    try:
        page = parse(source, version.url)
    except LayoutChangedError:
        return None
    return encode_page(page), Parsed(PARSER_VERSION, source.fingerprint, version.transport_charset)


def _attachment_from_publication(session: Session, version: stored.StaleVersion) -> Page | None:
    """The attachment as its publication's current-parser Documents list describes it then."""
    for version_id, parser_version, content in stored.publication_versions_at(
        session, version.run_id
    ):
        if parser_version != PARSER_VERSION:
            continue
        publication = decode_version(session, version_id, content)
        if not isinstance(publication, Publication):
            continue
        for link in publication.documents:
            if link.url == version.url and link.kind != "html":
                return Attachment(url=link.url, title=link.title, attributes=link.attributes)
    return None


def refresh_summaries(sessions: sessionmaker[Session]) -> int:
    """Rebuild the stored summaries a re-parse forgot, one run per transaction; return how many."""
    with sessions() as session:
        run_ids = stored.runs_without_summary(session)
    for run_id in run_ids:
        with sessions.begin() as session:
            run = session.get_one(Run, run_id)
            record_summary(run, run_changes(session, run))
    return len(run_ids)
