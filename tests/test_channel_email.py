"""Email channel against a real aiosmtpd server on 127.0.0.1.

Plain SMTP, STARTTLS + AUTH and implicit TLS, with a trustme certificate made per test module.
"""

from __future__ import annotations

import email
import logging
import socket
import ssl
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from typing import Any

import pytest
import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from reports.channels import DeliveryError, EmailChannel, EmailOptions, make_message_id

PASSWORD = "s3cret-Pa55word"
WRONG_PASSWORD = "wrong-Pa55word-123"
USER = "tracker"
PASSWORD_ENV = "TEST_SMTP_PASSWORD"
TO = ("team@example.org",)
MESSAGE_ID = "<delivery-17.run-42@lifesci-tracker>"
TEXT = "1 organisation changed: Life Sciences Hub Wales – café\n"
HTML = "<p>1 organisation changed: <b>Life Sciences Hub Wales – café</b></p>\n"


class Collector:
    """An aiosmtpd handler that keeps every message, and refuses recipients named nobody@."""

    def __init__(self) -> None:
        self.envelopes: list[Any] = []
        self.sessions: list[Any] = []

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: Any
    ) -> str:
        if address.startswith("nobody@"):
            return "550 5.1.1 no such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.envelopes.append(envelope)
        self.sessions.append(session)
        return "250 Message accepted for delivery"

    def only_message(self) -> EmailMessage:
        assert len(self.envelopes) == 1
        parsed = email.message_from_bytes(self.envelopes[0].content, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed


def lf(text: str) -> str:
    """Undo the CRLF line ends that text parts carry on the wire (MIME canonical form)."""
    return text.replace("\r\n", "\n")


def check_password(
    server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
) -> AuthResult:
    ok = (
        isinstance(auth_data, LoginPassword)
        and auth_data.login == USER.encode()
        and auth_data.password == PASSWORD.encode()
    )
    return AuthResult(success=ok, handled=False)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


StartServer = Callable[..., tuple[Collector, int]]


@pytest.fixture
def start_server() -> Iterator[StartServer]:
    """Start aiosmtpd servers on 127.0.0.1 with the given options; stop them after the test."""
    controllers: list[Controller] = []

    def start(**kwargs: Any) -> tuple[Collector, int]:
        handler = Collector()
        port = free_port()
        controller = Controller(
            handler, hostname="127.0.0.1", port=port, server_hostname="localhost", **kwargs
        )
        controller.start()
        controllers.append(controller)
        return handler, port

    yield start
    for controller in controllers:
        controller.stop()


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="module")
def server_context(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
    return context


@pytest.fixture(scope="module")
def client_context(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context()
    ca.configure_trust(context)
    return context


def make_channel(port: int, **options: Any) -> EmailChannel:
    environ = options.pop("environ", {})
    context = options.pop("ssl_context", None)
    settings = {"host": "127.0.0.1", "port": port, "security": "none", "to": TO, **options}
    return EmailChannel(EmailOptions(**settings), environ=environ, ssl_context=context)


def build(channel: EmailChannel, html: str | None = HTML) -> EmailMessage:
    return channel.build_message(
        subject="UK life sciences support: 1 change",
        text_body=TEXT,
        html_body=html,
        message_id=MESSAGE_ID,
        date=datetime(2021, 12, 1, 7, 0, 2, tzinfo=UTC),
    )


def test_message_id_is_stable_per_delivery() -> None:
    assert make_message_id(17, 42, "lifesci-tracker") == MESSAGE_ID
    assert make_message_id(17, None, "example.org") == "<delivery-17@example.org>"
    with pytest.raises(ValueError, match="not a Message-ID domain"):
        make_message_id(17, 42, "evil>\r\nBcc: x@example.org")


def test_message_is_text_then_html_with_all_headers(start_server: StartServer) -> None:
    handler, port = start_server()
    channel = make_channel(port, sender="tracker@example.org")

    channel.send(build(channel))

    envelope = handler.envelopes[0]
    assert envelope.mail_from == "tracker@example.org"
    assert envelope.rcpt_tos == list(TO)
    message = handler.only_message()
    assert message.get_content_type() == "multipart/alternative"
    text_part, html_part = message.iter_parts()
    assert text_part.get_content_type() == "text/plain"
    assert lf(text_part.get_content()) == TEXT
    assert html_part.get_content_type() == "text/html"
    assert lf(html_part.get_content()) == HTML
    assert envelope.content.isascii(), "non-ASCII text must travel encoded, 8BITMIME or not"
    assert message["Message-ID"] == MESSAGE_ID
    assert message["From"] == "tracker@example.org"
    assert message["To"] == "team@example.org"
    assert message["Subject"] == "UK life sciences support: 1 change"
    assert message["Date"].datetime == datetime(2021, 12, 1, 7, 0, 2, tzinfo=UTC)


def test_one_message_reaches_several_recipients(start_server: StartServer) -> None:
    handler, port = start_server()
    to = ("a@example.org", "b@example.org", "c@example.net")
    channel = make_channel(port, to=to)

    channel.send(build(channel))

    assert handler.envelopes[0].rcpt_tos == list(to)
    assert handler.only_message()["To"] == "a@example.org, b@example.org, c@example.net"


def test_without_html_the_message_is_plain_text() -> None:
    message = build(make_channel(25), html=None)

    assert message.get_content_type() == "text/plain"
    assert message.get_content() == TEXT


def test_subject_is_one_line() -> None:
    channel = make_channel(25)
    message = channel.build_message(
        subject="changed:\r\nBcc: someone@example.org",
        text_body=TEXT,
        html_body=None,
        message_id=MESSAGE_ID,
    )

    assert message["Subject"] == "changed: Bcc: someone@example.org"
    assert message["Bcc"] is None


def test_starttls_and_login_with_password_from_environment(
    start_server: StartServer, server_context: ssl.SSLContext, client_context: ssl.SSLContext
) -> None:
    handler, port = start_server(
        tls_context=server_context,
        require_starttls=True,
        authenticator=check_password,
        auth_required=True,
    )
    channel = make_channel(
        port,
        security="starttls",
        username=USER,
        password_env=PASSWORD_ENV,
        environ={PASSWORD_ENV: PASSWORD},
        ssl_context=client_context,
    )

    channel.send(build(channel))

    session = handler.sessions[0]
    assert session.ssl is not None
    assert session.authenticated
    assert handler.only_message()["Message-ID"] == MESSAGE_ID


def test_starttls_checks_the_server_certificate(
    start_server: StartServer, server_context: ssl.SSLContext
) -> None:
    handler, port = start_server(tls_context=server_context, require_starttls=True)
    channel = make_channel(port, security="starttls")  # default context: trustme CA unknown

    with pytest.raises(DeliveryError, match=r"CERTIFICATE_VERIFY_FAILED|certificate verify failed"):
        channel.send(build(channel))

    assert handler.envelopes == []


def test_implicit_tls_with_login(
    start_server: StartServer, server_context: ssl.SSLContext, client_context: ssl.SSLContext
) -> None:
    # aiosmtpd only counts STARTTLS as TLS for AUTH, so allow AUTH on its implicit-TLS listener.
    handler, port = start_server(
        ssl_context=server_context, authenticator=check_password, auth_require_tls=False
    )
    channel = make_channel(
        port,
        security="ssl",
        username=USER,
        password_env=PASSWORD_ENV,
        environ={PASSWORD_ENV: PASSWORD},
        ssl_context=client_context,
    )

    channel.send(build(channel))

    assert handler.sessions[0].authenticated
    assert handler.only_message().get_content_type() == "multipart/alternative"


def test_server_down_is_a_one_line_delivery_error() -> None:
    port = free_port()  # bound and closed again: nothing listens there
    channel = make_channel(port)

    with pytest.raises(DeliveryError) as caught:
        channel.send(build(channel))

    text = str(caught.value)
    assert text.startswith(f"cannot send mail via 127.0.0.1:{port}: ")
    assert "refused" in text.lower()
    assert "\n" not in text


def test_silent_server_times_out() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        channel = make_channel(silent.getsockname()[1], timeout_s=0.2)

        with pytest.raises(DeliveryError, match="timed out"):
            channel.send(build(channel))


def test_wrong_password_never_appears_in_the_error_or_the_log(
    start_server: StartServer,
    server_context: ssl.SSLContext,
    client_context: ssl.SSLContext,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    handler, port = start_server(
        tls_context=server_context, require_starttls=True, authenticator=check_password
    )
    channel = make_channel(
        port,
        security="starttls",
        username=USER,
        password_env=PASSWORD_ENV,
        environ={PASSWORD_ENV: WRONG_PASSWORD},
        ssl_context=client_context,
    )

    with pytest.raises(DeliveryError, match="535") as caught:
        channel.send(build(channel))

    assert "\n" not in str(caught.value)
    assert WRONG_PASSWORD not in str(caught.value)
    assert WRONG_PASSWORD not in repr(caught.value)
    assert WRONG_PASSWORD not in caplog.text
    assert handler.envelopes == []


def test_missing_password_variable_is_named_and_nothing_is_sent(
    start_server: StartServer,
) -> None:
    handler, port = start_server()
    channel = make_channel(
        port, security="starttls", username=USER, password_env=PASSWORD_ENV, environ={}
    )

    with pytest.raises(
        DeliveryError, match=f"^cannot send mail: environment variable {PASSWORD_ENV} is not set$"
    ):
        channel.send(build(channel))

    assert handler.envelopes == []


def test_no_recipients_is_a_delivery_error() -> None:
    channel = make_channel(25, to=())

    with pytest.raises(DeliveryError, match="no recipients"):
        channel.send(build(channel))


def test_some_recipients_refused_is_logged_not_raised(
    start_server: StartServer, caplog: pytest.LogCaptureFixture
) -> None:
    handler, port = start_server()
    channel = make_channel(port, to=("team@example.org", "nobody@example.org"))

    channel.send(build(channel))

    assert handler.envelopes[0].rcpt_tos == ["team@example.org"]
    assert "nobody@example.org" in caplog.text


def test_all_recipients_refused_is_a_delivery_error(start_server: StartServer) -> None:
    handler, port = start_server()
    channel = make_channel(port, to=("nobody@example.org",))

    with pytest.raises(DeliveryError, match=r"all recipients refused: nobody@example\.org$"):
        channel.send(build(channel))

    assert handler.envelopes == []


def test_plain_client_against_a_server_requiring_starttls_fails(
    start_server: StartServer, server_context: ssl.SSLContext
) -> None:
    _, port = start_server(tls_context=server_context, require_starttls=True)
    channel = make_channel(port, security="none")

    with pytest.raises(DeliveryError, match="530"):
        channel.send(build(channel))


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"security": "tls"}, "email.security must be one of"),
        ({"port": 0}, "email.port"),
        ({"timeout_s": 0.0}, "email.timeout_s"),
        ({"security": "none", "username": "u"}, "needs security"),
    ],
)
def test_impossible_options_fail_at_construction(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        EmailOptions(**options)
