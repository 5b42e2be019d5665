"""Engine, sessions and schema upgrades for the snapshot database (SQLite or PostgreSQL)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from sqlalchemy import (
    Column,
    Engine,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    create_engine,
    event,
    inspect,
    text,
)
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

if TYPE_CHECKING:
    from alembic.config import Config as AlembicConfig

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
# The newest revision in migrations/versions (tests/test_storage.py checks it against Alembic):
# a database at it needs no upgrade, found with plain SQL, without importing Alembic (~11 MiB).
HEAD_REVISION: Final = "0004"
_WRITE_LOCK_OPTION: Final = "lifesci_tracker_write_lock"
_VERSION_TABLE: Final = "alembic_version"  # where Alembic keeps the revision a database is at


def sqlite_path(url: str) -> Path | None:
    """Return the database file of an SQLite URL, or None for other databases and in-memory ones."""
    parsed = make_url(url)
    if (
        parsed.get_backend_name() != "sqlite"
        or not parsed.database
        or parsed.database == ":memory:"
    ):
        return None
    return Path(parsed.database)


def _configure_sqlite_connection(dbapi_connection: Any, _record: Any) -> None:
    if isinstance(dbapi_connection, sqlite3.Connection):
        # Let SQLAlchemy issue BEGIN itself (see _begin_sqlite_transaction): pysqlite would
        # otherwise commit before every DDL statement, so a kill during the first migration
        # could leave half a schema and no alembic_version.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        # Write-ahead log: a commit appends to the -wal file instead of creating, syncing and
        # deleting a rollback journal (a page's transaction: 0.8 -> 0.2 ms). With NORMAL, a
        # power loss may drop the last commits but never corrupts; a killed process loses
        # nothing committed. Persistent in the file; in-memory databases keep "memory".
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()


def _begin_sqlite_transaction(connection: Any) -> None:
    take_write_lock = connection.get_execution_options().get(_WRITE_LOCK_OPTION, False)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if take_write_lock else "BEGIN")


@contextmanager
def write_transaction(sessions: sessionmaker[Session]) -> Iterator[Session]:
    """A session in a transaction meant to write, committed at the end of the block.

    On SQLite it takes the write lock when it begins (BEGIN IMMEDIATE, waiting up to the busy
    timeout for another writer). A plain transaction that reads first and writes later would fail
    at once with "database is locked" when another process (`outbox retry` beside a run) commits
    in between: SQLite cannot move a read snapshot forward. PostgreSQL needs nothing special.
    """
    with sessions() as session, session.begin():
        take_write_lock(session)
        yield session


def take_write_lock(session: Session) -> None:
    """Make the transaction `session` has just begun take SQLite's write lock at once (see
    `write_transaction`); call it before the transaction's first statement."""
    session.connection(execution_options={_WRITE_LOCK_OPTION: True})


def create_db_engine(url: str) -> Engine:
    """Create an engine; for SQLite, create the file's folder and enable foreign keys."""
    path = sqlite_path(url)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, future=True, pool_pre_ping=path is None)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _configure_sqlite_connection)
        event.listen(engine, "begin", _begin_sqlite_transaction)
    return engine


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    """Return the session factory the pipeline and queries use (no autoflush surprises)."""
    return sessionmaker(engine, expire_on_commit=False)


def alembic_config(engine: Engine) -> AlembicConfig:
    """Return an Alembic config bound to `engine` (no alembic.ini needed)."""
    from alembic.config import Config as AlembicConfig

    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine) -> None:
    """Upgrade the schema to the newest revision (creates the tables on an empty database)."""
    from alembic import command

    command.upgrade(alembic_config(engine), "head")


def prepare_schema(engine: Engine) -> None:
    """Bring the schema to `HEAD_REVISION`: create it on a database that holds none of its
    tables, else upgrade it with the migrations (nothing to do when it is at the head).

    A new database is created from the models in one transaction and stamped at the head, as
    `upgrade` would leave it (tests/test_migrations.py compares the two, column order
    included): a first run then needs neither Alembic nor four migrations (~0.1 s, ~11 MiB).
    """
    from storage.tables import Base

    if not needs_upgrade(engine):
        return
    ours = {*Base.metadata.tables, _VERSION_TABLE}
    if ours & set(inspect(engine).get_table_names()):
        upgrade(engine)
        return
    stamp = MetaData()
    version = Table(
        _VERSION_TABLE,
        stamp,
        Column("version_num", String(32), nullable=False),
        PrimaryKeyConstraint("version_num", name="alembic_version_pkc"),
    )
    with engine.begin() as connection:
        Base.metadata.create_all(connection)
        stamp.create_all(connection)
        connection.execute(version.insert().values(version_num=HEAD_REVISION))


def script_heads() -> set[str]:
    """The head revisions of the migration scripts, as Alembic reads them (imports Alembic)."""
    from alembic.config import Config as AlembicConfig
    from alembic.script import ScriptDirectory

    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return set(ScriptDirectory.from_config(config).get_heads())


def needs_upgrade(engine: Engine) -> bool:
    """Return True when the database is not at the newest schema revision (`HEAD_REVISION`)."""
    with engine.connect() as connection:
        if not inspect(connection).has_table(_VERSION_TABLE):
            return True
        current = set(connection.scalars(text("SELECT version_num FROM alembic_version")))
    return current != {HEAD_REVISION}
