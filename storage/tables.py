"""The snapshot schema (DESIGN §7): SQLAlchemy 2.0 typed models.

run -> observation (one per fetch) -> page_version (only when the parsed content changed) ->
blob (raw body, content-addressed), with organisation and update_entry rows per version for
queries, and the delivery outbox.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from storage.statuses import PROBLEM_OUTCOMES as PROBLEM_OUTCOMES  # where callers found it
from storage.statuses import DeliveryKind

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """An aware UTC datetime on every backend (SQLite stores no offset; PostgreSQL does)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: pass an aware UTC datetime")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    """Declarative base with a naming convention, so Alembic migrations have stable names."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Run(Base):
    """One tracking run: status running | ok | partial | failed, with per-outcome page counts."""

    __tablename__ = "run"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    trigger: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20), index=True)
    pages_fetched: Mapped[int] = mapped_column(default=0)
    pages_new: Mapped[int] = mapped_column(default=0)
    pages_changed: Mapped[int] = mapped_column(default=0)
    pages_unchanged: Mapped[int] = mapped_column(default=0)
    pages_not_modified: Mapped[int] = mapped_column(default=0)
    pages_gone: Mapped[int] = mapped_column(default=0)
    pages_errors: Mapped[int] = mapped_column(default=0)
    pages_anomalies: Mapped[int] = mapped_column(default=0)
    error: Mapped[str | None] = mapped_column(Text)
    pid: Mapped[int | None] = mapped_column(Integer)
    # The ChangeSet summary against the previous finished run, as JSON (DESIGN §8), so `history`
    # need not recompute every diff. Derived data: it can always be rebuilt from the versions.
    summary_json: Mapped[str | None] = mapped_column(Text)
    has_changes: Mapped[bool] = mapped_column(default=False)
    organisations_stored: Mapped[int | None] = mapped_column(Integer)
    updates_stored: Mapped[int | None] = mapped_column(Integer)

    def __repr__(self) -> str:
        return f"<Run {self.id} {self.status}>"


class Page(Base):
    """A tracked URL: the publication, an HTML document or a non-HTML attachment."""

    __tablename__ = "page"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    url: Mapped[str] = mapped_column(String(2000), unique=True)
    kind: Mapped[str] = mapped_column(String(20))
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime())

    def __repr__(self) -> str:
        return f"<Page {self.id} {self.url}>"


class Blob(Base):
    """A raw body, stored once however often it is seen: key = SHA-256 of the uncompressed bytes."""

    __tablename__ = "blob"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    # How `data` is compressed: "zstd:<dictionary>" (storage.compression), "zlib" (before 0002).
    compression: Mapped[str] = mapped_column(String(40))
    size: Mapped[int] = mapped_column(Integer)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    # The stored body `data` is compressed against (with the dictionary); it has no base itself.
    base_sha256: Mapped[str | None] = mapped_column(ForeignKey("blob.sha256"))

    def __repr__(self) -> str:
        return f"<Blob {self.sha256[:12]} {self.size}B>"


