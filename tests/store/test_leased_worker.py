"""The worker on leases (triage.leased, triage.processing) against the real PostgreSQL.

A triage that outlasts its lease keeps it by renewing, so no other replica takes the
group meanwhile; a replica whose lease ran out and was taken over (a stall: a long GC
pause, a partition) neither tells people nor records its late result.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import pytest

from bot.metrics import BotMetrics
from bot.model.alert import Notification
from bot.model.change import Change
from bot.model.collector import TriageContext
from bot.model.evidence import Evidence, Verdict
from bot.model.report import TriageReport
from bot.model.results import AnyEvidence
from bot.model.target import Target
from bot.store.postgres.leases import Leases
from bot.store.postgres.store import PostgresStore
from bot.triage.leased import LeaseRecord
from bot.triage.pipeline import Pipeline
from bot.triage.processing import Triager
from bot.triage.queue import TriageQueue
from bot.triage.worker import TriageWorker

BODY = (Path(__file__).parent.parent / "fixtures" / "high-error-rate-firing.json").read_text()
GROUP = json.loads(BODY)["groupKey"]


def decide(target: Target, evidence: Sequence[Evidence], notification: Notification) -> Verdict:
    return Verdict(category="unknown", confidence=0.0, summary="s", reasons=(), action="a")


class Told:
    """A notifier that remembers what it was asked to tell."""

    def __init__(self) -> None:
        self.reports: list[TriageReport] = []

    async def notify(self, report: TriageReport, change: Change) -> None:
        self.reports.append(report)

    async def close(self) -> None:
        return None


class Slow:
    """A collector that takes `seconds` (a triage longer than the lease)."""

    name = "slow"
    timeout = 30.0

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.entered = asyncio.Event()

    async def collect(self, context: TriageContext) -> AnyEvidence | None:
        self.entered.set()
        await asyncio.sleep(self.seconds)
        return None


@pytest.fixture
async def store(postgres_url: str) -> AsyncIterator[PostgresStore]:
    opened = PostgresStore(postgres_url)
    await opened.open()
    yield opened
    await opened.close()


async def _state(store: PostgresStore, ident: int) -> str:
    return str(await store.pool.fetchval("SELECT state FROM notifications WHERE id = $1", ident))


async def test_a_triage_longer_than_its_lease_renews_it_and_is_recorded(
    store: PostgresStore,
) -> None:
    ident = await store.add_notification(GROUP, "firing", "k1", BODY)
    slow, told = Slow(1.5), Told()
    worker = TriageWorker(
        store,
        TriageQueue(1 << 20),
        Pipeline([slow], decide),
        told,
        BotMetrics(),
        concurrency=1,
        leases=Leases(store.pool, "replica-a", lease_seconds=0.6),
        poll_seconds=0.05,
    )
    await worker.start()
    try:
        async with asyncio.timeout(5):
            await slow.entered.wait()
        other = Leases(store.pool, "replica-b", lease_seconds=0.6)
        # Past two lease lengths into the triage, the group is still not free to take.
        async with asyncio.timeout(5):
            while await _state(store, ident) == "pending":
                assert await other.claim() is None
                await asyncio.sleep(0.1)
    finally:
        await worker.stop(5)
    assert await _state(store, ident) == "done"
    assert [r.group_key for r in told.reports] == [GROUP]
    assert (await store.get_report(GROUP)) is not None


async def test_a_replica_whose_lease_was_taken_over_neither_tells_nor_records(
    store: PostgresStore,
) -> None:
    ident = await store.add_notification(GROUP, "firing", "k1", BODY)
    stalled = Leases(store.pool, "replica-a", lease_seconds=0.3)
    claim = await stalled.claim()
    assert claim is not None and [n.id for n in claim.notifications] == [ident]
    taker = Leases(store.pool, "replica-b", lease_seconds=30)
    async with asyncio.timeout(5):  # replica-a stalls past its lease; replica-b takes over
        while (taken := await taker.claim()) is None:
            await asyncio.sleep(0.05)
    assert taken.group_key == GROUP

    told = Told()
    triager = Triager(store, Pipeline([], decide), told, BotMetrics(), cache_reports=False)
    record = LeaseRecord(stalled, GROUP, asyncio.Event())
    await triager.handle(ident, GROUP, claim.notifications[0].body, record)
    assert told.reports == [], "a replica without the lease tells nobody"
    assert await _state(store, ident) == "pending"
    assert await store.get_report(GROUP) is None
    assert not await stalled.finish(GROUP, ident)  # and the lease stays replica-b's
    assert await taker.renew(GROUP)


def overflowing(
    target: Target, evidence: Sequence[Evidence], notification: Notification
) -> Verdict:
    raise OverflowError("date value out of range")  # as a startsAt in year 0001 once did


async def test_a_triage_that_keeps_failing_is_given_up_under_the_lease(
    store: PostgresStore,
) -> None:
    ident = await store.add_notification(GROUP, "firing", "k1", BODY)
    told = Told()
    worker = TriageWorker(
        store,
        TriageQueue(1 << 20),
        Pipeline([], overflowing),
        told,
        BotMetrics(),
        concurrency=1,
        max_attempts=3,
        leases=Leases(store.pool, "replica-a", lease_seconds=5),
        poll_seconds=0.05,
    )
    await worker.start()
    try:
        async with asyncio.timeout(5):
            while await _state(store, ident) == "pending":
                await asyncio.sleep(0.05)
    finally:
        await worker.stop(5)
    row = await store.pool.fetchrow("SELECT state, error FROM notifications WHERE id = $1", ident)
    assert row["state"] == "failed" and "OverflowError" in row["error"]
    assert "3 attempts" in row["error"]
    attempts = await store.pool.fetchval(
        "SELECT attempts FROM triage_attempts WHERE notification_id = $1", ident
    )
    assert attempts == 3
    [report] = told.reports
    assert report.verdict.summary.startswith("could not triage: OverflowError")
    saved = await store.get_report(GROUP)
    assert saved is not None and saved.verdict.summary == report.verdict.summary
