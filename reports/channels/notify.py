"""Notify channel: short messages to chat, push and webhook targets through Apprise (DESIGN §9).

One delivery goes to one target (Slack, Microsoft Teams, Discord, Matrix, ntfy, a JSON webhook,
...), so one dead webhook is retried on its own and never resends to the others. Apprise is
imported only when targets are read or a message is sent: with its plugins it takes ~0.4 s.

Apprise URLs hold tokens, so a target is only ever shown masked (`mask_url`: the scheme, a host
name when it is one, "…" for the rest) and the outbox stores that mask and a key (`target_key`,
a slow salted hash of the URL that cannot be turned back into it); a pending delivery finds its
URL again at send time among the targets configured then. Apprise and urllib3 log request URLs at
DEBUG level: while Apprise works, their records never reach our logs; Apprise's warnings are
kept, scrubbed of the URL's secrets, for the delivery's error message.
"""

from __future__ import annotations

import hashlib
import ipaddress
import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar, Final
from urllib.parse import parse_qsl, urlsplit

from reports.channels.base import DeliveryError, Outgoing, one_line
from reports.formats.chat import Markup, render_chat

if TYPE_CHECKING:
    from apprise import AppriseAsset
    from apprise.plugins.base import NotifyBase

logger = logging.getLogger(__name__)

_KEY_SALT: Final = b"lifesci-tracker notify target"
_KEY_ROUNDS: Final = 100_000  # ~20 ms a target: a stolen database gives up no weak password
_MIN_SECRET_CHARS: Final = 4  # shorter URL parts are not worth scrubbing (and would garble text)
_URL_IN_TEXT: Final = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s'\"<>]+")
# Commas separate URLs only where another URL starts: a comma inside a URL's query stays.
_SEPARATOR: Final = re.compile(r"\s+|,+(?=\s*[A-Za-z][A-Za-z0-9+.-]*://)")
_HOST_NAME: Final = re.compile(r"(?:[a-z0-9-]+\.)+[a-z]{2,}")
_PLAIN_WORD: Final = re.compile(r"[a-z]{1,12}")  # "hooks", "services", "workflows": not secrets


class NotifyTargetError(ValueError):
    """A notify target cannot be used: the one-line message shows it masked."""


@dataclass(frozen=True, slots=True)
class NotifyTarget:
    """One Apprise target: its URL (a secret: never shown), its mask, key and service name."""

    url: str = field(repr=False)
    masked: str
    key: str
    service: str


@dataclass(frozen=True)
class NotifyOptions:
    """The notify channel's settings: the targets configured now, and the message markup."""

    targets: tuple[NotifyTarget, ...] = ()
    format: Markup = "markdown"


def mask_url(url: str) -> str:
    """Return a URL as it may be shown: `slack://t***/…`, `json://127.0.0.1:8080/…`.

    The scheme; the host when it is a host name or address (else its first character); "***@"
    for any user or password; "/…" for any path, query or fragment, where tokens live.
    """
    try:
        parts = urlsplit(url.strip())
        host = parts.hostname or ""
        port = parts.port
    except ValueError:
        return "(not a URL)"
    scheme = parts.scheme.lower() or "?"
    if _is_host_name(host):
        shown = f"{host}:{port}" if port else host
    else:
        shown = f"{host[:1]}***" if host else ""
    user = "***@" if parts.username or parts.password else ""
    rest = "/…" if parts.path.strip("/") or parts.query or parts.fragment else ""
    return f"{scheme}://{user}{shown}{rest}"


