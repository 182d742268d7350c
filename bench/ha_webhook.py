"""Webhook-level figures of bench/ha.py: the real service (`python -m bot serve`
subprocesses, tests/ha/replicas.py) on PostgreSQL with one and two replicas, beside one
replica on SQLite, each posting to the fake Slack (tests/fakes/fake_slack.py).

The workload is the same for every set-up: an Alertmanager HA pair, so every notification
is sent twice, both copies at once (with two replicas each copy to a different one, as a
Service spreads them; with one replica both to it). Per set-up, on fresh replicas:

- time to Slack: `--latency-groups` new groups opened at 10 a second; for each, the time
  from its first copy leaving the client to the group's `chat.postMessage` arriving at the
  fake Slack (receive, store, triage, render, the outbox, the sender);
- accepted webhooks/s: `--senders` closed-loop senders for `--seconds`, each sending new
  groups; every 200 counts (both copies of a notification).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import statistics
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from tests.fakes.fake_slack import FakeSlack, running_fake_slack
from tests.ha.replicas import TOKEN, Replica, replica_environment

FIXTURE = Path(__file__).resolve().parent.parent / "tests" / "fixtures"
_GROUP = re.compile(r"bench-(\d+)")
# Production durability (the tests' replicas run SQLite with synchronous=NORMAL), quiet logs.
QUIET_AND_DURABLE = {"TRIAGE_BOT_SQLITE_SYNCHRONOUS": "full", "TRIAGE_BOT_LOG_LEVEL": "WARNING"}
# The defaults, not the chaos test's short lease and quick poll.
PRODUCTION_LEASES = {
    "TRIAGE_BOT_DATABASE__LEASE_SECONDS": "60",
    "TRIAGE_BOT_DATABASE__POLL_SECONDS": "1",
}


@dataclass
class TimedSlack(FakeSlack):
    """The fake Slack, noting when each group's first message arrived."""

    posted_at: dict[int, float] = field(default_factory=dict)

    def _m_chat_postMessage(self, args: dict[str, Any]) -> dict[str, Any]:
        found = _GROUP.search(str(args.get("text", "")))
        if found and not args.get("thread_ts"):
            self.posted_at.setdefault(int(found.group(1)), time.perf_counter())
        return super()._m_chat_postMessage(args)


@contextlib.asynccontextmanager
async def timed_slack() -> AsyncIterator[TimedSlack]:
    async with running_fake_slack(TimedSlack()) as fake:
        yield fake


def body(group: int) -> bytes:
    """A firing notification opening group `group` (its model named `bench-<group>`)."""
    data: dict[str, Any] = json.loads((FIXTURE / "high-error-rate-firing.json").read_text())
    model = f"bench-{group}"
    data["alerts"][0]["labels"].update(inferenceservice=model, model=model)
    data["alerts"][0]["fingerprint"] = f"{group:016x}"
    data["commonLabels"].update(inferenceservice=model, model=model)
    data["groupLabels"]["inferenceservice"] = model
    data["groupKey"] = f'{{}}:{{alertname="HighErrorRate", inferenceservice="{model}"}}'
    return json.dumps(data).encode()


@dataclass
class Result:
    accepted_per_second: float
    to_slack: list[float]  # seconds, one per group


async def _post(session: aiohttp.ClientSession, replica: Replica, data: bytes) -> bool:
    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
    async with session.post(f"{replica.url}/alertmanager", data=data, headers=headers) as r:
        await r.read()
        return r.status == 200


async def _pair(session: aiohttp.ClientSession, replicas: list[Replica], data: bytes) -> int:
    """Both HA peers' copies at once; how many were accepted."""
    targets = replicas if len(replicas) == 2 else replicas * 2
    return sum(await asyncio.gather(*(_post(session, r, data) for r in targets)))


async def _time_to_slack(
    session: aiohttp.ClientSession, replicas: list[Replica], slack: TimedSlack, groups: int
) -> list[float]:
    sent: dict[int, float] = {}
    tasks = []
    for g in range(groups):
        sent[g] = time.perf_counter()
        tasks.append(asyncio.create_task(_pair(session, replicas, body(g))))
        await asyncio.sleep(0.1)
    await asyncio.gather(*tasks)
    deadline = time.perf_counter() + 60
    while len(slack.posted_at) < groups and time.perf_counter() < deadline:
        await asyncio.sleep(0.005)
    assert len(slack.posted_at) >= groups, f"{len(slack.posted_at)} of {groups} posted"
    return [slack.posted_at[g] - sent[g] for g in range(groups)]


async def _throughput(
    session: aiohttp.ClientSession, replicas: list[Replica], senders: int, seconds: float
) -> float:
    counter = iter(range(1_000_000, 10**9))
    accepted = 0
    deadline = time.perf_counter() + seconds

    async def sender() -> None:
        nonlocal accepted
        while time.perf_counter() < deadline:
            got = await _pair(session, replicas, body(next(counter)))
            accepted += got

    began = time.perf_counter()
    await asyncio.gather(*(sender() for _ in range(senders)))
    return accepted / (time.perf_counter() - began)


async def measure(
    database_url: str | None, replicas: int, *, senders: int, seconds: float, groups: int
) -> Result:
    """One set-up on fresh replicas: time to Slack first (no backlog), then throughput."""
    with tempfile.TemporaryDirectory() as tmp:
        async with timed_slack() as slack, aiohttp.ClientSession() as session:
            running = []
            for i in range(replicas):
                env = replica_environment(
                    name=f"r{i}",
                    data_dir=Path(tmp) / f"r{i}" / "data",
                    slack_url=slack.base_url,
                    database_url=database_url,
                    extra=QUIET_AND_DURABLE | (PRODUCTION_LEASES if database_url else {}),
                )
                running.append(Replica(f"r{i}", Path(tmp) / f"r{i}", env))
            try:
                await asyncio.gather(*(r.start(session) for r in running))
                to_slack = await _time_to_slack(session, running, slack, groups)
                rate = await _throughput(session, running, senders, seconds)
            finally:
                await asyncio.gather(*(r.stop() for r in running))
    return Result(rate, to_slack)


def summary(values: list[float], unit: str = "", scale: float = 1.0) -> str:
    """Median and range."""
    v = [x * scale for x in values]
    return f"{statistics.median(v):8,.1f}{unit}  (range {min(v):,.1f}-{max(v):,.1f})"
