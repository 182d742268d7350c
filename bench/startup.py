"""Start-up weight: time from spawn to the first 200 on /healthz, and idle RSS.

Measures `triage-bot serve` (no cluster, no Slack, no drift model: the embedded default)
beside a bare aiohttp app answering /healthz, started the same way in the same run, the
two alternating so that load on the machine falls on both. Prints medians with ranges
and the ratios. `--before DIR` also measures another source tree of the bot (for example
`git archive main | tar -x -C DIR`) in the same rotation.

    .venv/bin/python bench/startup.py [--runs 7] [--before DIR]
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
IDLE_SECONDS = 2.0  # after the first answer, before reading RSS: start-up work is over

BARE_APP = """
import sys
from aiohttp import web

async def healthz(_):
    return web.json_response({"status": "ok"})

app = web.Application()
app.router.add_get("/healthz", healthz)
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None)
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def _measure(command: list[str], cwd: Path, env: dict[str, str], port: int) -> tuple[float, float]:
    """Seconds from spawn to the first 200 on /healthz, then RSS in MiB when idle."""
    began = time.perf_counter()
    process = subprocess.Popen(
        command, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"{command} exited with {process.returncode}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as r:
                    if r.status == 200:
                        break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.005)
        seconds = time.perf_counter() - began
        time.sleep(IDLE_SECONDS)
        return seconds, _rss_mib(process.pid)
    finally:
        process.terminate()
        process.wait(timeout=30)


def _summary(values: list[float]) -> str:
    return f"{statistics.median(values):.3g} (range {min(values):.3g}-{max(values):.3g})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--before", type=Path, help="another source tree of the bot to measure")
    args = parser.parse_args()
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("TRIAGE_BOT_", "SLACK_")) and k not in ("KUBECONFIG",)
    }
    env.pop("KUBERNETES_SERVICE_HOST", None)
    env["PYTHONPATH"] = str(ROOT)
    env["TRIAGE_BOT_API__PUBLIC"] = "true"  # loopback only; the code before ignores it
    names = ["bare", "bot", *(["before"] if args.before else [])]
    results: dict[str, tuple[list[float], list[float]]] = {name: ([], []) for name in names}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        (work / "bare.py").write_text(BARE_APP)
        for run in range(args.runs):
            for name in names:
                port = _free_port()
                if name == "bare":
                    command = [sys.executable, str(work / "bare.py"), str(port)]
                else:
                    command = [sys.executable, "-m", "bot", "serve", "--port", str(port)]
                run_env = {**env, "TRIAGE_BOT_DATA_DIR": str(work / f"data-{name}-{run}")}
                if name == "before":  # PYTHONPATH comes before the editable install
                    run_env["PYTHONPATH"] = str(args.before.resolve())
                seconds, rss = _measure(command, work, run_env, port)
                results[name][0].append(seconds)
                results[name][1].append(rss)
    bare_s, bare_rss = results["bare"]
    bot_s, bot_rss = results["bot"]
    print(f"runs: {args.runs} of each, alternating; python {sys.version.split()[0]}")
    print(f"bare aiohttp app: start {_summary(bare_s)} s, idle RSS {_summary(bare_rss)} MiB")
    print(f"triage-bot serve: start {_summary(bot_s)} s, idle RSS {_summary(bot_rss)} MiB")
    ratio_s = statistics.median(bot_s) / statistics.median(bare_s)
    ratio_rss = statistics.median(bot_rss) / statistics.median(bare_rss)
    print(f"ratio triage-bot / bare: start {ratio_s:.2f}x, idle RSS {ratio_rss:.2f}x")
    if args.before:
        old_s, old_rss = results["before"]
        print(f"before (--before):  start {_summary(old_s)} s, idle RSS {_summary(old_rss)} MiB")
        old_ratio_s = statistics.median(old_s) / statistics.median(bare_s)
        old_ratio_rss = statistics.median(old_rss) / statistics.median(bare_rss)
        print(f"ratio before / bare: start {old_ratio_s:.2f}x, idle RSS {old_ratio_rss:.2f}x")
    goal_s, goal_rss = statistics.median(bot_s) < 1.0, statistics.median(bot_rss) < 100
    print(f"goals: start < 1 s {'met' if goal_s else 'NOT met'},", end=" ")
    print(f"idle RSS < 100 MB {'met' if goal_rss else 'NOT met'}")


if __name__ == "__main__":
    main()
