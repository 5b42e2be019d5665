"""Errors the command line turns into one line on stderr and an exit code.

ConfigError          tracker/config.py     bad config.toml or environment; exit 2
UsageError           tracker/refs.py, cli  a bad ref or option value; exit 2
RunLockHeld          storage/lock.py       another run holds the database lock; exit 3
FetchError           scraper/fetch.py      per page: an error observation; never fatal
LayoutChangedError   scraper/parse.py      per page: an anomaly held back; never fatal
DatabaseError        sqlalchemy            the database cannot be opened or used; exit 2
"""

from __future__ import annotations


class TrackerError(Exception):
    """Base class for errors shown to the user as one line."""

    exit_code = 2


class ConfigError(TrackerError):
    """The configuration is invalid; raised at start-up before anything is fetched or stored."""


class UsageError(TrackerError):
    """A command-line value (ref, option) is invalid or names nothing stored."""
