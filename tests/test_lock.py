"""The run lock: one run per database, on SQLite (flock) and PostgreSQL (advisory lock)."""

from __future__ import annotations

import json
import os
import pickle
import re
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import IO

import pytest
import sqlalchemy
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool, QueuePool

from storage.lock import LOCK_KEY, RunLockHeld, lock_file_path, run_lock, schema_lock_key

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT_S = 20.0  # generous: only reached when something is broken
STARTED_AT = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")

# A process that takes the lock and holds it until a line arrives on stdin (or it is killed).
# With "race" it first says "ready" and waits for "go", so two of them try at the same moment.
WORKER = """
import sys
from storage.lock import RunLockHeld, run_lock

url, mode = sys.argv[1], sys.argv[2]
if mode == "race":
    print("ready", flush=True)
    sys.stdin.readline()
try:
    with run_lock(url):
        print("acquired", flush=True)
        sys.stdin.readline()
except RunLockHeld as exc:
    print(f"refused {exc.holder_pid}", flush=True)
"""


def _scratch_postgres_database(base_url: str) -> Iterator[str]:
    """A fresh database per test: advisory locks are per database, and other test sessions may
    take the real run lock in the shared one at the same time."""
    base = make_url(base_url)
    name = f"lifesci_lock_test_{uuid.uuid4().hex[:12]}"
    admin = sqlalchemy.create_engine(base, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(sqlalchemy.text(f'CREATE DATABASE "{name}"'))
    except sqlalchemy.exc.ProgrammingError:  # no CREATEDB right: share the given database
        admin.dispose()
        yield base_url
        return
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(sqlalchemy.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def lock_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of a database nobody else uses, on each backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'data' / 'tracker.db'}"
    else:
        yield from _scratch_postgres_database(request.getfixturevalue("postgres_url"))


def _worker(url: str, mode: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", WORKER, url, mode],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )


def _read_line(stream: IO[str] | None) -> str:
    assert stream is not None
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(stream.readline).result(timeout=TIMEOUT_S).strip()


def _stop(process: subprocess.Popen[str]) -> None:
    if process.poll() is None:
        process.kill()
    process.communicate(timeout=TIMEOUT_S)


# --- both backends -------------------------------------------------------------------------------


def test_a_second_lock_while_the_first_is_held_is_refused_naming_the_holder(
    lock_url: str,
) -> None:
    with run_lock(lock_url), pytest.raises(RunLockHeld) as excinfo, run_lock(lock_url):
        pytest.fail("the second lock was granted")

    held = excinfo.value
    assert held.holder_pid == os.getpid()
    assert held.holder_started_at is not None
    assert STARTED_AT.match(held.holder_started_at)
    assert str(held) == (
        f"another run holds the lock (pid {os.getpid()}, started {held.holder_started_at})"
    )


def test_the_lock_can_be_taken_again_after_release(lock_url: str) -> None:
    for _ in range(3):
        with run_lock(lock_url):
            pass


def test_the_lock_is_released_when_the_block_raises(lock_url: str) -> None:
    with pytest.raises(KeyError), run_lock(lock_url):
        raise KeyError("boom")

    with run_lock(lock_url):
        pass


def test_wait_s_acquires_once_the_holder_releases(lock_url: str) -> None:
    first = run_lock(lock_url)
    first.__enter__()
    released = threading.Event()

    def release() -> None:
        first.__exit__(None, None, None)
        released.set()

    timer = threading.Timer(0.3, release)
    timer.start()
    try:
        with run_lock(lock_url, wait_s=TIMEOUT_S, poll_s=0.05):
            assert released.is_set()
    finally:
        timer.join(TIMEOUT_S)


def test_wait_s_gives_up_with_run_lock_held(lock_url: str) -> None:
    with run_lock(lock_url):
        started = time.monotonic()
        with (
            pytest.raises(RunLockHeld, match=f"pid {os.getpid()}"),
            run_lock(lock_url, wait_s=0.3, poll_s=0.05),
        ):
            pytest.fail("the second lock was granted")
        assert time.monotonic() - started >= 0.3


def test_a_lock_held_by_a_killed_process_does_not_block(lock_url: str) -> None:
    holder = _worker(lock_url, "hold")
    try:
        assert _read_line(holder.stdout) == "acquired"
        with pytest.raises(RunLockHeld) as excinfo, run_lock(lock_url):
            pytest.fail("the lock was granted while another process held it")
        assert excinfo.value.holder_pid == holder.pid

        holder.send_signal(signal.SIGKILL)
        holder.wait(TIMEOUT_S)

        # PostgreSQL notices the closed connection and releases the lock: poll for it.
        with run_lock(lock_url, wait_s=TIMEOUT_S, poll_s=0.05):
            pass
    finally:
        _stop(holder)


def test_two_processes_racing_for_the_lock_exactly_one_gets_it(lock_url: str) -> None:
    racers = [_worker(lock_url, "race"), _worker(lock_url, "race")]
    try:
        for racer in racers:
            assert _read_line(racer.stdout) == "ready"
        for racer in racers:
            assert racer.stdin is not None
            racer.stdin.write("go\n")
            racer.stdin.flush()
        outcomes = [_read_line(racer.stdout) for racer in racers]

        assert sorted(outcome.split()[0] for outcome in outcomes) == ["acquired", "refused"]
        winner = racers[outcomes.index("acquired")]
        loser_outcome = next(o for o in outcomes if o != "acquired")
        assert loser_outcome == f"refused {winner.pid}"
    finally:
        for racer in racers:
            _stop(racer)


# --- SQLite --------------------------------------------------------------------------------------


def test_sqlite_lock_file_sits_beside_the_database_relative_to_cwd(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    url = "sqlite:///nested/dir/tracker.db"

    with run_lock(url):
        lock_file = tmp_path / "nested" / "dir" / "tracker.db.lock"
        holder = json.loads(lock_file.read_text())
        assert holder["pid"] == os.getpid()
        assert STARTED_AT.match(holder["started_at"])

    assert lock_file_path(url) == lock_file
    assert lock_file.exists()  # never deleted: deleting a flock file races with a new holder


def test_a_leftover_sqlite_lock_file_does_not_block(tmp_path: Path) -> None:
    database = tmp_path / "tracker.db"
    Path(f"{database}.lock").write_text('{"pid": 999999, "started_at": "2020-01-01T00:00:00Z"}')

    with run_lock(f"sqlite:///{database}"):
        pass


@pytest.mark.parametrize(
    "url", ["sqlite://", "sqlite:///:memory:", "sqlite:///file:mem?mode=memory&uri=true"]
)
def test_in_memory_sqlite_needs_no_lock(url: str) -> None:
    assert lock_file_path(url) is None
    with run_lock(url), run_lock(url):
        pass


def test_an_unsupported_backend_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="mysql"), run_lock("mysql://user@127.0.0.1/db"):
        pass


def test_bad_wait_or_poll_is_a_value_error(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'tracker.db'}"
    with pytest.raises(ValueError, match="wait_s"), run_lock(url, wait_s=-1):
        pass
    with pytest.raises(ValueError, match="poll_s"), run_lock(url, poll_s=0):
        pass


# --- PostgreSQL ----------------------------------------------------------------------------------


@pytest.fixture
def pg_url(postgres_url: str) -> Iterator[str]:
    yield from _scratch_postgres_database(postgres_url)


def _advisory_locks(url: str) -> int:
    engine = sqlalchemy.create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            count: int = connection.execute(
                sqlalchemy.text(
                    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND database = "
                    "(SELECT oid FROM pg_database WHERE datname = current_database())"
                )
            ).scalar_one()
            return count
    finally:
        engine.dispose()


def test_postgres_lock_from_a_pooled_engine_is_released_before_the_connection_is_pooled(
    pg_url: str,
) -> None:
    engine = sqlalchemy.create_engine(pg_url, pool_size=1)
    try:
        with run_lock(pg_url, engine=engine):
            assert _advisory_locks(pg_url) == 1
            with pytest.raises(RunLockHeld), run_lock(pg_url):
                pytest.fail("the second lock was granted")

        pool = engine.pool
        assert isinstance(pool, QueuePool)
        assert pool.checkedin() == 1  # the connection went back to the pool ...
        assert _advisory_locks(pg_url) == 0  # ... without the lock
        with engine.connect() as connection:
            name = connection.execute(sqlalchemy.text("SHOW application_name")).scalar_one()
        assert "lifesci-tracker pid=" not in name
    finally:
        engine.dispose()


# --- the exception -------------------------------------------------------------------------------


def test_run_lock_held_names_the_holder() -> None:
    held = RunLockHeld(1234, "2026-11-26T07:00:03Z")

    assert str(held) == "another run holds the lock (pid 1234, started 2026-11-26T07:00:03Z)"
    assert (held.holder_pid, held.holder_started_at) == (1234, "2026-11-26T07:00:03Z")


def test_run_lock_held_with_an_unknown_holder() -> None:
    assert str(RunLockHeld()) == "another run holds the lock"
    assert str(RunLockHeld(1234)) == "another run holds the lock (pid 1234, started unknown)"


def test_run_lock_held_survives_pickling() -> None:
    copy = pickle.loads(pickle.dumps(RunLockHeld(1234, "2026-11-26T07:00:03Z")))

    assert (copy.holder_pid, copy.holder_started_at) == (1234, "2026-11-26T07:00:03Z")
    assert str(copy) == "another run holds the lock (pid 1234, started 2026-11-26T07:00:03Z)"


def test_stores_in_different_postgresql_schemas_lock_separately(pg_schema_url: str) -> None:
    schema = re.search(r"search_path%3D(\w+)", pg_schema_url)
    assert schema is not None
    assert schema_lock_key(schema.group(1)) != schema_lock_key("public") == LOCK_KEY
    with run_lock(pg_schema_url):
        with pytest.raises(RunLockHeld), run_lock(pg_schema_url):
            pass
        # While this store's run holds its lock, another store in the same database is free.
        with run_lock(pg_schema_url.replace(schema.group(1), schema.group(1) + "x")):
            pass
