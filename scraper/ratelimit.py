"""Stage 1 helper: a per-host request spacer for `scraper.fetch`, on an injected clock and sleep."""

from __future__ import annotations

import time
from collections.abc import Callable

__all__ = ["HostRateLimiter"]


class HostRateLimiter:
    """Space the requests to each host at least `1 / requests_per_second` seconds apart.

    The first request to a host never waits. Time is read from `clock` and spent with `sleep`, so
    tests pass fakes and nothing sleeps for real.
    """

    def __init__(
        self,
        requests_per_second: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not requests_per_second > 0:
            raise ValueError("requests_per_second must be > 0")
        self._interval = 1.0 / requests_per_second
        self._clock = clock
        self._sleep = sleep
        self._last: dict[str, float] = {}

    def wait(self, host: str) -> float:
        """Block until a request to `host` is allowed, record it, and return the seconds waited."""
        key = host.lower()
        now = self._clock()
        waited = 0.0
        last = self._last.get(key)
        if last is not None and last + self._interval > now:
            waited = last + self._interval - now
            self._sleep(waited)
            # A real sleep may overshoot; a fake clock may not move. Either way the slot is taken.
            now = max(last + self._interval, self._clock())
        self._last[key] = now
        return waited
