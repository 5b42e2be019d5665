"""A real SMTP server (aiosmtpd) on a fixed loopback port that a test can stop and start again."""

from __future__ import annotations

import asyncio
import email
import socket
from collections import Counter
from email import policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller


class Inbox:
    """An aiosmtpd handler that keeps every message it accepts, optionally answering slowly."""

    def __init__(self, delay_s: float = 0.0) -> None:
        self.envelopes: list[Any] = []
        self.delay_s = delay_s

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.delay_s:
            await asyncio.sleep(self.delay_s)  # a slow server widens any race between senders
        self.envelopes.append(envelope)
        return "250 Message accepted for delivery"

    def messages(self) -> list[EmailMessage]:
        parsed = [
            email.message_from_bytes(e.content, policy=policy.default) for e in self.envelopes
        ]
        return [m for m in parsed if isinstance(m, EmailMessage)]

    def message_ids(self) -> Counter[str]:
        """How many times each Message-ID arrived."""
        return Counter(str(m["Message-ID"]) for m in self.messages())


class MailServer:
    """A real SMTP server on a fixed loopback port that a test can stop and start again."""

    def __init__(self, delay_s: float = 0.0) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port: int = probe.getsockname()[1]
        self.inbox = Inbox(delay_s)
        self.controller: Controller | None = None

    def start(self) -> None:
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def email_table(self, *, to: tuple[str, ...] = ("team@example.org",), extra: str = "") -> str:
        """The [email] section of a config that sends plain SMTP to this server."""
        recipients = ", ".join(f'"{address}"' for address in to)
        return f"""
[email]
enabled = true
host = "127.0.0.1"
port = {self.port}
security = "none"
from = "tracker@example.org"
to = [{recipients}]
{extra}
"""
