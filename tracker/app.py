"""Wiring shared by the commands: open the database, build the HTTP session and the fetcher."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

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


class _HttpSession(requests.Session):
    """A requests session that reads the proxy and CA environment once per host and settings.

    requests reads it on every request (`trust_env`: HTTP(S)_PROXY, NO_PROXY, REQUESTS_CA_BUNDLE,
    ...), scanning the whole environment twice, ~0.1 ms a page. The environment is still obeyed:
    only its reading is remembered, for this session (one run).
    """

    def __init__(self) -> None:
        super().__init__()
        self._environment: dict[tuple[Any, ...], Any] = {}

    def merge_environment_settings(
        self, url: Any, proxies: Any, stream: Any, verify: Any, cert: Any
    ) -> Any:
        parts = urlsplit(str(url))
        key = (
            parts.scheme,
            parts.netloc,
            repr(proxies),
            repr((stream, verify, cert)),
            repr((self.proxies, self.stream, self.verify, self.cert, self.trust_env)),
        )
        merged = self._environment.get(key)
        if merged is None:
            if len(self._environment) > 1000:
                self._environment.clear()
            merged = super().merge_environment_settings(url, proxies, stream, verify, cert)
            self._environment[key] = merged
        return {**merged, "proxies": dict(merged["proxies"] or {})}


def make_http_session() -> requests.Session:
    """Return the one HTTP session a run uses (connection reuse, our User-Agent)."""
    session = _HttpSession()
    session.headers["User-Agent"] = USER_AGENT
    return session


def fetcher_factory(config: Config) -> Callable[[requests.Session], Fetcher]:
    """Return a callable building the Fetcher for an HTTP session."""
    settings = fetch_settings(config)
    return lambda http: Fetcher(http, settings)
