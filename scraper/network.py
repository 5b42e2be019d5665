"""Stage 1 helper: say why a request got no answer, in words a user can act on.

`requests` wraps what went wrong several layers deep (ConnectionError > urllib3's MaxRetryError >
NewConnectionError > ConnectionRefusedError). `network_problem` reads that chain and names the
failure: name resolution, connection refused, timed out, a TLS certificate or handshake error,
or a proxy error; its message names the host, and its advice says what to check.
"""

from __future__ import annotations

import http.client
import socket
import ssl
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Final
from urllib.parse import urlsplit

import requests
import urllib3.exceptions

from scraper.errors import NetworkFailure

__all__ = ["NetworkProblem", "network_problem"]

# TLS certificate and protocol errors do not pass by themselves: retrying them only delays the run.
_NOT_RETRIED: Final = frozenset({NetworkFailure.TLS_CERTIFICATE, NetworkFailure.TLS_HANDSHAKE})
_MAX_DETAIL: Final = 100


@dataclass(frozen=True, slots=True)
class NetworkProblem:
    """Why one request got no answer."""

    failure: NetworkFailure
    message: str  # "cannot reach www.gov.uk: connection refused"
    advice: str  # "check your network or proxy (HTTPS_PROXY)"
    retry: bool


def network_problem(error: BaseException, url: str, timeout_s: float) -> NetworkProblem:
    """Name the failure behind `error`, raised by requests while asking for `url`."""
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2] or "the server"
    failure, detail = _classify(error)
    suffix = f" ({detail})" if detail else ""
    if failure is NetworkFailure.READ_TIMEOUT:
        message = f"no answer from {host} within {timeout_s:g} s (timed out)"
    elif failure is NetworkFailure.CONNECTION_FAILED:
        message = f"connection to {host} failed{suffix}"
    elif failure in _NOT_RETRIED:
        message = f"cannot reach {host} securely: {failure.value}{suffix}"
    else:
        message = f"cannot reach {host}: {failure.value}{suffix}"
    proxy_variable = "HTTPS_PROXY" if parts.scheme.lower() == "https" else "HTTP_PROXY"
    advice = f"check your network or proxy ({proxy_variable})"
    return NetworkProblem(failure, message, advice, retry=failure not in _NOT_RETRIED)


def _classify(error: BaseException) -> tuple[NetworkFailure, str]:
    """The failure and a short detail ("" when there is nothing useful to add)."""
    chain = list(_chain(error))
    for index, link in enumerate(chain):
        if isinstance(link, urllib3.exceptions.ProxyError | requests.exceptions.ProxyError):
            return NetworkFailure.PROXY, _proxy_detail(chain[index + 1 :])
    for link in chain:
        if isinstance(link, ssl.SSLCertVerificationError):
            return NetworkFailure.TLS_CERTIFICATE, _short(link.verify_message or "")
    for link in chain:
        if isinstance(link, ssl.SSLError):
            return NetworkFailure.TLS_HANDSHAKE, _tls_detail(link)
    tls = (urllib3.exceptions.SSLError, requests.exceptions.SSLError)
    if any(isinstance(link, tls) for link in chain):
        return NetworkFailure.TLS_HANDSHAKE, ""
    kinds = [_kind(link) for link in chain]
    for failure in (
        NetworkFailure.NAME_RESOLUTION,
        NetworkFailure.CONNECTION_REFUSED,
        NetworkFailure.READ_TIMEOUT,
        NetworkFailure.CONNECT_TIMEOUT,
    ):
        if failure in kinds:
            return failure, ""
    return NetworkFailure.CONNECTION_FAILED, _connection_detail(chain)


def _chain(error: BaseException) -> Iterator[BaseException]:
    """`error` and what it wraps: in its args, its `reason` (MaxRetryError) and its cause."""
    pending: list[BaseException] = [error]
    seen: set[int] = set()
    while pending and len(seen) < 20:  # wrappers are a few deep; never loop on a cycle
        current = pending.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        wrapped = [*current.args, getattr(current, "reason", None), current.__cause__]
        pending.extend(item for item in wrapped if isinstance(item, BaseException))


def _kind(link: BaseException) -> NetworkFailure | None:
    if isinstance(link, urllib3.exceptions.NameResolutionError | socket.gaierror):
        return NetworkFailure.NAME_RESOLUTION
    if isinstance(link, ConnectionRefusedError):
        return NetworkFailure.CONNECTION_REFUSED
    if isinstance(link, urllib3.exceptions.ReadTimeoutError | requests.exceptions.ReadTimeout):
        return NetworkFailure.READ_TIMEOUT
    if isinstance(link, urllib3.exceptions.NewConnectionError):
        return None  # a subclass of ConnectTimeoutError that is not a timeout
    if isinstance(
        link,
        urllib3.exceptions.ConnectTimeoutError | requests.exceptions.ConnectTimeout | TimeoutError,
    ):
        return NetworkFailure.CONNECT_TIMEOUT
    return None


def _proxy_detail(inner: list[BaseException]) -> str:
    for link in inner:
        message = str(link)
        if message.startswith("Tunnel connection failed: "):
            return _short(
                "the proxy answered " + message.removeprefix("Tunnel connection failed: ")
            )
    kinds = {_kind(link) for link in inner}
    if NetworkFailure.NAME_RESOLUTION in kinds:
        return "the proxy's name could not be resolved"
    if NetworkFailure.CONNECTION_REFUSED in kinds:
        return "the proxy refused the connection"
    if kinds & {NetworkFailure.CONNECT_TIMEOUT, NetworkFailure.READ_TIMEOUT}:
        return "the proxy did not answer in time"
    return "could not connect to the proxy" if inner else ""


def _tls_detail(link: ssl.SSLError) -> str:
    reason = link.reason  # "WRONG_VERSION_NUMBER"
    return _short(reason.replace("_", " ").lower()) if isinstance(reason, str) else ""


def _connection_detail(chain: list[BaseException]) -> str:
    for link in chain:
        if isinstance(link, ConnectionResetError):
            return "connection reset"
        if isinstance(link, http.client.RemoteDisconnected):
            return "closed without an answer"
        if isinstance(link, ConnectionAbortedError):
            return "connection aborted"
    return ""


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _MAX_DETAIL else text[: _MAX_DETAIL - 3] + "..."
