"""The service on PostgreSQL (`database_url`), through its HTTP API, on the real server.

The key paths of the SQLite service tests on the shared store: a webhook triaged and
printed, re-sends collapsed, a resolved notification updating the group's triage, a
restart resuming what was pending, the Slack outbox; two app instances on one database
triaging a notification sent to both once; a notification of a group another replica
holds the lease of left alone until the lease expires.
"""

from __future__ import annotations

import asyncio
import copy
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from aiohttp.test_utils import TestClient

from bot.app import create_app
from bot.model.collector import TriageContext
from bot.model.results import AnyEvidence
from bot.store.postgres.leases import Leases
from tests.fakes.fake_slack import BOT_TOKEN, FakeSlack, running_fake_slack

from .conftest import AUTH, AppFactory, Console, load_fixture, make_settings, triages_when

# Short enough that a test waits little on a poll or a lease, long enough to renew in time.
DATABASE = {"poll_seconds": 0.1, "lease_seconds": 3.0, "sweep_seconds": 0.5}


@pytest.fixture
def on_postgres(service: AppFactory, postgres_url: str) -> AppFactory:
    """The `service` fixture with the store on the test's PostgreSQL database."""

    async def start(**overrides: Any) -> tuple[TestClient[Any, Any], Console]:
        return await service(database_url=postgres_url, database=DATABASE, **overrides)

    return start


Replicas = Callable[..., Awaitable[list[tuple[TestClient[Any, Any], Console]]]]


@pytest.fixture
async def replicas(
    aiohttp_client: Callable[..., Awaitable[TestClient[Any, Any]]],
    tmp_path: Path,
    postgres_url: str,
) -> AsyncIterator[Replicas]:
    """Several app instances on one database, each with its own data dir and name."""

    async def start(count: int, **overrides: Any) -> list[tuple[TestClient[Any, Any], Console]]:
        started = []
        for n in range(count):
            console = Console()
            settings = make_settings(
                tmp_path / f"replica-{n}",
                database_url=postgres_url,
                database=DATABASE,
                replica_name=f"replica-{n}",
                **overrides,
            )
            app = create_app(settings, notifier_stream=console)
            started.append((await aiohttp_client(app), console))
        return started

    yield start


async def _pending(url: str) -> int:
    conn = await asyncpg.connect(url)
    try:
        return int(
            await conn.fetchval("SELECT count(*) FROM notifications WHERE state = 'pending'")
        )
    finally:
        await conn.close()


async def test_a_webhook_is_stored_in_postgres_triaged_and_printed(
    on_postgres: AppFactory, postgres_url: str
) -> None:
    client, console = await on_postgres()
    response = await client.post(
        "/alertmanager", json=load_fixture("high-error-rate-firing.json"), headers=AUTH
    )
    assert response.status == 200
    assert (await response.json())["status"] == "accepted"
    out = await console.wait_for("[FIRING]")
    assert "HighErrorRate on models/wine-quality-model" in out
    [row] = await triages_when(client, lambda rows: len(rows) == 1)
    assert row["status"] == "firing"
    assert await _pending(postgres_url) == 0
    assert (await (await client.get("/readyz")).json()) == {"ready": True}


async def test_resends_collapse_and_resolved_updates_the_same_triage(
    on_postgres: AppFactory,
) -> None:
    client, console = await on_postgres()
    body = load_fixture("high-error-rate-firing.json")
    reordered = copy.deepcopy(body)
    reordered["alerts"].reverse()
    first = await client.post("/alertmanager", json=body, headers=AUTH)
    again = await client.post("/alertmanager", json=reordered, headers=AUTH)
    assert (await first.json())["status"] == "accepted"
    assert (await again.json())["status"] == "duplicate"
    await console.wait_for("[FIRING]")
    resolved = load_fixture("high-error-rate-resolved.json")
    assert (await client.post("/alertmanager", json=resolved, headers=AUTH)).status == 200
    out = await console.wait_for("[RESOLVED]")
    assert "change: resolved" in out
    [row] = await triages_when(client, lambda t: bool(t) and t[0]["status"] == "resolved")
    assert row["notifications"] == 2
    assert out.count("[FIRING]") == 1, "the re-send was not triaged again"


