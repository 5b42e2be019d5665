"""archive captures replayed by backfill

`archive_capture` records each web-archive capture `backfill` is done with (replayed into an
archive run, or skipped for a final reason), so a second backfill, or one resumed after a kill,
fetches and stores only what is missing (DESIGN §12). Nothing existing changes.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-08
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "archive_capture",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("url", sa.String(length=2000), nullable=False),
        sa.Column("timestamp", sa.String(length=14), nullable=False),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["run_id"], ["run.id"], name=op.f("fk_archive_capture_run_id_run")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_archive_capture")),
        sa.UniqueConstraint("url", "timestamp", name=op.f("uq_archive_capture_url")),
    )
    with op.batch_alter_table("archive_capture", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_archive_capture_run_id"), ["run_id"], unique=False)


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("archive_capture", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_archive_capture_run_id"))
    op.drop_table("archive_capture")
