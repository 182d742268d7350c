"""A light start: without a cluster, Slack, charts or a drift model, the heavy libraries
stay unimported and the idle service stays under 100 MB (bench/startup.py measures it)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from tests.service.commands import BASE_ENV
from tests.service.live import free_port, wait_ready

HEAVY = ("matplotlib", "PIL", "scipy", "numpy", "kubernetes_asyncio", "slack_sdk")


def test_the_service_modules_import_none_of_the_heavy_libraries(tmp_path: Path) -> None:
    probe = (
        "import sys, bot.cli, bot.serve, bot.app, bot.preflight\n"
        f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=tmp_path,
        env={**os.environ, **BASE_ENV},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def _rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def test_idle_service_stays_under_100_mb(tmp_path: Path) -> None:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "serve", "--port", str(port)],
        cwd=tmp_path,
        env={**os.environ, **BASE_ENV},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_ready(f"http://127.0.0.1:{port}")
        rss = _rss_mib(process.pid)
    finally:
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    assert rss < 100, f"{rss:.0f} MiB"
