"""A webhook answered 2xx survives `kill -9`; SIGTERM drains the triage in flight.

The service runs as a real subprocess. Its triage is held up by a "Prometheus" that
accepts connections and never answers, so the kill lands while the triage is unfinished.
"""

from __future__ import annotations

import json
import signal
import socket
import sqlite3
import subprocess
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from .conftest import AUTH, FIXTURES, TOKEN
from .live import free_port, post, start_subprocess, wait_ready

FIRING = (FIXTURES / "high-error-rate-firing.json").read_bytes()
RESOLVED = (FIXTURES / "high-error-rate-resolved.json").read_bytes()


@pytest.fixture
def silent_prometheus() -> Iterator[str]:
    """A listening socket that never accepts: requests to it hang until their timeout."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(64)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"


@dataclass
class Run:
    """A running service and, once it has stopped, what it printed."""

    url: str
    process: subprocess.Popen[str]
    out: str = ""
    err: str = ""

    def post(self, body: bytes) -> tuple[int, bytes]:
        return post(f"{self.url}/alertmanager", body, AUTH)


@contextmanager
def serving(data_dir: Path, port: int, stop: signal.Signals, **env: str) -> Iterator[Run]:
    """`python -m bot serve` on `data_dir`, stopped with `stop` when the block ends."""
    process = start_subprocess(data_dir, port, {"TRIAGE_BOT_WEBHOOK_TOKEN": TOKEN, **env})
    run = Run(f"http://127.0.0.1:{port}", process)
    try:
        wait_ready(run.url)
        yield run
    finally:
        process.send_signal(stop)
        try:
            run.out, run.err = process.communicate(timeout=30)
        finally:
            process.kill()


def _rows(data_dir: Path) -> list[tuple[int, str]]:
    with sqlite3.connect(data_dir / "triage-bot.sqlite3") as db:
        return list(db.execute("SELECT id, state FROM notifications ORDER BY id"))


def _wait_until(ready: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def _triages(url: str) -> list[dict[str, object]]:
    with urllib.request.urlopen(f"{url}/api/triages") as response:
        triages: list[dict[str, object]] = json.load(response)["triages"]
    return triages


def test_accepted_webhook_survives_sigkill_and_resumes(
    tmp_path: Path, silent_prometheus: str
) -> None:
    port = free_port()
    hold_up = {
        "TRIAGE_BOT_PROMETHEUS_URL": silent_prometheus,
        "TRIAGE_BOT_COLLECTORS__PROMETHEUS_TIMEOUT_SECONDS": "30",
        "TRIAGE_BOT_COLLECTORS__BUDGET_SECONDS": "30",
    }
    with serving(tmp_path, port, signal.SIGKILL, **hold_up) as killed:
        status, answer = killed.post(FIRING)
        assert status == 200, answer
    assert "[FIRING]" not in killed.out, "the kill must land before the triage finished"
    assert _rows(tmp_path) == [(1, "pending")]

    with serving(tmp_path, port, signal.SIGTERM) as restarted:
        _wait_until(lambda: bool(_triages(restarted.url)))
        assert [t["alertname"] for t in _triages(restarted.url)] == ["HighErrorRate"]
        # The same body again is still recognised as a duplicate after the restart.
        status, answer = restarted.post(FIRING)
        assert (status, json.loads(answer)) == (200, {"status": "duplicate"})
    assert "[FIRING] critical HighErrorRate" in restarted.out
    assert _rows(tmp_path) == [(1, "done")]
    assert TOKEN not in restarted.out + restarted.err, "the bearer token never reaches the logs"


def test_sigterm_drains_the_triage_in_flight(tmp_path: Path, silent_prometheus: str) -> None:
    hold_up = {
        "TRIAGE_BOT_PROMETHEUS_URL": silent_prometheus,
        "TRIAGE_BOT_COLLECTORS__PROMETHEUS_TIMEOUT_SECONDS": "1.5",
        "TRIAGE_BOT_LOG_FORMAT": "json",
    }
    with serving(tmp_path, free_port(), signal.SIGTERM, **hold_up) as run:
        assert run.post(FIRING)[0] == 200
    assert run.process.returncode == 0, run.err
    assert "[FIRING] critical HighErrorRate" in run.out, run.err
    assert "timeout after 1.5 s" in run.out
    assert _rows(tmp_path) == [(1, "done")]
    for line in run.err.splitlines():
        assert isinstance(json.loads(line), dict), "JSON logs: one object per line"


def test_unreadable_stored_triage_does_not_block_its_group(tmp_path: Path) -> None:
    # A triage row from another version (here: garbage) must not stop the group for good.
    port = free_port()
    with serving(tmp_path, port, signal.SIGTERM) as first:
        assert first.post(FIRING)[0] == 200
        _wait_until(lambda: _rows(tmp_path) == [(1, "done")])
    with sqlite3.connect(tmp_path / "triage-bot.sqlite3") as db:
        garbage = json.dumps({"group_key": 1})
        group_key = json.loads(FIRING)["groupKey"]
        db.execute("UPDATE triages SET report = ? WHERE group_key = ?", (garbage, group_key))

    with serving(tmp_path, port, signal.SIGTERM) as second:
        assert second.post(RESOLVED)[0] == 200
        _wait_until(lambda: _rows(tmp_path)[-1] == (2, "done"))
    assert "[RESOLVED] critical HighErrorRate" in second.out
    assert "stored triage unreadable" in second.err
    assert _rows(tmp_path) == [(1, "done"), (2, "done")]
