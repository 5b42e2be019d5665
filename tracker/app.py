"""Wiring shared by the commands: open the database, build the HTTP session and the fetcher."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import requests
from sqlalchemy import Engine, inspect
from sqlalchemy.orm import Session, sessionmaker

from scraper.fetch import Fetcher, FetchSettings
from storage.db import create_db_engine, make_sessionmaker, needs_upgrade, upgrade
from tracker import USER_AGENT
from tracker.config import Config
from tracker.errors import UsageError


@dataclass(frozen=True, slots=True)
class Database:
    """An open database: its engine and session factory."""

    engine: Engine
    sessions: sessionmaker[Session]


def open_database(config: Config, *, create: bool) -> Database:
    """Open the configured database; with `create`, create or upgrade the schema first.

    Without `create` (query commands), an empty database is a clear error, not a new file.
    """
    engine = create_db_engine(config.database.url)
    if create:
        if needs_upgrade(engine):
            upgrade(engine)
    elif not inspect(engine).has_table("run"):
        raise UsageError(
            "the database holds no runs yet: run `lifesci-tracker run` first "
            f"({engine.url.render_as_string(hide_password=True)})"
        )
    return Database(engine, make_sessionmaker(engine))


def fetch_settings(config: Config) -> FetchSettings:
    """Build the fetch stage's settings from [source]."""
    source = config.source
    return FetchSettings(
        allowed_hosts=source.allowed_hosts,
        timeout_s=source.timeout_s,
        max_bytes=source.max_bytes,
        requests_per_second=source.requests_per_second,
        retries=source.retries,
        backoff_s=source.backoff_s,
        user_agent=USER_AGENT,
        obey_robots=source.obey_robots,
    )


def make_http_session() -> requests.Session:
    """Return the one HTTP session a run uses (connection reuse, our User-Agent)."""
    session = requests.Session()
    session.headers["User-Agent"] = USER_AGENT
    return session


def fetcher_factory(config: Config) -> Callable[[requests.Session], Fetcher]:
    """Return a callable building the Fetcher for an HTTP session."""
    settings = fetch_settings(config)
    return lambda http: Fetcher(http, settings)
