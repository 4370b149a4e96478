"""The serve executor's limits, against a real server on 127.0.0.1: bodies bounded in size
(413) and in time (408), and a client slow to send its headers cut off."""

from __future__ import annotations

import socket
import time
from urllib.parse import urlsplit

import pytest

pytest.importorskip("fastapi")
httpx = pytest.importorskip("httpx")

from synapse_sdk.plugins.executors import ServeExecutor, serve  # noqa: E402

from .helpers import entry  # noqa: E402


@pytest.fixture
def endpoint(plugin_dir, monkeypatch):
    monkeypatch.setattr(serve, "MAX_BODY", 1024)
    monkeypatch.setattr(serve, "BODY_TIMEOUT", 0.5)
    monkeypatch.setattr(serve, "HEADER_TIMEOUT", 0.5)
    with ServeExecutor() as executor:
        yield executor.serve(entry("count"), plugin_dir=plugin_dir)


def _connect(url: str) -> socket.socket:
    parts = urlsplit(url)
    return socket.create_connection((parts.hostname, parts.port), timeout=5)


def test_a_body_over_the_limit_is_413_and_runs_nothing(endpoint):
    big = '{"n": 1, "pad": "' + "x" * 2000 + '"}'
    answer = httpx.post(
        endpoint.url + "/run",
        content=big,
        headers={**endpoint.headers, "Content-Type": "application/json"},
    )
    assert answer.status_code == 413
    assert answer.json()["detail"]["type"] == "TooLarge"
    assert "x-synapse-run-id" not in answer.headers
    # a normal request still runs
    ok = httpx.post(endpoint.url + "/run", json={"n": 2}, headers=endpoint.headers)
    assert ok.status_code == 200


def test_a_body_that_stops_coming_is_408(endpoint):
    host = urlsplit(endpoint.url).netloc
    with _connect(endpoint.url) as sock:
        head = (
            f"POST /run HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
            f"Authorization: Bearer {endpoint.token}\r\nContent-Length: 100\r\n\r\n"
            '{"n": '
        )
        sock.sendall(head.encode())
        t0 = time.monotonic()
        answer = sock.recv(4096).decode()
        assert answer.startswith("HTTP/1.1 408")
        assert time.monotonic() - t0 < 5


def test_headers_that_never_end_get_the_connection_closed(endpoint):
    with _connect(endpoint.url) as sock:
        sock.sendall(b"POST /run HTTP/1.1\r\nHost: x\r\n")  # and never the blank line
        t0 = time.monotonic()
        assert sock.recv(4096) == b""  # closed by the server
        assert time.monotonic() - t0 < 5
