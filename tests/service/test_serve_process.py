"""`triage-bot serve` as a process: what it says at start, while it works and at the end."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

from tests.service.commands import BASE_ENV
from tests.service.live import free_port, wait_ready

FIXTURES = Path(__file__).parent.parent / "fixtures"


def _get(url: str) -> tuple[int, Any]:
    with urllib.request.urlopen(url, timeout=5) as response:
        return response.status, json.loads(response.read())


def _post(url: str, body: bytes) -> int:
    request = urllib.request.Request(
        url, data=body, headers={"Content-Type": "application/json"}, method="POST"
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        return int(response.status)


def _wait_for_triage(url: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _get(f"{url}/api/triages")[1]["triages"]:
            return
        time.sleep(0.05)
    raise TimeoutError("no triage saved")


def test_json_log_start_work_and_shutdown(tmp_path: Path) -> None:
    port = free_port()
    env = {
        **os.environ,
        **BASE_ENV,
        "TRIAGE_BOT_LOG_FORMAT": "json",
        "TRIAGE_BOT_LOG_LEVEL": "info",  # any case
        "TRIAGE_BOT_PROMETHEUS_URL": "http://127.0.0.1:1",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "serve", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(url)
        body = (FIXTURES / "high-error-rate-firing.json").read_bytes()
        assert _post(f"{url}/alertmanager", body) == 200
        _wait_for_triage(url)
        # The audit log is served from the store without Slack: empty, not "not open yet".
        assert _get(f"{url}/api/audit") == (200, {"entries": []})
    finally:
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    log = [json.loads(line) for line in err.splitlines()]  # every line one JSON object
    messages = [record["message"] for record in log]
    assert messages[0] == "starting"
    for line in (
        "prometheus: http://127.0.0.1:1",
        "slack: off (triages printed to stdout)",
        "drift_models: no models",
        "api_token: not set (api.public: /api/* open to anyone)",
        "cluster: off (no KUBECONFIG, not in a cluster)",
        "log: json INFO",
    ):
        assert line in messages, messages
    assert "listening" in messages and "triage finished" in messages
    assert messages[-2:] == ["shutting down", "stopped"]
    assert log[-2]["signal"] == "SIGTERM"
    triages = [json.loads(line) for line in out.splitlines()]  # one JSON line per triage
    assert len(triages) == 1
    triage = triages[0]
    assert triage["message"] == "triage" and triage["status"] == "firing"
    assert triage["description"] == "30% of requests fail"
    assert triage["graph"].startswith("http://vm:9090/graph?g0.expr=")
    assert "HighErrorRate" in triage["text"]


def test_text_console_shows_the_alerts_description_and_graph(tmp_path: Path) -> None:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "serve", "--port", str(port)],
        cwd=tmp_path,
        env={**os.environ, **BASE_ENV},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(url)
        _post(f"{url}/alertmanager", (FIXTURES / "high-error-rate-firing.json").read_bytes())
        _wait_for_triage(url)
    finally:
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    assert "  description: 30% of requests fail\n" in out
    assert "  graph: http://vm:9090/graph?g0.expr=" in out
    assert "shutting down signal='SIGINT'" in err
    assert err.rstrip().endswith("stopped")


def test_serve_runs_on_postgres_as_the_pod_it_is_named_after(
    tmp_path: Path, postgres_url: str
) -> None:
    port = free_port()
    env = {
        **os.environ,
        **BASE_ENV,
        "TRIAGE_BOT_LOG_FORMAT": "json",
        "TRIAGE_BOT_DATABASE_URL": postgres_url,
        "POD_NAME": "triage-bot-7d9f-x2x4q",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "serve", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(url)
        body = (FIXTURES / "high-error-rate-firing.json").read_bytes()
        assert _post(f"{url}/alertmanager", body) == 200
        _wait_for_triage(url)
    finally:
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    messages = [json.loads(line)["message"] for line in err.splitlines()]
    where = postgres_url.split("@", 1)[1]
    assert f"store: postgresql {where} (replica triage-bot-7d9f-x2x4q)" in messages, messages
    assert "triage finished" in messages
    assert len(out.splitlines()) == 1  # the one triage, printed once
