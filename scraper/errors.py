"""Errors raised by the fetch and parse stages.

FetchError          scraper/fetch.py   the page could not be fetched (after retries); the run
                                       records an error observation, keeps the last version
  NetworkError                         the host could not be reached or did not answer (name
                                       resolution, refused, timed out, TLS, proxy): `.failure`
  HostNotAllowedError                  a URL or redirect target outside `allowed_hosts`
  RobotsDisallowedError                robots.txt forbids the URL
  BodyTooLargeError                    the body (or its decompressed form) exceeds `max_bytes`
  IncompleteBodyError                  fewer bytes than announced, or the connection closed early
LayoutChangedError  scraper/parse.py   the page no longer looks like what we parse (error page
                                       served with 200, no Documents list, no govspeak body);
                                       the run holds it back as an anomaly, never "all removed"
"""

from __future__ import annotations

from enum import Enum


class ScraperError(Exception):
    """Base class of every error the scraper raises on purpose."""


class FetchError(ScraperError):
    """A page could not be fetched; the caller records an error observation for `url`."""

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(f"{url}: {reason}")
        self.url = url
        self.reason = reason


class NetworkFailure(Enum):
    """What went wrong on the network, in the words the error message uses."""

    NAME_RESOLUTION = "name resolution failed"
    CONNECTION_REFUSED = "connection refused"
    CONNECT_TIMEOUT = "connection timed out"
    READ_TIMEOUT = "no answer in time"
    TLS_CERTIFICATE = "TLS certificate not trusted"
    TLS_HANDSHAKE = "TLS handshake failed"
    PROXY = "proxy error"
    CONNECTION_FAILED = "connection failed"


class NetworkError(FetchError):
    """The host could not be reached, or did not answer; `reason` says why and what to check.

    robots.txt being unreachable is this error too, for every page of its host.
    """

    def __init__(self, url: str, reason: str, failure: NetworkFailure) -> None:
        super().__init__(url, reason)
        self.failure = failure


class HostNotAllowedError(FetchError):
    """The URL, or a redirect target, is not on an allowed host (or not http/https)."""


class RobotsDisallowedError(FetchError):
    """robots.txt of the host disallows the URL for our User-Agent."""


class BodyTooLargeError(FetchError):
    """The body is larger than `max_bytes` (checked while streaming, after decompression)."""


class IncompleteBodyError(FetchError):
    """The body ended before Content-Length bytes, or the connection closed mid-body."""


class LayoutChangedError(ScraperError):
    """The page does not have what it should; the caller stores an anomaly, never a version."""

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(f"{url}: {reason}")
        self.url = url
        self.reason = reason
