"""Errors of the reports stage. Channels keep DeliveryError in reports/channels/base.py."""

from __future__ import annotations

from collections.abc import Iterable


class ReportError(Exception):
    """Base class for errors raised while choosing or rendering a report."""


class UnknownNameError(ReportError, LookupError):
    """A name is not in one of the report registries; `choices` lists the names that would work.

    Config loading and the CLI turn it into a one-line usage error (exit 2).
    """

    kind = "name"

    def __init__(self, name: str, *, choices: Iterable[str]) -> None:
        self.name = name
        self.choices: tuple[str, ...] = tuple(choices)
        super().__init__(f"unknown {self.kind} {name!r}; choose from {', '.join(self.choices)}")


class UnknownFormatError(UnknownNameError):
    """A format name is not in the FORMATS registry (raised by `reports.formats.get_format`)."""

    kind = "format"
