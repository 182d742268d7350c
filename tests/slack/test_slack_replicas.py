"""Two replicas' senders on one PostgreSQL database draining 50 groups into the fake Slack.

Each replica has its own pool, `PgSlackTables` (its own replica name), notifier and
sender, as two pods would. Every group is notified on a random replica, then updated and
some resolved, each change on a random replica while both senders drain. Slack must end
with exactly one top-level message per group showing the group's final state, and the
database must point at that message.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator

import aiohttp
import asyncpg
import pytest
from slack_sdk.web.async_client import AsyncWebClient

from bot.model.alert import AlertStatus
from bot.model.change import Change
from bot.slack.buttons import group_id
from bot.slack.client import api_url, make_client
from bot.slack.notifier import SlackNotifier
from bot.slack.pg_outbox import PgSlackTables
from bot.store.postgres.store import PostgresStore
from tests.fakes.fake_slack import BOT_TOKEN, FakeSlack
from tests.slack.conftest import MakeSettings
from tests.slack.reports import report
from tests.store.test_replicas import until

GROUPS = 50
Replicas = tuple[list[SlackNotifier], asyncpg.Pool]


@pytest.fixture
def storm_threshold() -> int:
    """Groups a minute past which a channel gets a digest (none unless a test asks)."""
    return 1000


@pytest.fixture
async def two_replicas(
    postgres_url: str,
    make_settings: MakeSettings,
    session: aiohttp.ClientSession,
    storm_threshold: int,
) -> AsyncIterator[Replicas]:
    """Two replicas' notifiers (senders running), each on a store of its own; a pool."""
    settings = make_settings(
        slack={
            "channel_messages_per_second": 500,
            "channel_burst": 50,
            "updates_per_minute": 60_000,
            "storm_groups_per_minute": storm_threshold,
            "digest_interval_seconds": 0.1,
        }
    )
    stores = [PostgresStore(postgres_url) for _ in range(2)]
    await asyncio.gather(*(s.open() for s in stores))
    notifiers = []
    for n, store in enumerate(stores):
        tables = PgSlackTables(store.pool, f"replica-{n}")
        client = AsyncWebClient(
            BOT_TOKEN, base_url=api_url(settings), session=session, user_agent_prefix=f"r{n}"
        )
        notifier = SlackNotifier(client, tables, settings)
        notifier.sender.start()
        notifiers.append(notifier)
    yield notifiers, stores[0].pool
    for notifier in notifiers:
        await notifier.close()
    await asyncio.gather(*(s.close() for s in stores))


async def drained(notifiers: list[SlackNotifier], pool: asyncpg.Pool) -> None:
    """Until nothing is pending or being sent, and both senders are idle."""
    for _ in range(600):
        for notifier in notifiers:
            await notifier.sender.idle(timeout=30)
        waiting = await pool.fetchval(
            "SELECT COUNT(*) FROM slack_outbox WHERE state IN ('pending', 'sending')"
        )
        if waiting == 0:
            return
    raise AssertionError(f"{waiting} ops never left the outbox")


async def test_two_senders_post_one_message_per_group_with_its_final_state(
    slack: FakeSlack, two_replicas: Replicas
) -> None:
    notifiers, pool = two_replicas
    rng = random.Random(16)
    keys = [f"group-{n:02d}" for n in range(GROUPS)]
    final: dict[str, tuple[AlertStatus, int]] = {}

    async def change(key: str, status: AlertStatus, truncated: int, kind: str) -> None:
        notifier = rng.choice(notifiers)
        what = (f"{truncated} more alerts",) if kind == "update" else ()
        shown = report(group_key=key, status=status, truncated_alerts=truncated)
        await notifier.notify(shown, Change(kind, what))  # type: ignore[arg-type]
        final[key] = (status, truncated)

    await asyncio.gather(*(change(k, "firing", 0, "new") for k in keys))
    for step in (1, 2):
        await asyncio.gather(*(change(k, "firing", step, "update") for k in keys))
    await asyncio.gather(*(change(k, "resolved", 2, "resolved") for k in keys[::2]))
    await drained(notifiers, pool)

    messages = slack.channel_messages("C1")
    by_group = {m.metadata["event_payload"]["group_id"]: m for m in messages if m.metadata}
    assert len(messages) == GROUPS == len(by_group)  # exactly one top-level message each
    senders = {c.agent.split()[0] for c in slack.calls("chat.postMessage")}
    assert senders == {"r0", "r1"}  # both replicas sent
    for key, (status, truncated) in final.items():
        message = by_group[group_id(key)]
        expected = notifiers[0].render(
            report(group_key=key, status=status, truncated_alerts=truncated), state_of=None
        )
        assert message.text == expected["text"]
        assert message.attachments == expected["attachments"]  # (jsonb keeps no key order)
        ts = await pool.fetchval("SELECT ts FROM slack_messages WHERE group_id = $1", group_id(key))
        assert ts == message.ts


