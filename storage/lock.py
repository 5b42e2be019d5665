"""One run lock per database, so two tracking runs never interleave.

- SQLite file: an OS lock (``flock``) on ``<database path>.lock`` beside the database. The lock
  belongs to the open file, so the kernel releases it when the holder exits, however it dies: a
  stale lock file never blocks (this is why it is not a lock by existence). The holder writes its
  pid and start time into the file so a refused process can say who holds it. The file is never
  deleted: unlinking a lock file lets a second process lock a fresh inode while the first still
  holds the old one.
- PostgreSQL: a session-level advisory lock (``pg_try_advisory_lock``) on a dedicated connection
  held for the whole run; the server releases it when that connection closes, also when the
  process is killed. The holder's pid and start time travel in the connection's
  ``application_name``, read back from ``pg_stat_activity`` for the refusal message.
- In-memory SQLite needs no lock: no other process can see the database.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import json
import os
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import NullPool

__all__ = ["LOCK_KEY", "RunLockHeld", "lock_file_path", "run_lock", "schema_lock_key"]

# The advisory lock key: the first 8 bytes of sha256("lifesci-tracker run lock") as a signed
# 64-bit integer. Fixed, so every version of the tool agrees on it.
LOCK_KEY = int.from_bytes(
    hashlib.sha256(b"lifesci-tracker run lock").digest()[:8], "big", signed=True
)
_HOLDER_READS = 10
_HOLDER_READ_PAUSE_S = 0.01
_APPLICATION_NAME = re.compile(r"^lifesci-tracker pid=(\d+) started=(\S+)$")


class RunLockHeld(Exception):
    """Another run holds the run lock of this database.

    Attributes:
        holder_pid: The holding process's pid, when it could be read.
        holder_started_at: When the holder took the lock (ISO 8601 UTC), when it could be read.
    """

    def __init__(self, holder_pid: int | None = None, holder_started_at: str | None = None):
        self.holder_pid = holder_pid
        self.holder_started_at = holder_started_at
        details = []
        if holder_pid is not None or holder_started_at is not None:
            details.append(f"pid {holder_pid if holder_pid is not None else 'unknown'}")
            details.append(f"started {holder_started_at or 'unknown'}")
        suffix = f" ({', '.join(details)})" if details else ""
        super().__init__(f"another run holds the lock{suffix}")

    def __reduce__(self) -> tuple[type[RunLockHeld], tuple[int | None, str | None]]:
        return (type(self), (self.holder_pid, self.holder_started_at))


@contextmanager
def run_lock(
    url: str,
    *,
    wait_s: float = 0.0,
    poll_s: float = 0.2,
    engine: sqlalchemy.Engine | None = None,
) -> Iterator[None]:
    """Hold the run lock of the database at ``url`` for the duration of the ``with`` block.

    Args:
        url: The database URL (``sqlite:///path``, ``postgresql+psycopg://...``); relative SQLite
            paths are relative to the current directory, as for the database itself.
        wait_s: How long to keep trying while another run holds the lock; 0 gives up at once.
        poll_s: How often to try again while waiting.
        engine: For PostgreSQL, the engine to take the lock's dedicated connection from (its
            connection is invalidated rather than pooled if releasing fails); by default a
            one-off connection is opened from ``url``. Ignored for SQLite.

    Yields:
        Nothing; the lock is held until the block exits.

    Raises:
        RunLockHeld: Another run still holds the lock after ``wait_s`` seconds.
        ValueError: The URL's database backend has no run lock, or a bad ``wait_s``/``poll_s``.
    """
    if wait_s < 0 or poll_s <= 0:
        raise ValueError(f"run_lock needs wait_s >= 0 and poll_s > 0, got {wait_s}, {poll_s}")
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        path = lock_file_path(parsed)
        if path is None:
            yield
            return
        with _file_lock(path, wait_s=wait_s, poll_s=poll_s):
            yield
    elif backend == "postgresql":
        with _advisory_lock(parsed, engine, wait_s=wait_s, poll_s=poll_s):
            yield
    else:
        raise ValueError(f"no run lock for database backend {backend!r}")


def lock_file_path(url: str | URL) -> Path | None:
    """The lock file beside a SQLite database (``<path>.lock``), or None for an in-memory one."""
    parsed = make_url(url) if isinstance(url, str) else url
    database = parsed.database or ""
    if database.startswith("file:") and str(parsed.query.get("uri", "")).lower() == "true":
        # sqlite:///file:name?mode=memory&uri=true: SQLAlchemy splits the query off the path.
        if parsed.query.get("mode") == "memory":
            return None
        database = database.removeprefix("file:")
    if database in ("", ":memory:"):
        return None
    return Path(database + ".lock").absolute()


def _started_at() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _retry_until(deadline: float, poll_s: float) -> bool:
    """Sleep before the next attempt; False once the deadline has passed."""
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        return False
    time.sleep(min(poll_s, remaining))
    return True


# --- SQLite: flock on a file beside the database -------------------------------------------------


@contextmanager
def _file_lock(path: Path, *, wait_s: float, poll_s: float) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + wait_s
    # Not inherited by child processes (os.open's default), so a subprocess cannot keep it.
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as exc:
                if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                    raise
            if not _retry_until(deadline, poll_s):
                raise _file_holder(fd)
        holder = json.dumps({"pid": os.getpid(), "started_at": _started_at()})
        os.ftruncate(fd, 0)
        os.pwrite(fd, holder.encode() + b"\n", 0)
        try:
            yield
        finally:
            # Clear the holder before unlocking, so nobody reads a finished run as the holder.
            with contextlib.suppress(OSError):
                os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def _file_holder(fd: int) -> RunLockHeld:
    """The refusal, with the holder read from the lock file.

    The holder writes its details just after taking the lock, so a process refused at that very
    moment finds the file empty: it looks again a few times, briefly, before calling it unknown.
    """
    data: object = None
    for _ in range(_HOLDER_READS):
        try:
            data = json.loads(os.pread(fd, 4096, 0) or b"null")
        except (OSError, ValueError):
            data = None
        if data is not None:
            break
        time.sleep(_HOLDER_READ_PAUSE_S)
    if not isinstance(data, dict):
        return RunLockHeld()
    pid = data.get("pid")
    started_at = data.get("started_at")
    return RunLockHeld(
        pid if isinstance(pid, int) else None,
        started_at if isinstance(started_at, str) else None,
    )


# --- PostgreSQL: a session-level advisory lock ----------------------------------------------------


def schema_lock_key(schema: str) -> int:
    """Return the advisory lock key of the store in `schema` (LOCK_KEY for "public").

    Stores in different schemas of one database are separate stores, so they lock separately.
    """
    if schema == "public":
        return LOCK_KEY
    digest = hashlib.sha256(f"lifesci-tracker run lock:{schema}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


# A bigint advisory lock shows in pg_locks as classid = high 32 bits, objid = low 32, objsubid = 1.
_HOLDER_SQL = sqlalchemy.text(
    """
    SELECT a.application_name
    FROM pg_locks AS l JOIN pg_stat_activity AS a ON a.pid = l.pid
    WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
      AND l.classid::bigint = :high AND l.objid::bigint = :low
      AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
    """
)


@contextmanager
def _advisory_lock(
    url: URL, engine: sqlalchemy.Engine | None, *, wait_s: float, poll_s: float
) -> Iterator[None]:
    own_engine = engine is None
    lock_engine = (
        engine if engine is not None else sqlalchemy.create_engine(url, poolclass=NullPool)
    )
    try:
        # Autocommit: the lock is held by the session, and an open transaction must not be left
        # idle for the whole run.
        with lock_engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            key = _acquire(connection, wait_s=wait_s, poll_s=poll_s)
            try:
                yield
            finally:
                _release(connection, key)
    finally:
        if own_engine:
            lock_engine.dispose()


def _acquire(connection: Connection, *, wait_s: float, poll_s: float) -> int:
    deadline = time.monotonic() + wait_s
    # current_schema() is NULL when no schema on the search path exists yet (an empty store).
    schema = connection.execute(
        sqlalchemy.text("SELECT coalesce(current_schema(), current_setting('search_path'))")
    ).scalar_one()
    key = schema_lock_key(str(schema))
    while True:
        # Set before trying, so the holder is named from the moment it holds the lock.
        name = f"lifesci-tracker pid={os.getpid()} started={_started_at()}"
        connection.execute(
            sqlalchemy.text("SELECT set_config('application_name', :name, false)"), {"name": name}
        )
        locked = connection.execute(
            sqlalchemy.text("SELECT pg_try_advisory_lock(:key)"), {"key": key}
        ).scalar_one()
        if locked:
            return key
        if not _retry_until(deadline, poll_s):
            raise _advisory_holder(connection, key)


def _release(connection: Connection, key: int) -> None:
    try:
        connection.execute(sqlalchemy.text("SELECT pg_advisory_unlock(:key)"), {"key": key})
        connection.execute(sqlalchemy.text("RESET application_name"))
    except DBAPIError:
        # The connection is broken (so the session, and the lock with it, is gone or going).
        # Make sure it is closed rather than pooled, and do not fail a finished run over it.
        connection.invalidate()


def _advisory_holder(connection: Connection, key: int) -> RunLockHeld:
    unsigned = key & 0xFFFF_FFFF_FFFF_FFFF
    rows = connection.execute(_HOLDER_SQL, {"high": unsigned >> 32, "low": unsigned & 0xFFFF_FFFF})
    for application_name in rows.scalars():
        match = _APPLICATION_NAME.match(application_name or "")
        if match:
            return RunLockHeld(int(match.group(1)), match.group(2))
    return RunLockHeld()
