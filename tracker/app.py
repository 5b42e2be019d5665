"""Wiring shared by the commands: open the database, build the HTTP session and the fetcher.

The HTTP stack (requests, the fetcher) is imported only by the functions that build it, so the
query commands, which only open the database, never load it (issue 13).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import Engine, inspect
from sqlalchemy.orm import Session, sessionmaker

from storage.db import create_db_engine, make_sessionmaker, prepare_schema, sqlite_path
from tracker import USER_AGENT
from tracker.config import Config
from tracker.errors import UsageError

if TYPE_CHECKING:
    import requests

    from scraper.fetch import Fetcher, FetchSettings


@dataclass(frozen=True, slots=True)
class Database:
    """An open database: its engine and session factory."""

    engine: Engine
    sessions: sessionmaker[Session]


def open_database(config: Config, *, create: bool) -> Database:
    """Open the configured database; with `create`, create or upgrade the schema first.

    Without `create` (query commands), a database that does not exist or holds no runs is a clear
    error (exit 2), and no file or folder is made.
    """
    url = config.database.url
    path = sqlite_path(url)
    if not create and path is not None and not path.is_file():
        raise UsageError(
            f"no database at {path.absolute()}: nothing has been tracked with this "
            "configuration yet (run `lifesci-tracker run` first, or check [database] url)"
        )
    engine = create_db_engine(url)
    if create:
        prepare_schema(engine)
    elif not inspect(engine).has_table("run"):
        engine.dispose()
        raise UsageError(
            "the database holds no runs yet: run `lifesci-tracker run` first "
            f"({engine.url.render_as_string(hide_password=True)})"
        )
    return Database(engine, make_sessionmaker(engine))


def fetch_settings(config: Config) -> FetchSettings:
    """Build the fetch stage's settings from [source]."""
    from scraper.fetch import FetchSettings

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


def make_http_session(*, trust_env: bool = True) -> requests.Session:
    """Return the one HTTP session a run uses (connection reuse, our User-Agent); without
    `trust_env` it ignores the proxy (and CA) settings of the environment."""
    from tracker.http_session import HttpSession

    session = HttpSession()
    session.trust_env = trust_env
    session.headers["User-Agent"] = USER_AGENT
    return session


def fetcher_factory(config: Config) -> Callable[[requests.Session], Fetcher]:
    """Return a callable building the Fetcher for an HTTP session."""
    from scraper.fetch import Fetcher

    settings = fetch_settings(config)
    return lambda http: Fetcher(http, settings)
