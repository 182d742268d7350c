"""Slow clients against `triage-bot serve`: headers and bodies that never finish arriving.

A client that opens a connection and trickles (or never finishes) its headers is cut off
after `header_timeout_seconds`; one that sends headers and then stalls its body gets a
408 after `body_timeout_seconds`, on the webhook and on the payload-logger ingest alike.
The real program serves on a loopback port; the client is a raw socket.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.service.commands import BASE_ENV
from tests.service.live import free_port, wait_ready


@pytest.fixture
def server(tmp_path: Path) -> Iterator[int]:
    port = free_port()
    env = {
        **os.environ,
        **BASE_ENV,
        "TRIAGE_BOT_HEADER_TIMEOUT_SECONDS": "1",
        "TRIAGE_BOT_BODY_TIMEOUT_SECONDS": "1",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "serve", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_ready(f"http://127.0.0.1:{port}")
        yield port
    finally:
        process.terminate()
        process.wait(timeout=20)


def _closed_within(sock: socket.socket, seconds: float, until: bytes = b"") -> tuple[bool, bytes]:
    """Whether the server closed the connection within `seconds` (or sent `until`), and
    what it sent."""
    sock.settimeout(0.2)
    received = b""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            chunk = sock.recv(4096)
        except TimeoutError:
            continue
        if not chunk:
            return True, received
        received += chunk
        if until and until in received:
            return False, received
    return False, received


def test_headers_that_never_finish_are_cut_off(server: int) -> None:
    with socket.create_connection(("127.0.0.1", server)) as sock:
        sock.sendall(b"POST /alertmanager HTTP/1.1\r\nHost: x\r\n")  # no blank line: not done
        closed, _ = _closed_within(sock, 5)
    assert closed, "a connection stuck in its headers must be closed"


@pytest.mark.parametrize("path", ["/alertmanager", "/ingest/kserve"])
def test_a_stalled_body_gets_408(server: int, path: str) -> None:
    head = (
        f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        "Content-Length: 1000\r\n\r\n"
    )
    with socket.create_connection(("127.0.0.1", server)) as sock:
        sock.sendall(head.encode() + b'{"version": "4"')  # 15 of 1000 bytes, then nothing
        began = time.monotonic()
        _, received = _closed_within(sock, 6, until=b"body not received within")
    assert received.startswith(b"HTTP/1.1 408"), received[:200]
    assert b"body not received within 1 s" in received
    assert time.monotonic() - began < 5


def test_a_prompt_client_is_not_hurried(server: int) -> None:
    with socket.create_connection(("127.0.0.1", server)) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        _, received = _closed_within(sock, 5)
    assert received.startswith(b"HTTP/1.1 200")