def _is_host_name(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return bool(_HOST_NAME.fullmatch(host))
    return True


def target_key(url: str) -> str:
    """Return the key the outbox stores for a target: the same URL always gives the same key."""
    digest = hashlib.pbkdf2_hmac("sha256", url.strip().encode("utf-8"), _KEY_SALT, _KEY_ROUNDS)
    return digest.hex()[:32]


def split_urls(text: str) -> list[str]:
    """Split an environment variable's value into URLs (spaces or commas between them)."""
    return [url for url in _SEPARATOR.split(text.strip()) if url]


def scrub(text: str, url: str) -> str:
    """Return `text` on one line with the secret parts of `url`, and any URL in it, masked."""
    for secret in sorted(_secret_parts(url), key=len, reverse=True):
        text = text.replace(secret, "***")
    return one_line(_URL_IN_TEXT.sub(lambda match: mask_url(match.group(0)), text))


def _secret_parts(url: str) -> set[str]:
    """The parts of `url` that may be secret: user, password, a host that is no host name (a
    token), path segments and query values; not short plain words such as "hooks" or "json"."""
    try:
        parts = urlsplit(url.strip())
        parts.port  # noqa: B018 - raises ValueError for a malformed port, like hostname
    except ValueError:
        return {url.strip()}
    host = re.sub(r":\d*$", "", parts.netloc.rpartition("@")[2])
    pieces = {parts.username or "", parts.password or "", *parts.path.split("/")}
    pieces.update(value for _, value in parse_qsl(parts.query))
    if not _is_host_name(host.lower()):
        pieces.add(host)
    secret = {piece for piece in pieces if len(piece) >= _MIN_SECRET_CHARS}
    return {url.strip()} | {piece for piece in secret if not _PLAIN_WORD.fullmatch(piece)}


def read_targets(
    urls_text: str, *, variable: str, config_file: Path | None = None
) -> tuple[NotifyTarget, ...]:
    """Return the targets in `urls_text` (the value of environment variable `variable`) and in
    an Apprise YAML or text config file, each once, in that order.

    Raises:
        NotifyTargetError: a URL Apprise cannot use (named by its position and mask), or a
            config file that cannot be read or holds such a URL.
    """
    targets: dict[str, NotifyTarget] = {}
    for position, url in enumerate(split_urls(urls_text), start=1):
        with _apprise_logs():
            import apprise

            service = apprise.Apprise.instantiate(url, asset=_asset())
        if service is None:
            raise NotifyTargetError(
                f"${variable}: URL {position} ({mask_url(url)}) is not one Apprise can use;"
                " see https://appriseit.com/services/ for each service's URL"
            )
        _add_target(targets, url, service)
    if config_file is not None:
        for url, service in _config_file_services(config_file):
            _add_target(targets, url, service)
    return tuple(targets.values())


def _add_target(targets: dict[str, NotifyTarget], url: str, service: NotifyBase) -> None:
    key = target_key(url)
    name = str(getattr(service, "service_name", "") or type(service).__name__)
    targets.setdefault(key, NotifyTarget(url=url, masked=mask_url(url), key=key, service=name))


def _config_file_services(path: Path) -> list[tuple[str, NotifyBase]]:
    if not path.is_file():
        raise NotifyTargetError(f"[notify] config_file: no such file: {path}")
    with _apprise_logs() as said:
        import apprise

        config = apprise.AppriseConfig(asset=_asset())
        config.add(str(path))
        everything = apprise.Apprise(asset=_asset())
        everything.add(config)
        services = list(everything)
    if said:
        raise NotifyTargetError(f"[notify] config_file {path}: {scrub(said[0], '')}")
    # The URL as Apprise writes it back (defaults added): the same file always gives the same.
    return [(str(service.url()), service) for service in services]  # type: ignore[no-untyped-call]


def _asset() -> AppriseAsset:
    from apprise import AppriseAsset

    # Memory only: Apprise must not keep state (tokens included) in the user's home directory.
    return AppriseAsset(storage_mode="memory")


class _Said(logging.Handler):
    """Keeps the messages of Apprise's warnings and errors."""

    def __init__(self, said: list[str]) -> None:
        super().__init__(logging.WARNING)
        self.said = said

    def emit(self, record: logging.LogRecord) -> None:
        self.said.append(record.getMessage())


@contextmanager
def _apprise_logs() -> Iterator[list[str]]:
    """While Apprise works: its log records go only to the returned list (warnings and errors),
    and urllib3 logs nothing below WARNING (its DEBUG lines hold request paths, tokens too)."""
    said: list[str] = []
    handler = _Said(said)
    apprise_log, urllib3_log = logging.getLogger("apprise"), logging.getLogger("urllib3")
    propagate, apprise_level, urllib3_level = (
        apprise_log.propagate,
        apprise_log.level,
        urllib3_log.level,
    )
    apprise_log.addHandler(handler)
    apprise_log.propagate = False
    apprise_log.setLevel(logging.WARNING)
    urllib3_log.setLevel(logging.WARNING)
    try:
        yield said
    finally:
        apprise_log.removeHandler(handler)
        apprise_log.propagate = propagate
        apprise_log.setLevel(apprise_level)
        urllib3_log.setLevel(urllib3_level)


class NotifyChannel:
    """Send a short message about a report, or a problem alert, to one Apprise target."""

    name: ClassVar[str] = "notify"

    def __init__(self, options: NotifyOptions) -> None:
        self.options = options

    def deliver(self, outgoing: Outgoing) -> None:
        """Send the delivery's message to its target (found again by `outgoing.target_key`).

        Raises:
            DeliveryError: the target is no longer configured, or the service did not take the
                message; the message names the target masked.
        """
        target = self._target(outgoing)
        if outgoing.alert is not None:
            title, body, markup = outgoing.alert.subject, outgoing.alert.text, "text"
        else:
            message = render_chat(
                outgoing.load_report(), markup=self.options.format, link=outgoing.link
            )
            title, body, markup = message.title, message.body, message.markup
        with _apprise_logs() as said:
            import apprise

            sender = apprise.Apprise(asset=_asset())
            accepted = sender.add(target.url) and sender.notify(
                body=body, title=title, body_format=markup
            )
        if not accepted:
            reason = "; ".join(dict.fromkeys(scrub(text, target.url) for text in said))
            raise DeliveryError(
                f"cannot notify {target.masked} ({target.service}): "
                f"{reason or 'the service did not take the message'}"
            )
        logger.info("notified %s (%s)", target.masked, target.service)

    def _target(self, outgoing: Outgoing) -> NotifyTarget:
        for target in self.options.targets:
            if target.key == outgoing.target_key:
                return target
        raise DeliveryError(
            f"notify target {outgoing.target} is no longer configured ([notify] urls_env or"
            " config_file); `lifesci-tracker outbox cancel` drops this delivery"
        )
