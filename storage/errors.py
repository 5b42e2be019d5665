"""Errors raised by the storage stage."""

from __future__ import annotations


class StorageError(Exception):
    """Base class of storage errors shown to the user as one line."""


class RefError(StorageError):
    """A ref (run id, latest, latest~N, ISO date) names no stored state; the CLI exits 2."""
