"""A consistent copy of the database: SQLite's online backup API, or pg_dump for PostgreSQL.

pg_dump gets the password in its environment (PGPASSWORD), never on its command line.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

from sqlalchemy.engine import URL, make_url

from storage.db import sqlite_path
from storage.errors import StorageError


def backup_database(url: str, destination: Path) -> Path:
    """Copy the database at `url` to `destination` while runs may be writing to it."""
    source = sqlite_path(url)
    if source is not None:
        if not source.exists():
            raise StorageError(f"no database file at {source}")
        destination.parent.mkdir(parents=True, exist_ok=True)
        with sqlite3.connect(source) as src, sqlite3.connect(destination) as dst:
            src.backup(dst)
        return destination
    parsed = make_url(url)
    if parsed.get_backend_name() != "postgresql":
        raise StorageError(f"cannot back up a {parsed.get_backend_name()} database")
    pg_dump = shutil.which("pg_dump")
    if pg_dump is None:
        raise StorageError("pg_dump is not installed: it is needed to back up PostgreSQL")
    # The password goes to pg_dump through its environment, never its command line, where any
    # user of the machine could read it (`ps`, /proc/PID/cmdline).
    environment = dict(os.environ)
    if parsed.password is not None:
        environment["PGPASSWORD"] = str(parsed.password)
    without_password = URL.create(
        "postgresql",
        username=parsed.username,
        host=parsed.host,
        port=parsed.port,
        database=parsed.database,
        query=parsed.query,
    )
    libpq_url = without_password.render_as_string(hide_password=False)
    completed = subprocess.run(  # noqa: S603 - fixed program, URL passed as one argument
        [pg_dump, "--format=custom", f"--file={destination}", f"--dbname={libpq_url}"],
        capture_output=True,
        text=True,
        check=False,
        env=environment,
    )
    if completed.returncode != 0:
        detail = (completed.stderr.strip().splitlines() or ["pg_dump failed"])[-1]
        raise StorageError(f"backup failed: {detail}")
    return destination
