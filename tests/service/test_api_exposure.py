"""Secure by default: `triage-bot serve` refuses to start with an open API unless told.

Through the real process (`python -m bot serve`) and HTTP, as an operator meets it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from bot.auth import api_exposure_problem
from tests.service.live import free_port, wait_ready

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "a-long-random-api-token-0123456789"


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TRIAGE_BOT_", "SLACK_"))}
    env.pop("KUBECONFIG", None)
    env.pop("KUBERNETES_SERVICE_HOST", None)
    env.update(
        TRIAGE_BOT_DATA_DIR=str(tmp_path),
        TRIAGE_BOT_WEBHOOK_TOKEN="webhook-token",
        MPLCONFIGDIR=str(tmp_path / "mpl"),
        **extra,
    )
    return env


def _serve(port: int, env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "bot", "serve", "--host", "127.0.0.1", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


@contextmanager
def _running(tmp_path: Path, **extra: str) -> Iterator[str]:
    port = free_port()
    process = _serve(port, _env(tmp_path, **extra))
    try:
        wait_ready(f"http://127.0.0.1:{port}")
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.communicate(timeout=30)


def _status(url: str, token: str | None = None, data: bytes | None = None) -> int:
    request = urllib.request.Request(url, data=data)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return exc.code


def test_serve_refuses_to_start_without_an_api_token(tmp_path: Path) -> None:
    process = _serve(free_port(), _env(tmp_path))
    out, err = process.communicate(timeout=60)
    assert process.returncode == 2
    # The start log (what it would run with), then one error line, the last.
    lines = err.decode().strip().splitlines()
    errors = [line for line in lines if " error " in line]
    assert errors == lines[-1:], lines
    assert "error bot: no API token: set TRIAGE_BOT_API_TOKEN" in errors[0]
    assert "api.public: true" in errors[0]


def test_check_config_runs_the_same_check(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "bot", "check-config"]
    closed = subprocess.run(command, cwd=ROOT, env=_env(tmp_path), capture_output=True, timeout=60)
    assert closed.returncode == 2 and b"no API token" in closed.stderr
    public = _env(tmp_path, TRIAGE_BOT_API__PUBLIC="true")
    opened = subprocess.run(command, cwd=ROOT, env=public, capture_output=True, timeout=60)
    assert opened.returncode == 0, opened.stderr
    assert b"api_token: not set (api.public: /api/* open to anyone)" in opened.stdout


@pytest.mark.parametrize(
    ("token", "public", "problem"),
    [
        (None, False, "no API token"),
        (None, True, None),
        (TOKEN, False, None),
        (TOKEN, True, None),
        ("short", False, "shorter than 16 characters"),
    ],
)
def test_exposure_rule(token: str | None, public: bool, problem: str | None) -> None:
    found = api_exposure_problem(token, public)
    assert (found is None) if problem is None else (found is not None and problem in found)


def test_a_token_closes_the_api_but_not_the_payload_logger(tmp_path: Path) -> None:
    with _running(tmp_path, TRIAGE_BOT_API_TOKEN=TOKEN) as url:
        for path in ("/api/triages", "/api/audit", "/api/drift"):
            assert _status(url + path) == 401, path
            assert _status(url + path, "wrong-token-wrong-token") == 401, path
        assert _status(url + "/api/triages", TOKEN) == 200
        assert _status(url + "/api/drift/models/wine/evaluate", data=b"{}") == 401
        assert _status(url + "/ingest/feedback", data=b"{}") == 401
        # KServe's payload logger cannot authenticate: the NetworkPolicy is the guard here,
        # so a bad event is judged on its content (4xx naming the problem), not refused 401.
        assert _status(url + "/ingest/kserve", data=b"{}") not in (401, 403)
        assert _status(url + "/healthz") == 200 and _status(url + "/metrics") == 200


def test_public_api_answers_without_a_token_when_set_explicitly(tmp_path: Path) -> None:
    with _running(tmp_path, TRIAGE_BOT_API__PUBLIC="true") as url:
        assert _status(url + "/api/triages") == 200
        # past authentication: the audit log is served from the store, Slack or not
        assert _status(url + "/api/audit") == 200
        assert _status(url + "/api/drift") == 200