class Gate:
    """A collector that holds every triage until opened (a triage in flight)."""

    name = "gate"
    timeout = 60.0

    def __init__(self) -> None:
        self.entered = asyncio.Event()
        self.opened = asyncio.Event()

    async def collect(self, context: TriageContext) -> AnyEvidence | None:
        self.entered.set()
        await self.opened.wait()
        return None


async def test_a_restart_resumes_what_was_pending(
    aiohttp_client: Callable[..., Awaitable[TestClient[Any, Any]]],
    tmp_path: Path,
    postgres_url: str,
) -> None:
    settings = make_settings(
        tmp_path, database_url=postgres_url, database=DATABASE, shutdown_timeout_seconds=0
    )
    gate = Gate()
    first = await aiohttp_client(create_app(settings, collectors=(gate,)))
    body = load_fixture("high-error-rate-firing.json")
    assert (await first.post("/alertmanager", json=body, headers=AUTH)).status == 200
    async with asyncio.timeout(5):
        await gate.entered.wait()
    await first.close()  # stops mid-triage: the row stays pending, the lease is released
    assert await _pending(postgres_url) == 1

    console = Console()
    second = await aiohttp_client(create_app(settings, notifier_stream=console))
    await console.wait_for("[FIRING]")
    await triages_when(second, lambda rows: len(rows) == 1)
    assert await _pending(postgres_url) == 0


async def test_two_replicas_triage_a_notification_sent_to_both_once(replicas: Replicas) -> None:
    (one, one_out), (two, two_out) = await replicas(2)
    bodies = []
    for n in range(10):
        body = load_fixture("high-error-rate-firing.json")
        body["groupKey"] = f'{{}}:{{alertname="HighErrorRate", group="g{n}"}}'
        body["alerts"][0]["fingerprint"] = f"{n:016x}"
        bodies.append(body)
    # Each notification to both replicas at once, as Alertmanager's HA peers send it.
    answers = await asyncio.gather(
        *(c.post("/alertmanager", json=b, headers=AUTH) for b in bodies for c in (one, two))
    )
    assert all(a.status == 200 for a in answers)
    statuses = sorted([(await a.json())["status"] for a in answers])
    assert statuses == ["accepted"] * 20  # the second copy finds the first's row (same id)
    ids = [(await a.json())["id"] for a in answers]
    assert len(set(ids)) == 10

    async with asyncio.timeout(10):
        while (one_out.getvalue() + two_out.getvalue()).count("[FIRING]") < 10:
            await asyncio.sleep(0.02)
    await triages_when(one, lambda rows: len(rows) == 10)
    printed = one_out.getvalue() + two_out.getvalue()
    for n in range(10):
        assert printed.count(f'group="g{n}"') == 1, f"group g{n} triaged once"


async def test_a_group_leased_by_another_replica_waits_for_the_lease(
    on_postgres: AppFactory, postgres_url: str
) -> None:
    client, console = await on_postgres()
    pool = await asyncpg.create_pool(postgres_url, min_size=1, max_size=2)
    try:
        body = load_fixture("high-error-rate-firing.json")
        other = Leases(pool, "a-replica-that-died", lease_seconds=1.5)
        # The other replica holds the group's lease (it died mid-triage): not ours to take.
        taken_at = time.monotonic()
        await pool.execute(
            "INSERT INTO group_leases (group_key, replica, until)"
            " VALUES ($1, $2, now() + interval '1.5 seconds')",
            body["groupKey"],
            other.replica,
        )
        assert (await client.post("/alertmanager", json=body, headers=AUTH)).status == 200
        out = await console.wait_for("[FIRING]", timeout=5)  # taken over once it expired
        # Woken by its own webhook and polling every 0.1 s, the worker still waited out
        # the other replica's lease.
        assert time.monotonic() - taken_at >= 1.4
        assert out.count("[FIRING]") == 1
    finally:
        await pool.close()


