"""parser versions, compressed content, no text column

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-04

Each version records the parser version that produced its content (0 for the versions stored
before: they are re-parsed from their raw bodies by the next run or `db reparse`), the transport
charset its body was decoded with, and the parser version that could not re-parse it. The
parsed content is kept as zstd-compressed canonical JSON (`content`, was `content_json`), and
the `text` column, a copy of the text inside the content, goes. Blob compression values grow to
name a dictionary (`zstd:govuk1`), and a blob may be compressed against a base blob.
"""

import json
from collections.abc import Callable, Sequence
from typing import Any

import sqlalchemy as sa
import zstandard
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BATCH = 500


# The stored content's format as of this revision (storage.compression may move on; this stays).
def compress_content(content_json: str) -> bytes:
    return zstandard.ZstdCompressor(level=3).compress(content_json.encode("utf-8"))


def decompress_content(data: bytes) -> str:
    return zstandard.ZstdDecompressor().decompress(data).decode("utf-8")


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("page_version", schema=None) as batch_op:
        batch_op.add_column(sa.Column("parser_version", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("reparse_failed_by", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("content", sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column("transport_charset", sa.String(length=40), nullable=True))
    _copy_content("content_json", "content", compress_content, extra={"parser_version": 0})
    with op.batch_alter_table("page_version", schema=None) as batch_op:
        batch_op.alter_column("parser_version", existing_type=sa.Integer(), nullable=False)
        batch_op.alter_column("content", existing_type=sa.LargeBinary(), nullable=False)
        batch_op.drop_column("content_json")
        batch_op.drop_column("text")
        batch_op.create_index(
            batch_op.f("ix_page_version_parser_version"), ["parser_version"], unique=False
        )
    with op.batch_alter_table("blob", schema=None) as batch_op:
        batch_op.alter_column(
            "compression",
            existing_type=sa.String(length=10),
            type_=sa.String(length=40),
            existing_nullable=False,
        )
        batch_op.add_column(sa.Column("base_sha256", sa.String(length=64), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_blob_base_sha256_blob"), "blob", ["base_sha256"], ["sha256"]
        )


def downgrade() -> None:
    """Revert this revision (the text column is rebuilt from the content).

    Blobs written since (zstd) need this version's code to be read.
    """
    with op.batch_alter_table("blob", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_blob_base_sha256_blob"), type_="foreignkey")
        batch_op.drop_column("base_sha256")
        batch_op.alter_column(
            "compression",
            existing_type=sa.String(length=40),
            type_=sa.String(length=10),
            existing_nullable=False,
        )
    with op.batch_alter_table("page_version", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_page_version_parser_version"))
        batch_op.add_column(sa.Column("content_json", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("text", sa.Text(), nullable=True))
    _copy_content("content", "content_json", decompress_content, rebuild_text=True)
    with op.batch_alter_table("page_version", schema=None) as batch_op:
        batch_op.alter_column("content_json", existing_type=sa.Text(), nullable=False)
        batch_op.alter_column("text", existing_type=sa.Text(), nullable=False)
        batch_op.drop_column("transport_charset")
        batch_op.drop_column("content")
        batch_op.drop_column("reparse_failed_by")
        batch_op.drop_column("parser_version")


def _copy_content(
    source: str,
    target: str,
    convert: Callable[[Any], Any],
    *,
    extra: dict[str, object] | None = None,
    rebuild_text: bool = False,
) -> None:
    """Fill `target` from `source` on every version, `_BATCH` rows at a time."""
    extra = extra or {}
    connection = op.get_bind()
    versions = sa.table(
        "page_version",
        sa.column("id", sa.Integer()),
        sa.column(source),
        sa.column(target),
        sa.column("text", sa.Text()),
        *(sa.column(name) for name in extra),
    )
    last = 0
    while True:
        rows = connection.execute(
            sa.select(versions.c.id, versions.c[source])
            .where(versions.c.id > last)
            .order_by(versions.c.id)
            .limit(_BATCH)
        ).all()
        if not rows:
            return
        for version_id, value in rows:
            converted = convert(value)
            values: dict[str, object] = {target: converted, **extra}
            if rebuild_text:
                values["text"] = json.loads(converted).get("text", "")
            connection.execute(
                versions.update().where(versions.c.id == version_id).values(**values)
            )
        last = rows[-1][0]