@pytest.mark.parametrize("storm_threshold", [3])
async def test_a_storm_split_across_replicas_gets_one_digest_listing_every_group(
    slack: FakeSlack, two_replicas: Replicas
) -> None:
    notifiers, pool = two_replicas
    keys = [f"storm-{n:02d}" for n in range(12)]
    for n, key in enumerate(keys):  # each replica sees six groups open: a storm on both
        await notifiers[n % 2].notify(report(group_key=key), Change("new"))

    def digests() -> list[str]:
        return [m.text for m in slack.channel_messages("C1") if "alert storm" in m.text]

    # No sender idles while its digest is due every 0.1 s: wait for the outcome instead.
    for _ in range(1000):
        waiting = await pool.fetchval(
            "SELECT COUNT(*) FROM slack_outbox WHERE state IN ('pending', 'sending')"
        )
        if waiting == 0 and any("12 alert groups opened" in text for text in digests()):
            break
        await asyncio.sleep(0.01)
    assert len(digests()) == 1, digests()  # one digest for the channel, not one a replica
    assert "12 alert groups opened" in digests()[0]
    assert len(slack.channel_messages("C1")) == 13  # and every group's own message
    row = await pool.fetchrow("SELECT ts, jsonb_array_length(listed) FROM slack_digests")
    assert row is not None and row[1] == 12
    assert row[0] in {m.ts for m in slack.channel_messages("C1")}


async def test_a_sender_frozen_past_its_claim_leaves_one_message(
    slack: FakeSlack,
    postgres_url: str,
    make_settings: MakeSettings,
    session: aiohttp.ClientSession,
) -> None:
    settings = make_settings()
    stores = [PostgresStore(postgres_url) for _ in range(2)]
    await asyncio.gather(*(s.open() for s in stores))
    frozen_tables = PgSlackTables(stores[0].pool, "frozen", claim_seconds=0.3)
    made: list[SlackNotifier] = []
    try:
        slack.stall("chat.postMessage", 3.0)  # stored at once, answered long after the claim
        frozen = SlackNotifier(
            make_client(settings, session, retries=False), frozen_tables, settings
        )
        made.append(frozen)
        frozen.sender.start()
        await frozen.notify(report(), Change("new"))
        await slack.wait_for("chat.postMessage")

        async def expired() -> bool:
            value = await stores[1].pool.fetchval(
                "SELECT bool_and(claim_until <= now()) FROM slack_outbox WHERE state = 'sending'"
            )
            return bool(value)

        await until(expired)
        taker_tables = PgSlackTables(stores[1].pool, "taker")
        taker = SlackNotifier(make_client(settings, session, retries=False), taker_tables, settings)
        made.append(taker)
        taker.sender.start()  # takes the expired claim over and posts
        await slack.wait_for("chat.postMessage", 2)
        await slack.wait_for("chat.delete")  # the frozen one's answer came: its post goes
        recorded = await stores[1].pool.fetchval("SELECT ts FROM slack_messages")
    finally:
        for notifier in made:
            await notifier.close()
        await asyncio.gather(*(s.close() for s in stores))
    [message] = slack.channel_messages("C1")  # two posts, one message left
    assert len(slack.calls("chat.postMessage")) == 2
    [deleted] = slack.calls("chat.delete")
    assert deleted.args["ts"] != message.ts == recorded  # the frozen one's post withdrawn
    assert message.text.startswith("[FIRING]")
