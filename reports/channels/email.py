"""Email channel: one multipart text + html message to all recipients over SMTP.

STARTTLS, implicit TLS or plain; the password comes from an environment variable, never the config.
"""

from __future__ import annotations

import logging
import os
import re
import smtplib
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.policy import default as default_policy
from email.utils import format_datetime
from typing import ClassVar, Final, Literal

from reports.channels.base import DeliveryError, Outgoing, one_line
from reports.formats import get_format
from reports.formats.text import render_text
from reports.formats.wording import subject_line

logger = logging.getLogger(__name__)

SECURITY_MODES: Final = ("starttls", "ssl", "none")
# 7bit: non-ASCII bodies go as quoted-printable/base64, so any server takes them, 8BITMIME or not.
_POLICY: Final = default_policy.clone(cte_type="7bit")
_DOMAIN: Final = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?")


@dataclass(frozen=True)
class EmailOptions:
    """The email channel's settings: `[email]` (its `from` key is `sender` here)."""

    host: str = "localhost"
    port: int = 587
    security: Literal["starttls", "ssl", "none"] = "starttls"
    username: str = ""
    password_env: str = "LIFESCI_TRACKER_SMTP_PASSWORD"  # noqa: S105 (a variable name)
    sender: str = "lifesci-tracker@localhost"
    to: tuple[str, ...] = ()
    timeout_s: float = 30.0

    def __post_init__(self) -> None:
        """Refuse settings that could never work, so config loading fails at start."""
        if self.security not in SECURITY_MODES:
            raise ValueError(f"email.security must be one of {', '.join(SECURITY_MODES)}")
        if not 0 < self.port < 65536:
            raise ValueError("email.port must be between 1 and 65535")
        if not self.timeout_s > 0:
            raise ValueError("email.timeout_s must be positive")
        if self.username and self.security == "none":
            raise ValueError("email.username needs security 'starttls' or 'ssl'")


def make_message_id(delivery_id: int, run: int | None, domain: str) -> str:
    """Return a stable Message-ID for one delivery, e.g. `<delivery-17.run-42@lifesci-tracker>`.

    The same delivery always gets the same id, so a resent message is recognisably a duplicate.
    """
    if not _DOMAIN.fullmatch(domain):
        raise ValueError(f"not a Message-ID domain: {domain!r}")
    local = f"delivery-{int(delivery_id)}" + ("" if run is None else f".run-{int(run)}")
    return f"<{local}@{domain}>"


class EmailChannel:
    """Send a report as one multipart/alternative email (text, then html) to all recipients."""

    name: ClassVar[str] = "email"

    def __init__(
        self,
        options: EmailOptions,
        *,
        environ: Mapping[str, str] = os.environ,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.options = options
        self._environ = environ
        self._ssl_context = ssl_context

    def deliver(self, outgoing: Outgoing) -> None:
        """Send one delivery: its report in `outgoing.format` (html, text or markdown: a text
        part always, an HTML part for html), or its alert as plain text.

        Raises:
            DeliveryError: see `send`.
        """
        html_body: str | None = None
        if outgoing.alert is not None:
            subject, text_body = outgoing.alert.subject, outgoing.alert.text
        else:
            report = outgoing.load_report()
            subject = subject_line(report)
            if outgoing.format == "markdown":
                text_body = get_format("markdown").render(report).body
            else:
                text_body = render_text(report)
            if outgoing.format == "html":
                html_body = get_format("html").render(report).body
        domain = self.options.sender.rpartition("@")[2] or "lifesci-tracker"
        message = self.build_message(
            subject=subject,
            text_body=text_body,
            html_body=html_body,
            message_id=make_message_id(outgoing.delivery_id, outgoing.run, domain),
        )
        self.send(message)

    def build_message(
        self,
        *,
        subject: str,
        text_body: str,
        html_body: str | None,
        message_id: str,
        date: datetime | None = None,
    ) -> EmailMessage:
        """Build the message: text/plain first, then text/html when given; headers for all `to`.

        `message_id` is used exactly as given; `date` defaults to now (UTC).
        """
        message = EmailMessage(policy=_POLICY)
        message["From"] = self.options.sender
        if self.options.to:
            message["To"] = ", ".join(self.options.to)
        message["Subject"] = one_line(subject)
        message["Date"] = format_datetime((date or datetime.now(UTC)).astimezone(UTC))
        message["Message-ID"] = message_id
        message.set_content(text_body, subtype="plain", charset="utf-8")
        if html_body is not None:
            message.add_alternative(html_body, subtype="html", charset="utf-8")
        return message

    def send(self, message: EmailMessage) -> None:
        """Send `message` to every address in `to`.

        Raises:
            DeliveryError: no recipients, the password variable is unset, or any SMTP,
                TLS or network failure; the message is one line and never holds the password.
        """
        options = self.options
        if not options.to:
            raise DeliveryError("cannot send mail: [email] to has no recipients")
        password = self._password()
        where = f"{options.host}:{options.port}"
        try:
            with self._connect() as smtp:
                if options.security == "starttls":
                    smtp.starttls(context=self._context())
                    smtp.ehlo()
                if options.username:
                    smtp.login(options.username, password)
                refused = smtp.send_message(
                    message, from_addr=options.sender, to_addrs=list(options.to)
                )
        except (OSError, UnicodeError) as exc:
            reason = _scrub(_describe(exc), password)
            raise DeliveryError(f"cannot send mail via {where}: {reason}") from exc
        if refused:
            # The others have the message; raising would make a retry send them a duplicate.
            logger.warning("mail server refused %s", ", ".join(sorted(refused)))
        logger.info(
            "sent %s to %d recipient(s) via %s",
            message["Message-ID"],
            len(options.to) - len(refused),
            where,
        )

    def _password(self) -> str:
        if not self.options.username:
            return ""
        try:
            return self._environ[self.options.password_env]
        except KeyError:
            raise DeliveryError(
                f"cannot send mail: environment variable {self.options.password_env} is not set"
            ) from None

    def _context(self) -> ssl.SSLContext:
        if self._ssl_context is None:
            self._ssl_context = ssl.create_default_context()
        return self._ssl_context

    def _connect(self) -> smtplib.SMTP:
        options = self.options
        if options.security == "ssl":
            return smtplib.SMTP_SSL(
                options.host, options.port, timeout=options.timeout_s, context=self._context()
            )
        return smtplib.SMTP(options.host, options.port, timeout=options.timeout_s)


def _describe(exc: BaseException) -> str:
    """Say in one line what went wrong, server replies included."""
    if isinstance(exc, smtplib.SMTPResponseException):
        error = exc.smtp_error
        text = error.decode("utf-8", "replace") if isinstance(error, bytes) else str(error)
        return f"{type(exc).__name__}: {exc.smtp_code} {text}"
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return f"all recipients refused: {', '.join(sorted(exc.recipients))}"
    if isinstance(exc, UnicodeError):
        return f"{type(exc).__name__}: an address, user name or password is not ASCII"
    text = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _scrub(text: str, password: str) -> str:
    """Belt and braces: a password must never reach a log or the outbox, even if echoed."""
    text = one_line(text)
    return text.replace(password, "***") if password else text
