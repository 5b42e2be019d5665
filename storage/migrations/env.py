"""Alembic environment: runs migrations on the engine the caller passes in config.attributes."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Engine, create_engine

from storage.tables import Base

config = context.config
target_metadata = Base.metadata


def run_migrations() -> None:
    """Run migrations online, on the caller's engine (or the URL in sqlalchemy.url)."""
    engine = config.attributes.get("engine")
    if not isinstance(engine, Engine):
        engine = create_engine(config.get_main_option("sqlalchemy.url") or "sqlite://")
    with engine.begin() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=True,
            compare_type=True,
        )
        context.run_migrations()


run_migrations()
