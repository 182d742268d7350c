"""Chaos on the real service: three replicas of `python -m bot serve` on one PostgreSQL, the
fake Slack and the fake Kubernetes API (wire-level), Alertmanager's HA peers in front.

50 alert groups; every notification (firing, then an update with a second alert, then
resolved for half of them) goes to two replicas at once in random order, each peer
retrying until it gets a 200. One replica is SIGKILLed mid-storm (its leases and claims
die with it) and started again; PostgreSQL is restarted once, mid-storm. Then the same
click reaches two replicas: Acknowledge on ten groups, Roll back on two (whose rollout
the fake cluster shows failing).

What must hold (issue 16): exactly one top-level Slack message per group; every group's
final state posted; every notification answered 200 stored once and triaged; no 200 for a
notification that was not committed (while PostgreSQL is down the answers are 503 with
Retry-After); no action run twice.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import pytest

from tests.fakes.fake_kube import FakeKube, running_fake_kube
from tests.fakes.fake_slack import FakeSlack, Message, running_fake_slack
from tests.fakes.servers import wait_for
from tests.ha.replicas import CHANNEL, Peers, Replica, replica_environment
from tests.ha.storm import (
    Storm,
    add_rollout,
    click_on_two,
    group_of,
    kserve,
    model,
    outcomes,
)
from tests.store.postgres_server import PostgresServer

GROUPS = 50
ACKED = [g for g in range(GROUPS) if g % 2 == 1][:10]  # firing to the end
ROLLED_BACK = [45, 47]  # firing to the end, not acknowledged
PHASES = 2 * GROUPS + GROUPS // 2  # firing, update; resolved for the even groups


@pytest.fixture
async def fakes() -> AsyncIterator[tuple[FakeSlack, FakeKube]]:
    async with running_fake_slack(FakeSlack()) as slack, running_fake_kube() as kube:
        yield slack, kube


def _replicas(tmp_path: Path, slack: FakeSlack, kube: FakeKube, url: str) -> list[Replica]:
    kubeconfig = kube.write_kubeconfig(tmp_path / "kubeconfig")
    return [
        Replica(
            name,
            tmp_path / name,
            replica_environment(
                name=name,
                data_dir=tmp_path / name / "data",
                slack_url=slack.base_url,
                database_url=url,
                kubeconfig=kubeconfig,
                extra={"TRIAGE_BOT_ACTIONS__POLL_SECONDS": "0.05"},  # the rollback's follow
            ),
        )
        for name in ("r0", "r1", "r2")
    ]


async def test_three_replicas_killed_and_postgres_restarted_keep_every_promise(
    postgres_server: PostgresServer,
    postgres_url: str,
    fakes: tuple[FakeSlack, FakeKube],
    tmp_path: Path,
) -> None:
    slack, kube = fakes
    for group in ROLLED_BACK:
        add_rollout(kube, group)
    replicas = _replicas(tmp_path, slack, kube, postgres_url)
    rng = random.Random(16)
    groups = list(range(GROUPS))
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session:
        peers = Peers(session, replicas, retry_seconds=0.1)
        storm = Storm(peers, rng)
        try:
            await asyncio.gather(*(r.start(session) for r in replicas))

            # Phase 0, every group opens; r1 is SIGKILLed a third of the way in.
            sending = asyncio.create_task(storm.phase(0, groups))
            await storm.when_done(GROUPS // 3)
            await replicas[1].kill()
            await sending
            await replicas[1].start(session)

            # Phase 1, a second alert in every group; PostgreSQL restarts half way.
            sending = asyncio.create_task(storm.phase(1, groups))
            await storm.when_done(GROUPS // 2)
            await asyncio.to_thread(postgres_server.stop, "fast")
            down_from, stopped_at = time.monotonic(), time.time()
            await _wait_unready(session, replicas[0])
            await asyncio.sleep(1.0)  # the outage lasts a while: the peers' retries meet it
            down_until = time.monotonic()
            await asyncio.to_thread(postgres_server.start)
            await sending

            # Phase 2, the even groups resolve.
            await storm.phase(2, [g for g in groups if g % 2 == 0])
            await _wait_final_state(slack, replicas)

            messages = {group_of(m.text): m for m in slack.channel_messages(CHANNEL)}
            controller = asyncio.create_task(kserve(kube, ROLLED_BACK))
            for group in ACKED:
                await click_on_two(session, replicas, messages[group], "tb:ack", rng)
            for group in ROLLED_BACK:
                action = "tb:rollback:wine-predictor-00001"
                await click_on_two(session, replicas, messages[group], action, rng)
            await _wait_clicks_handled(slack, [messages[g] for g in ACKED + ROLLED_BACK])
            await controller
            rows, runs = await _database(postgres_url)
        finally:
            await asyncio.gather(*(r.stop() for r in replicas))

    logs = "\n".join(r.log_tail() for r in replicas)
    acknowledged = peers.acknowledged()
    assert len(acknowledged) == PHASES, logs  # the peers retried until each got its 200
    # a fault is a 503 (Retry-After) or a lost connection (the killed replica), never a 500
    statuses = Counter(a.status for a in peers.answers)
    assert set(statuses) <= {0, 200, 503}, statuses

    # stored once each, though sent twice, and every one triaged
    markers = Counter(r["marker"] for r in rows)
    assert set(markers) == acknowledged and max(markers.values()) == 1, markers.most_common(3)
    assert Counter(r["state"] for r in rows) == {"done": PHASES}, logs

    # no 200 for what was not committed: during the outage a 200 only for a copy of a
    # notification committed before it (a replica that stored it knows the key), the rest
    # 503 with Retry-After
    outage = [a for a in peers.answers if down_from <= a.sent_at and a.answered_at <= down_until]
    committed = {r["marker"]: r["received_at"] for r in rows}
    late = [a for a in outage if a.status == 200 and committed[a.marker] >= stopped_at]
    assert late == [], late
    refused = [a for a in outage if a.status == 503]
    assert refused and all(a.retry_after for a in refused), Counter(a.status for a in outage)

    # exactly one top-level message per group, each in its group's final state
    top = slack.channel_messages(CHANNEL)
    per_group = Counter(group_of(m.text) for m in top)
    assert sorted(per_group) == groups and set(per_group.values()) == {1}, per_group
    for message in top:
        assert _final(group_of(message.text), message), message.text

    # the same click on two replicas ran once: one outcome in the thread, one refusal
    for group in ACKED:
        [said] = outcomes(slack, messages[group])
        assert said.startswith("✅") and "acknowledged by" in said, said
    for group in ROLLED_BACK:
        [said] = outcomes(slack, messages[group])
        assert said.startswith("✅ rolled back"), said
        assert len(kube.calls("PATCH", f"/inferenceservices/{model(group)}$")) == 1
    assert Counter(r["status"] for r in runs) == {"done": len(ACKED) + len(ROLLED_BACK)}
    assert len(slack.ephemeral) == len(ACKED) + len(ROLLED_BACK), slack.ephemeral


def _final(group: int, message: Message) -> bool:
    """Whether a group's message shows its last notification: resolved for the even
    groups, two alerts firing for the odd ones."""
    if group % 2 == 0:
        return message.text.startswith("[RESOLVED]")
    return message.text.startswith("[FIRING]") and "2 alert(s)" in json.dumps(message.blocks)


async def _wait_unready(session: aiohttp.ClientSession, replica: Replica) -> None:
    """/readyz turns false once the replica finds the database gone."""

    async def unready() -> bool:
        try:
            async with session.get(f"{replica.url}/readyz") as response:
                return response.status == 503
        except aiohttp.ClientError:
            return False

    await wait_for(unready, timeout=5, interval=0.05, what=f"{replica.name}'s /readyz false")


async def _wait_final_state(slack: FakeSlack, replicas: list[Replica]) -> None:
    """Every group's message shows its last notification."""

    async def final() -> bool:
        latest = {group_of(m.text): m for m in slack.channel_messages(CHANNEL)}
        return len(latest) == GROUPS and all(_final(g, m) for g, m in latest.items())

    try:
        await wait_for(final, timeout=40, interval=0.1, what="every group's final state")
    except AssertionError as exc:
        top = slack.channel_messages(CHANNEL)
        latest = {group_of(m.text): m for m in top}
        behind = sorted(g for g in range(GROUPS) if g not in latest or not _final(g, latest[g]))
        doubled = sorted(g for g, n in Counter(group_of(m.text) for m in top).items() if n > 1)
        tails = "\n".join(r.log_tail() for r in replicas)
        raise AssertionError(f"{exc}: {behind} behind, {doubled} doubled\n{tails}") from None


async def _wait_clicks_handled(slack: FakeSlack, messages: list[Message]) -> None:
    """Both copies of every click answered: an outcome in each thread, a refusal each."""

    async def handled() -> bool:
        done = all(outcomes(slack, m) for m in messages)
        return done and len(slack.ephemeral) >= len(messages)

    try:
        await wait_for(handled, timeout=20, interval=0.05, what="both copies of every click")
    except AssertionError as exc:
        missing = [group_of(m.text) for m in messages if not outcomes(slack, m)]
        said = [e.get("text") for e in slack.ephemeral]
        raise AssertionError(f"{exc}: no outcome for {missing}; ephemeral {said}") from None


async def _database(url: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The stored notifications (their `chaos` marker, state, and when the transaction that
    stored each began) and the action runs."""
    conn = await asyncpg.connect(url)
    try:
        notifications = [
            {
                "marker": json.loads(r["body"])["commonAnnotations"]["chaos"],
                "state": r["state"],
                "received_at": r["received_at"].timestamp(),
            }
            for r in await conn.fetch("SELECT body, state, received_at FROM notifications")
        ]
        runs = [dict(r) for r in await conn.fetch("SELECT key, status FROM action_runs")]
    finally:
        await conn.close()
    return notifications, runs