class PageVersion(Base):
    """A distinct parsed state of a page, written only when its content hash changes."""

    __tablename__ = "page_version"
    __table_args__ = (Index("ix_page_version_page_run", "page_id", "run_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    page_id: Mapped[int] = mapped_column(ForeignKey("page.id", ondelete="CASCADE"))
    run_id: Mapped[int] = mapped_column(ForeignKey("run.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # SHA-256 of the canonical JSON (scraper.page.page_to_json), uncompressed.
    content_hash: Mapped[str] = mapped_column(String(64))
    blob_sha256: Mapped[str | None] = mapped_column(ForeignKey("blob.sha256", ondelete="SET NULL"))
    # scraper.parse.content_fingerprint of a body that parses to `content`: a later body with
    # the same one is recorded without parsing (None: no raw body).
    source_fingerprint: Mapped[str | None] = mapped_column(String(64))
    # The columns below came with later migrations, declared in the order they add them (a new
    # database is created from these models: tests/test_migrations.py).
    # scraper.parse.PARSER_VERSION of the parser that produced `content` (0: stored before
    # versions were recorded). Older ones are re-parsed from the raw body (`db reparse`).
    parser_version: Mapped[int] = mapped_column(Integer, index=True)
    # The parser version that could not re-parse the raw body (the version keeps its content).
    reparse_failed_by: Mapped[int | None] = mapped_column(Integer)
    # The canonical JSON, zstd-compressed (storage.compression.decompress_content).
    content: Mapped[bytes] = mapped_column(LargeBinary)
    # The charset of the HTTP Content-Type the raw body was decoded with (None: none sent).
    transport_charset: Mapped[str | None] = mapped_column(String(40))

    page: Mapped[Page] = relationship()

    def __repr__(self) -> str:
        return f"<PageVersion {self.id} page={self.page_id} run={self.run_id}>"


class Observation(Base):
    """One fetch (or skipped fetch) of one page in one run, whatever its outcome."""

    __tablename__ = "observation"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("run.id"), index=True)
    page_id: Mapped[int] = mapped_column(ForeignKey("page.id", ondelete="CASCADE"), index=True)
    observed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    outcome: Mapped[str] = mapped_column(String(20))
    http_status: Mapped[int | None] = mapped_column(Integer)
    etag: Mapped[str | None] = mapped_column(String(500))
    last_modified: Mapped[str | None] = mapped_column(String(100))
    version_id: Mapped[int | None] = mapped_column(ForeignKey("page_version.id"))
    elapsed_s: Mapped[float | None] = mapped_column(Float)
    bytes: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)

    def __repr__(self) -> str:
        return f"<Observation {self.id} run={self.run_id} page={self.page_id} {self.outcome}>"


class OrganisationRow(Base):
    """An organisation as listed in one version of an HTML document."""

    __tablename__ = "organisation"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version_id: Mapped[int] = mapped_column(
        ForeignKey("page_version.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(Text)
    url: Mapped[str | None] = mapped_column(Text)
    description: Mapped[str] = mapped_column(Text)
    stage: Mapped[str] = mapped_column(Text)
    stage_heading: Mapped[str] = mapped_column(Text)
    links_json: Mapped[str] = mapped_column(Text)

    def __repr__(self) -> str:
        return f"<Organisation {self.name!r} v={self.version_id}>"


class UpdateEntryRow(Base):
    """A change-history entry (date, note) in one version of a publication."""

    __tablename__ = "update_entry"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version_id: Mapped[int] = mapped_column(
        ForeignKey("page_version.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer)
    date: Mapped[str] = mapped_column(String(10))
    note: Mapped[str] = mapped_column(Text)

    def __repr__(self) -> str:
        return f"<UpdateEntry {self.date} v={self.version_id}>"


class Delivery(Base):
    """The outbox: one delivery (channel, format, target), sent after its run commits.

    What to send is named, not stored: the run (and `from_run_id` for a range) whose report is
    rendered at send time, or, for an alert, its text in `payload`. A sender claims a row
    (status sending, `claimed_by`, `claimed_at`) before sending, so no two processes send it;
    a claim older than the lease is taken over (its holder died). `target` is what people may
    read (a directory, recipients, a masked notify URL); `target_key` finds a notify target's
    full URL again, at send time, from the environment or Apprise config that holds it.
    """

    __tablename__ = "delivery"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("run.id"), index=True)
    from_run_id: Mapped[int | None] = mapped_column(Integer)
    channel: Mapped[str] = mapped_column(String(20))
    format: Mapped[str] = mapped_column(String(20))
    target: Mapped[str] = mapped_column(Text)
    subject: Mapped[str] = mapped_column(Text)
    payload: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), index=True)
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Added by later migrations: declared in the order the migrations add them, so a new
    # database created from these models has the columns of an upgraded one, in order.
    kind: Mapped[str] = mapped_column(String(20), server_default=DeliveryKind.RUN.value)
    target_key: Mapped[str | None] = mapped_column(String(64))
    claimed_by: Mapped[str | None] = mapped_column(String(200))
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    def __repr__(self) -> str:
        return f"<Delivery {self.id} {self.channel}/{self.format} {self.status}>"


class ArchiveCapture(Base):
    """A web-archive capture `backfill` is done with (DESIGN §12), so no backfill fetches it again.

    Replayed into an archive run (`outcome` new, changed or unchanged; `run_id` that run), or
    skipped for a reason that asking again would not change (`outcome` the reason: layout,
    archive_error, truncated; `run_id` None). A capture that could not be fetched is not recorded:
    the next backfill tries it again. `url` is the tracked page, `timestamp` the archive's 14
    digits (UTC): together they name the capture in any archive of the same protocol.
    """

    __tablename__ = "archive_capture"
    __table_args__ = (UniqueConstraint("url", "timestamp"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    url: Mapped[str] = mapped_column(String(2000))
    timestamp: Mapped[str] = mapped_column(String(14))
    outcome: Mapped[str] = mapped_column(String(20))
    run_id: Mapped[int | None] = mapped_column(ForeignKey("run.id"), index=True)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())

    def __repr__(self) -> str:
        return f"<ArchiveCapture {self.url} {self.timestamp} {self.outcome}>"
