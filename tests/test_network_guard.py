import socket

import pytest
import requests


def test_a_test_cannot_reach_the_internet() -> None:
    with pytest.raises(RuntimeError, match=r"internet|non-local"):
        requests.get("https://www.gov.uk/", timeout=1)


def test_a_test_can_reach_loopback() -> None:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    client = socket.create_connection(server.getsockname(), timeout=1)
    client.close()
    server.close()
