"""Database maintenance: drop old raw bodies while keeping every parsed version."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from storage.order import newest_versions
from storage.tables import Blob, PageVersion


def prune_raw_bodies(session: Session, *, older_than: datetime) -> int:
    """Drop raw bodies of versions created before `older_than`; return how many blobs went.

    Parsed versions are kept, and so is the raw body of every page's newest version, and every
    body a kept one is compressed against.
    """
    newest = newest_versions()
    session.execute(
        update(PageVersion)
        .where(PageVersion.created_at < older_than, PageVersion.id.not_in(newest))
        .values(blob_sha256=None)
    )
    referenced = select(PageVersion.blob_sha256).where(PageVersion.blob_sha256.is_not(None))
    # A blob other kept blobs are compressed against (their base, storage.compression) stays.
    bases = select(Blob.base_sha256).where(
        Blob.sha256.in_(referenced), Blob.base_sha256.is_not(None)
    )
    doomed = list(
        session.scalars(
            select(Blob.sha256).where(Blob.sha256.not_in(referenced), Blob.sha256.not_in(bases))
        )
    )
    if doomed:
        session.execute(delete(Blob).where(Blob.sha256.in_(doomed)))
    return len(doomed)
