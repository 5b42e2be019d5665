"""Shared test fixtures: the network guard and database URLs."""

from __future__ import annotations

import ipaddress
import os
import socket
from collections.abc import Iterator
from typing import Any

import pytest

_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex
_real_getaddrinfo = socket.getaddrinfo
_LOCAL_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost"}


def _is_loopback(host: object) -> bool:
    if not isinstance(host, str):
        return False
    if host in _LOCAL_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False


def _guarded_connect(self: socket.socket, address: Any) -> Any:
    if self.family in (socket.AF_INET, socket.AF_INET6) and not _is_loopback(address[0]):
        raise RuntimeError(f"test tried to reach the internet: {address!r}")
    return _real_connect(self, address)


def _guarded_connect_ex(self: socket.socket, address: Any) -> Any:
    if self.family in (socket.AF_INET, socket.AF_INET6) and not _is_loopback(address[0]):
        raise RuntimeError(f"test tried to reach the internet: {address!r}")
    return _real_connect_ex(self, address)


def _guarded_getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
    if host is not None and not _is_loopback(host if isinstance(host, str) else host.decode()):
        raise RuntimeError(f"test tried to resolve a non-local host: {host!r}")
    return _real_getaddrinfo(host, *args, **kwargs)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-golden",
        action="store_true",
        default=False,
        help="rewrite tests/golden/ files from the current output instead of comparing",
    )
    parser.addoption(
        "--long",
        action="store_true",
        default=False,
        help="run the long fault-injection loops (many SIGKILLs; marked slow) too",
    )
    parser.addoption(
        "--seed",
        type=int,
        default=None,
        help="replay the kill loops' random kill points from this seed (printed by each loop)",
    )


def pytest_configure(config: pytest.Config) -> None:
    if config.getoption("--update-golden"):
        from tests import golden

        golden.enable_update()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests marked `slow` run only with `--long`."""
    if config.getoption("--long"):
        return
    skip = pytest.mark.skip(reason="a long loop: run with --long")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def _no_internet(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail any test that tries to reach anything but this machine's loopback."""
    monkeypatch.setattr(socket.socket, "connect", _guarded_connect)
    monkeypatch.setattr(socket.socket, "connect_ex", _guarded_connect_ex)
    monkeypatch.setattr(socket, "getaddrinfo", _guarded_getaddrinfo)


@pytest.fixture
def server() -> Iterator[Any]:
    """A real HTTP server on 127.0.0.1 serving what the test publishes (tests/site_server.py)."""
    from tests.site_server import serve

    with serve() as running:
        yield running


@pytest.fixture
def postgres_url() -> str:
    """The PostgreSQL URL from LIFESCI_TRACKER_TEST_DATABASE_URL; skipped only when it is unset.

    `.ci/run` always sets it, and sets LIFESCI_TRACKER_REQUIRE_POSTGRES=1 so a missing URL fails.
    """
    url = os.environ.get("LIFESCI_TRACKER_TEST_DATABASE_URL")
    if not url:
        if os.environ.get("LIFESCI_TRACKER_REQUIRE_POSTGRES"):
            pytest.fail("LIFESCI_TRACKER_TEST_DATABASE_URL must be set when PostgreSQL is required")
        pytest.skip("LIFESCI_TRACKER_TEST_DATABASE_URL is not set")
    return url


def _schema_url(base_url: str, schema: str) -> str:
    separator = "&" if "?" in base_url else "?"
    return f"{base_url}{separator}options=-csearch_path%3D{schema}"


@pytest.fixture
def pg_schema_url(postgres_url: str) -> Iterator[str]:
    """A PostgreSQL URL whose tables live in a fresh schema, dropped after the test."""
    import uuid

    from sqlalchemy import create_engine, text

    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(postgres_url)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield _schema_url(postgres_url, schema)
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Any) -> str:
    """The same test on an SQLite file and on PostgreSQL (an isolated schema)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/tracker.db"
    url: str = request.getfixturevalue("pg_schema_url")
    return url
