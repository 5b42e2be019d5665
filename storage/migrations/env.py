"""Alembic environment: runs migrations on the engine the caller passes in config.attributes."""

from __future__ import annotations

import sqlite3

from alembic import context
from sqlalchemy import Connection, Engine, create_engine

from storage.tables import Base

config = context.config
target_metadata = Base.metadata


def run_migrations() -> None:
    """Run migrations online, on the caller's engine (or the URL in sqlalchemy.url)."""
    engine = config.attributes.get("engine")
    if not isinstance(engine, Engine):
        engine = create_engine(config.get_main_option("sqlalchemy.url") or "sqlite://")
    with engine.connect() as connection:
        sqlite = _sqlite_connection(connection)
        if sqlite is not None:
            # SQLite alters a table by copying it and dropping the old one, and a DROP TABLE
            # deletes its rows first, with ON DELETE CASCADE: every organisation row would go
            # with page_version. Foreign keys are off while migrating (a no-op inside a
            # transaction, so before it begins) and checked before the commit.
            sqlite.execute("PRAGMA foreign_keys=OFF")
        try:
            with connection.begin():
                context.configure(
                    connection=connection,
                    target_metadata=target_metadata,
                    render_as_batch=True,
                    compare_type=True,
                )
                context.run_migrations()
                if sqlite is not None:
                    dangling = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
                    if dangling:
                        raise RuntimeError(f"migration left dangling references: {dangling[:5]}")
        finally:
            if sqlite is not None:
                sqlite.execute("PRAGMA foreign_keys=ON")


def _sqlite_connection(connection: Connection) -> sqlite3.Connection | None:
    """The raw sqlite3 connection under `connection`, if it is one."""
    raw = connection.connection.driver_connection
    return raw if isinstance(raw, sqlite3.Connection) else None


run_migrations()
