"""The requests session a run uses (imported only by commands that fetch)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import requests


class HttpSession(requests.Session):
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
