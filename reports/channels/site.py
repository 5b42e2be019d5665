"""The site channel (DESIGN §13): rebuild the browsable change-history site after a run.

The site is built from the whole store, not from one report, so the channel only calls the
rebuild it is given; the composition root supplies it (reports never read the store). A
delivery that is retried later simply rebuilds the site as the store then stands.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

from reports.channels.base import DeliveryError, Outgoing


@dataclass(frozen=True, slots=True)
class SiteOptions:
    """How to rebuild the site: a callable that builds it aside and swaps it in whole."""

    rebuild: Callable[[], object]


class SiteChannel:
    """Rebuilds the static site; registered in CHANNELS as "site"."""

    name: ClassVar[str] = "site"

    def __init__(self, options: SiteOptions) -> None:
        self.options = options

    def deliver(self, outgoing: Outgoing) -> None:
        """Rebuild the site (the outgoing delivery names only when and where)."""
        try:
            self.options.rebuild()
        except OSError as exc:
            detail = exc.strerror or str(exc)
            where = f" ({exc.filename})" if exc.filename else ""
            raise DeliveryError(
                f"cannot write the site to {outgoing.target}: {detail}{where}"
            ) from exc
