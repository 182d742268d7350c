"""A webhook answered 2xx survives `kill -9`; SIGTERM drains the triage in flight.

The service runs as a real subprocess. Its triage is held up by a "Prometheus" that
accepts connections and never answers, so the kill lands while the triage is unfinished.
"""

from __future__ import annotations

import json
import signal
import socket
import sqlite3
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from .conftest import AUTH, FIXTURES, TOKEN
from .live import free_port, post, start_subprocess, wait_ready


@pytest.fixture
def silent_prometheus() -> Iterator[str]:
    """A listening socket that never accepts: requests to it hang until their timeout."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(64)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"


def _pending_rows(data_dir: Path) -> list[tuple[int, str]]:
    with sqlite3.connect(data_dir / "triage-bot.sqlite3") as db:
        return list(db.execute("SELECT id, state FROM notifications ORDER BY id"))


def test_accepted_webhook_survives_sigkill_and_resumes(
    tmp_path: Path, silent_prometheus: str
) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {
        "TRIAGE_BOT_WEBHOOK_TOKEN": TOKEN,
        "TRIAGE_BOT_PROMETHEUS_URL": silent_prometheus,
        "TRIAGE_BOT_COLLECTORS__PROMETHEUS_TIMEOUT_SECONDS": "30",
        "TRIAGE_BOT_COLLECTORS__BUDGET_SECONDS": "30",
    }
    first = start_subprocess(tmp_path, port, env)
    try:
        wait_ready(url)
        body = (FIXTURES / "high-error-rate-firing.json").read_bytes()
        status, answer = post(f"{url}/alertmanager", body, AUTH)
        assert status == 200, answer
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
    finally:
        first.kill()
        out, _ = first.communicate(timeout=10)
    assert "[FIRING]" not in out, "the kill must land before the triage finished"
    assert _pending_rows(tmp_path) == [(1, "pending")]

    second = start_subprocess(tmp_path, port, {"TRIAGE_BOT_WEBHOOK_TOKEN": TOKEN})
    try:
        wait_ready(url)
        deadline = time.monotonic() + 20
        triages: list[dict[str, object]] = []
        while time.monotonic() < deadline and not triages:
            with urllib.request.urlopen(f"{url}/api/triages") as response:
                triages = json.load(response)["triages"]
            time.sleep(0.1)
        assert [t["alertname"] for t in triages] == ["HighErrorRate"]
        # The same body again is still recognised as a duplicate after the restart.
        status, answer = post(f"{url}/alertmanager", body, AUTH)
        assert (status, json.loads(answer)) == (200, {"status": "duplicate"})
    finally:
        second.send_signal(signal.SIGTERM)
        out, err = second.communicate(timeout=30)
    assert "[FIRING] critical HighErrorRate" in out
    assert _pending_rows(tmp_path) == [(1, "done")]
    assert TOKEN not in out + err, "the bearer token never reaches the logs"


def test_sigterm_drains_the_triage_in_flight(tmp_path: Path, silent_prometheus: str) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {
        "TRIAGE_BOT_WEBHOOK_TOKEN": TOKEN,
        "TRIAGE_BOT_PROMETHEUS_URL": silent_prometheus,
        "TRIAGE_BOT_COLLECTORS__PROMETHEUS_TIMEOUT_SECONDS": "1.5",
        "TRIAGE_BOT_LOG_FORMAT": "json",
    }
    proc = start_subprocess(tmp_path, port, env)
    try:
        wait_ready(url)
        body = (FIXTURES / "high-error-rate-firing.json").read_bytes()
        assert post(f"{url}/alertmanager", body, AUTH)[0] == 200
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    assert "[FIRING] critical HighErrorRate" in out, err
    assert "timeout after 1.5 s" in out
    assert _pending_rows(tmp_path) == [(1, "done")]
    for line in err.splitlines():
        assert isinstance(json.loads(line), dict), "JSON logs: one object per line"


def test_unreadable_stored_triage_does_not_block_its_group(tmp_path: Path) -> None:
    # A triage row from another version (here: garbage) must not stop the group for good.
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    body = (FIXTURES / "high-error-rate-firing.json").read_bytes()
    group_key = json.loads(body)["groupKey"]
    first = start_subprocess(tmp_path, port, {"TRIAGE_BOT_WEBHOOK_TOKEN": TOKEN})
    try:
        wait_ready(url)
        assert post(f"{url}/alertmanager", body, AUTH)[0] == 200
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and _pending_rows(tmp_path) != [(1, "done")]:
            time.sleep(0.05)
    finally:
        first.send_signal(signal.SIGTERM)
        first.communicate(timeout=30)
    with sqlite3.connect(tmp_path / "triage-bot.sqlite3") as db:
        garbage = json.dumps({"group_key": 1})
        db.execute("UPDATE triages SET report = ? WHERE group_key = ?", (garbage, group_key))

    second = start_subprocess(tmp_path, port, {"TRIAGE_BOT_WEBHOOK_TOKEN": TOKEN})
    try:
        wait_ready(url)
        resolved = (FIXTURES / "high-error-rate-resolved.json").read_bytes()
        assert post(f"{url}/alertmanager", resolved, AUTH)[0] == 200
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and _pending_rows(tmp_path)[-1] != (2, "done"):
            time.sleep(0.05)
    finally:
        second.send_signal(signal.SIGTERM)
        out, err = second.communicate(timeout=30)
    assert "[RESOLVED] critical HighErrorRate" in out
    assert "stored triage unreadable" in err
    assert _pending_rows(tmp_path) == [(1, "done"), (2, "done")]
