"""delivery claims, kinds and notify target keys

Deliveries are claimed before they are sent (`claimed_by`, `claimed_at`), say what they carry
(`kind`: run | range | alert) and find a notify target's URL again by `target_key`. Rows written
before this revision keep their meaning: alerts were the rows of format "alert", every other row
was a run's report.

Revision ID: 0003
Revises: 0001 (until the storage branch's 0002 is merged; then 0002)
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("delivery", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("kind", sa.String(length=20), server_default="run", nullable=False)
        )
        batch_op.add_column(sa.Column("target_key", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("claimed_by", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True))
    delivery = sa.table("delivery", sa.column("kind", sa.String), sa.column("format", sa.String))
    op.execute(delivery.update().where(delivery.c.format == "alert").values(kind="alert"))


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("delivery", schema=None) as batch_op:
        batch_op.drop_column("claimed_at")
        batch_op.drop_column("claimed_by")
        batch_op.drop_column("target_key")
        batch_op.drop_column("kind")
