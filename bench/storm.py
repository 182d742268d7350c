"""Benchmark an alert storm against a fake Slack that enforces Slack's rate limits.

10,000 alerts in 50 groups: each group's notification grows to 200 alerts in 4 steps,
and every notification is sent twice (an Alertmanager HA pair). The bot runs as a real
subprocess (`python -m bot serve`) with Slack pointed at the fake from
`tests/fakes/fake_slack.py`, which answers 429 + Retry-After past one message a second
per channel (burst 3) and 50 `chat.update` a minute (burst 5), as Slack documents.

Measured per round: 429s received; seconds from the last webhook until every triage is
stored (`/api/triages` shows 200 alerts for each group); seconds until every group's final
state is visible in Slack (in the storm digest, and in the group's own message); Slack
calls by method; the bot's peak RSS (VmHWM). The baseline, measured in the same run from
the same limits, is the least time Slack's per-channel limit allows for the posts made
(one per group plus the digest): the ratio says how close to that floor delivery came.
Goals (issue 12): 0 x 429, own messages final within 60 s of the last webhook, triages
stored within 5 s.

    .venv/bin/python bench/storm.py [--rounds 1] [--groups 50] [--alerts 200]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.fakes.fake_slack import BOT_TOKEN, FakeSlack, running_fake_slack  # noqa: E402
from tests.fakes.slack_rules import RateLimits  # noqa: E402

TOKEN = "storm-bench-webhook-token"  # both tokens need 16 characters or more
CHANNEL = "CSTORM"
STEPS = 4
LIMIT_DEADLINE = 180.0


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _body(group: int, alerts: int) -> bytes:
    name = f"StormAlert{group:02d}"
    start = datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
    labels = {"alertname": name, "namespace": "models", "severity": "critical"}
    body = {
        "version": "4",
        "groupKey": f'{{}}:{{alertname="{name}"}}',
        "status": "firing",
        "receiver": "triage-bot",
        "groupLabels": {"alertname": name},
        "commonLabels": labels,
        "commonAnnotations": {"summary": f"{name} fires"},
        "externalURL": "http://alertmanager:9093",
        "truncatedAlerts": 0,
        "alerts": [
            {
                "status": "firing",
                "labels": {**labels, "pod": f"pod-{i}"},
                "annotations": {"summary": f"pod-{i} errors"},
                "startsAt": start,
                "endsAt": "0001-01-01T00:00:00Z",
                "generatorURL": "http://prometheus:9090/graph",
                "fingerprint": f"{group:04x}{i:012x}",
            }
            for i in range(alerts)
        ],
    }
    return json.dumps(body).encode()


def _start(port: int, data_dir: str, slack: FakeSlack) -> subprocess.Popen[bytes]:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("TRIAGE_BOT_", "SLACK_"))},
        "TRIAGE_BOT_WEBHOOK_TOKEN": TOKEN,
        "TRIAGE_BOT_API_TOKEN": TOKEN,  # /api/triages tells when every triage is stored
        "TRIAGE_BOT_DATA_DIR": data_dir,
        "TRIAGE_BOT_LOG_LEVEL": "WARNING",
        "TRIAGE_BOT_SQLITE_SYNCHRONOUS": "normal",
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "TRIAGE_BOT_SLACK_API_URL": slack.base_url,
        "TRIAGE_BOT_SLACK_CHANNEL": CHANNEL,
    }
    cmd = [sys.executable, "-m", "bot", "serve", "--port", str(port)]
    return subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def _wait_ready(session: aiohttp.ClientSession, url: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            async with session.get(f"{url}/readyz") as resp:
                if resp.status == 200:
                    return
        except aiohttp.ClientError:
            pass
        await asyncio.sleep(0.1)
    raise RuntimeError("the bot did not become ready")


async def _send_storm(session: aiohttp.ClientSession, url: str, groups: int, alerts: int) -> float:
    """Every step of every group, twice (HA pair); the time the last one was answered."""
    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
    for step in range(1, STEPS + 1):
        count = alerts * step // STEPS
        bodies = [_body(g, count) for g in range(groups)]

        async def post(body: bytes) -> None:
            async with session.post(f"{url}/alertmanager", data=body, headers=headers) as resp:
                if resp.status >= 300:
                    raise RuntimeError(f"webhook answered {resp.status}")

        await asyncio.gather(*(post(b) for b in bodies + bodies))
    return time.monotonic()


async def _stored(session: aiohttp.ClientSession, url: str, groups: int, alerts: int) -> float:
    headers = {"Authorization": f"Bearer {TOKEN}"}
    while True:
        async with session.get(f"{url}/api/triages?limit=500", headers=headers) as resp:
            rows = (await resp.json())["triages"]
        if sum(1 for r in rows if r["alert_count"] == alerts) >= groups:
            return time.monotonic()
        await asyncio.sleep(0.05)


def _final_counts(slack: FakeSlack, alerts: int) -> tuple[set[str], set[str]]:
    """Groups whose final state shows in their own message, and in the digest."""
    own: set[str] = set()
    digest: set[str] = set()
    final = re.compile(rf"(StormAlert\d\d)\*? · [^·]* · {alerts} alerts")
    for m in slack.channel_messages(CHANNEL):
        if "alert storm" in m.text:
            digest |= set(final.findall(json.dumps(m.blocks, ensure_ascii=False)))
        elif f'"{alerts} alert(s)"' in json.dumps(m.blocks):
            found = re.search(r"StormAlert\d\d", m.text)
            if found:
                own.add(found.group(0))
    return own, digest


async def _round(groups: int, alerts: int) -> dict[str, float]:
    async with running_fake_slack(FakeSlack()) as slack, aiohttp.ClientSession() as session:
        slack.limits = RateLimits()
        port = _free_port()
        url = f"http://127.0.0.1:{port}"
        with tempfile.TemporaryDirectory() as data_dir:
            proc = _start(port, data_dir, slack)
            try:
                await _wait_ready(session, url)
                began = time.monotonic()
                last = await _send_storm(session, url, groups, alerts)
                stored = await _stored(session, url, groups, alerts)
                digest_at = own_at = float("nan")
                while time.monotonic() - last < LIMIT_DEADLINE:
                    own, digest = _final_counts(slack, alerts)
                    now = time.monotonic()
                    if digest_at != digest_at and len(digest | own) >= groups:
                        digest_at = now
                    if len(own) >= groups:
                        own_at = now
                        break
                    await asyncio.sleep(0.1)
                rss = _peak_rss_mb(proc.pid)
            finally:
                proc.terminate()
                proc.wait(timeout=30)
        posts = len([c for c in slack.calls("chat.postMessage") if "thread_ts" not in c.args])
        floor = max(0.0, (posts - slack.limits.post_burst) / slack.limits.post_per_second)
        return {
            "webhooks_s": last - began,
            "stored_s": stored - last,
            "visible_s": digest_at - last,
            "own_final_s": own_at - last,
            "own_final_from_first_s": own_at - began,
            "floor_s": floor,
            "ratio": (own_at - began) / floor if floor else float("nan"),
            "429": float(len(slack.rate_limited)),
            "posts": float(posts),
            "replies": float(len(slack.calls("chat.postMessage")) - posts),
            "updates": float(len(slack.calls("chat.update"))),
            "rss_mb": rss,
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--groups", type=int, default=50)
    parser.add_argument("--alerts", type=int, default=200)
    args = parser.parse_args()
    results = [asyncio.run(_round(args.groups, args.alerts)) for _ in range(args.rounds)]
    print(f"storm: {args.groups} groups x {args.alerts} alerts, {STEPS} steps, HA re-sends")
    for key in results[0]:
        values = [r[key] for r in results]
        med = statistics.median(values)
        print(f"  {key:24s} median {med:9.2f}  range {min(values):.2f}-{max(values):.2f}")
    worst = {k: max(r[k] for r in results) for k in ("429", "own_final_s", "stored_s")}
    ok = worst["429"] == 0 and worst["own_final_s"] <= 60 and worst["stored_s"] <= 5
    print("goals met" if ok else f"goals NOT met: {worst}")


if __name__ == "__main__":
    main()