async def test_slack_gets_one_message_per_group_from_the_postgres_service(
    on_postgres: AppFactory,
) -> None:
    async with running_fake_slack(FakeSlack()) as slack:
        client, console = await on_postgres(
            slack_bot_token=BOT_TOKEN, slack_api_url=slack.base_url, slack_channel="C-models"
        )
        firing = load_fixture("high-error-rate-firing.json")
        assert (await client.post("/alertmanager", json=firing, headers=AUTH)).status == 200
        await slack.wait_for("chat.postMessage", timeout=10)
        resolved = load_fixture("high-error-rate-resolved.json")
        assert (await client.post("/alertmanager", json=resolved, headers=AUTH)).status == 200
        updates = await slack.wait_for("chat.update", timeout=10)
        [message] = slack.channel_messages("C-models")
        assert updates[-1].args["ts"] == message.ts
        assert console.getvalue() == ""


async def test_the_service_sweeps_expired_leases(
    on_postgres: AppFactory, postgres_url: str
) -> None:
    client, _ = await on_postgres()
    conn = await asyncpg.connect(postgres_url)
    try:
        await conn.execute(
            "INSERT INTO group_leases (group_key, replica, until) VALUES"
            " ('expired', 'gone', now() - interval '1 minute'),"
            " ('live', 'elsewhere', now() + interval '1 hour')"
        )
        async with asyncio.timeout(5):  # the sweeper runs every 0.5 s here
            while await conn.fetchval(
                "SELECT count(*) FROM group_leases WHERE group_key = 'expired'"
            ):
                await asyncio.sleep(0.05)
        assert await conn.fetchval("SELECT replica FROM group_leases WHERE group_key = 'live'") == (
            "elsewhere"
        )
    finally:
        await conn.close()
    assert (await client.get("/readyz")).status == 200


async def test_two_replicas_with_slack_post_one_message_per_group_and_resolve_it_in_place(
    replicas: Replicas,
) -> None:
    async with running_fake_slack(FakeSlack()) as slack:
        (one, _), (two, _) = await replicas(
            2, slack_bot_token=BOT_TOKEN, slack_api_url=slack.base_url, slack_channel="C1"
        )
        groups = []
        for n in range(6):
            body = load_fixture("high-error-rate-firing.json")
            body["groupKey"] = f'{{}}:{{alertname="HighErrorRate", group="s{n}"}}'
            body["alerts"][0]["fingerprint"] = f"{n + 100:016x}"
            groups.append(body)
        sent = [c.post("/alertmanager", json=b, headers=AUTH) for b in groups for c in (one, two)]
        assert all(a.status == 200 for a in await asyncio.gather(*sent))
        await slack.wait_for("chat.postMessage", count=6, timeout=20)
        for body in groups:
            body["status"] = "resolved"
            body["alerts"][0]["status"] = "resolved"
            body["alerts"][0]["endsAt"] = "2026-12-02T07:30:00Z"
        sent = [c.post("/alertmanager", json=b, headers=AUTH) for b in groups for c in (two, one)]
        assert all(a.status == 200 for a in await asyncio.gather(*sent))
        rows = await triages_when(
            one, lambda t: len(t) == 6 and all(r["status"] == "resolved" for r in t), timeout=20
        )
        assert all(r["notifications"] == 2 for r in rows), "each copy triaged once"
        async with asyncio.timeout(20):  # every group's message turned to its final state
            while len(slack.calls("chat.update")) < 6:
                await asyncio.sleep(0.05)
        messages = slack.channel_messages("C1")
        assert len(messages) == 6, "one top-level message per group across both replicas"
        texts = sorted(m.text for m in messages)
        assert all("resolved" in t.lower() or "RESOLVED" in t for t in texts), texts
