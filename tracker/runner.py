"""A tracking run under the database's run lock: what `run` and every scheduled run do."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import requests

from storage.lock import run_lock
from storage.statuses import Trigger
from tracker.app import Database, fetcher_factory, make_http_session, open_database
from tracker.collections_pause import fewer_collections
from tracker.config import Config
from tracker.pipeline import PageOutcome, RunResult, run_once


@contextmanager
def locked_store(
    config: Config, *, wait_s: float = 0.0, direct: bool = False
) -> Iterator[tuple[Database, requests.Session]]:
    """Hold the database's run lock (waiting up to `wait_s` seconds), with the schema created or
    upgraded and an HTTP session (`direct`: ignoring proxy settings in the environment, as the
    demo's loopback site needs); release the database's connections at the end, also on error.

    Raises:
        RunLockHeld: Another run still holds the lock after `wait_s` seconds (nothing recorded).
    """
    with run_lock(config.database.url, wait_s=wait_s):
        database = open_database(config, create=True)
        try:
            with make_http_session(trust_env=not direct) as http:
                yield database, http
        finally:
            database.engine.dispose()


def locked_run(
    config: Config,
    *,
    wait_s: float = 0.0,
    trigger: Trigger | str = Trigger.MANUAL,
    accept_anomalies: bool = False,
    report: bool = True,
    on_page: Callable[[PageOutcome], None] | None = None,
    direct: bool = False,
) -> RunResult:
    """One tracking run under the database's run lock: what `run` and each scheduled run do.

    Takes the run lock (waiting up to `wait_s` seconds), creates or upgrades the schema, runs the
    pipeline once and releases the database's connections, also when the run fails. `direct`
    connects without the proxy the environment names (`demo`'s server on 127.0.0.1 is local).

    Raises:
        RunLockHeld: Another run still holds the lock after `wait_s` seconds (nothing recorded).
    """
    with (
        locked_store(config, wait_s=wait_s, direct=direct) as (database, http),
        fewer_collections(),
    ):
        return run_once(
            config,
            sessions=database.sessions,
            http=http,
            fetcher_factory=fetcher_factory(config),
            trigger=trigger,
            accept_anomalies=accept_anomalies,
            report=report,
            on_page=on_page,
        )
