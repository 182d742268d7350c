"""Run the real service for tests: in a background thread, or as a subprocess."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from aiohttp import web

from bot.app import create_app
from bot.config import Settings


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def service_in_thread(settings: Settings) -> Iterator[str]:
    """The app on a loopback port, served by its own event loop in a thread; yields the URL."""
    loop = asyncio.new_event_loop()
    runner = web.AppRunner(create_app(settings), handle_signals=False)
    port = free_port()
    loop.run_until_complete(runner.setup())
    loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", port).start())
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(timeout=30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()


def wait_ready(url: str, timeout: float = 30.0) -> None:
    """Poll /readyz until the service answers ready."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/readyz", timeout=1) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.05)
    raise TimeoutError(f"{url} not ready after {timeout} s")


def start_subprocess(data_dir: Path, port: int, env: dict[str, str]) -> subprocess.Popen[str]:
    """`python -m bot serve` with its own data dir; stdout is the console notifier."""
    full_env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("TRIAGE_BOT_", "SLACK_"))},
        "TRIAGE_BOT_DATA_DIR": str(data_dir),
        "PYTHONUNBUFFERED": "1",
        "TRIAGE_BOT_API__PUBLIC": "true",  # a loopback test server: no token to manage
        **env,
    }
    full_env.pop("KUBECONFIG", None)
    return subprocess.Popen(
        [sys.executable, "-m", "bot", "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=full_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def post(url: str, body: bytes, headers: dict[str, str], timeout: float = 10) -> tuple[int, bytes]:
    """POST and return (status, body) without raising on 4xx/5xx."""
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return int(response.status), response.read()
    except urllib.error.HTTPError as err:
        return int(err.code), err.read()
