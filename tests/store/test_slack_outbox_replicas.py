"""The Slack outbox on PostgreSQL across replicas (`slack.pg_outbox.PgSlackTables`): two
table sets with different replica names on one database stand for two replicas."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from bot.slack.pg_outbox import PgSlackTables
from bot.slack.tables import MessageRef, Op
from bot.store.postgres.store import PostgresStore
from tests.slack.reports import report
from tests.store.test_replicas import until

Pair = tuple[PgSlackTables, PgSlackTables]


@pytest.fixture
async def pair(postgres_url: str) -> AsyncIterator[Pair]:
    """Replica a's and b's tables, each on a pool of its own."""
    a, b = PostgresStore(postgres_url), PostgresStore(postgres_url)
    await asyncio.gather(a.open(), b.open())
    yield PgSlackTables(a.pool, "replica-a"), PgSlackTables(b.pool, "replica-b")
    await asyncio.gather(a.close(), b.close())


async def queue(tables: PgSlackTables, text: str, *, gid: str = "G1", v: int = 1) -> None:
    body = {"text": text}
    await tables.save_group(gid, report(group_key=gid.lower(), truncated_alerts=v), "C1", [
        Op("message", "C1", body)
    ])  # fmt: skip


async def claim_next(tables: PgSlackTables) -> list[Op]:
    """What a sender's turn claims: the first group's head op (nothing if none is free)."""
    heads = await tables.heads()
    if not heads:
        return []
    return await tables.claim(heads[0].group_id, [heads[0].op_id])


async def test_one_message_per_group_the_newest_rendering_and_one_sender(pair: Pair) -> None:
    a, b = pair
    # Both replicas render the group (HA copies triaged before the dedup collapsed them).
    await queue(a, "first")
    await queue(b, "newer", v=2)
    [head] = await a.heads()
    claims = await asyncio.gather(a.claim("G1", [head.op_id]), b.claim("G1", [head.op_id]))
    winner_index = 0 if claims[0] else 1
    (op,) = claims[winner_index]
    assert claims[1 - winner_index] == []  # the op is sent by one replica only
    assert op.body == {"text": "newer"} and op.ts is None  # no message yet: a post
    winner = pair[winner_index]
    assert await winner.sent([op.id], MessageRef("C1", "1700000000.000100", None))

    await queue(b, "resolved", v=3)
    (update,) = await claim_next(a)
    assert update.ts == "1700000000.000100"  # the next send updates the same message
    # A second first post can never be recorded over the first.
    assert await a.sent([update.id], MessageRef("C1", "1700000000.999999", None))
    stored = await b.load("G1")
    assert stored is not None and stored.ts == "1700000000.000100"
    assert stored.report.truncated_alerts == 3


async def test_nothing_of_a_group_is_claimed_while_another_op_of_it_is_on_its_way(
    pair: Pair,
) -> None:
    a, b = pair
    await queue(a, "first")
    (post,) = await claim_next(a)
    await b.enqueue("G1", [Op("reply", "C1", {"text": "changed"})])
    await queue(b, "newer", v=2)  # a new row: the claimed body is already on its way
    assert await b.heads() == []  # the group waits for the post's outcome
    pending = await b.pending("G1")
    assert [o.kind for o in pending] == ["reply", "message"]
    assert await b.claim("G1", [o.id for o in pending]) == []
    assert await a.sent([post.id], MessageRef("C1", "111.1", None))
    (update,) = await claim_next(b)  # the message goes before the reply
    assert (update.kind, update.body, update.ts) == ("message", {"text": "newer"}, "111.1")


async def test_a_dead_senders_op_is_sent_by_another_and_its_late_outcome_ignored(
    postgres_url: str, pair: Pair
) -> None:
    a, b = pair
    dying = PgSlackTables(a._pool, "replica-a", claim_seconds=0.3)
    await queue(dying, "x")
    (lost,) = await claim_next(dying)
    assert await claim_next(b) == []
    retaken: list[Op] = []

    async def taken() -> bool:
        retaken.extend(await claim_next(b))
        return bool(retaken)

    await until(taken)
    assert await b.sent([retaken[0].id], MessageRef("C1", "111.1", None))
    assert not await dying.sent([lost.id], MessageRef("C1", "222.2", None))
    stored = await a.load("G1")
    assert stored is not None and stored.ts == "111.1"


async def test_a_failed_send_goes_back_to_the_queue_for_any_replica(pair: Pair) -> None:
    a, b = pair
    await queue(a, "x")
    (op,) = await claim_next(a)
    await a.failed([op.id], "ratelimited")
    (again,) = await claim_next(b)
    assert again.id == op.id
    await b.failed([again.id], "channel_not_found", permanent=True)
    assert await claim_next(a) == []
    assert (await a.undelivered())["g1"]["dead"] == 1


async def test_a_send_of_unknown_outcome_comes_back_marked_to_look_first(pair: Pair) -> None:
    a, b = pair
    await queue(a, "x")
    (op,) = await claim_next(a)
    assert not op.look_first
    await a.unknown([op.id], "TimeoutError")
    (again,) = await claim_next(b)
    assert (again.id, again.look_first, again.ts) == (op.id, True, None)
    assert await b.sent([again.id], MessageRef("C1", "found.by.metadata", None))
    stored = await a.load("G1")
    assert stored is not None and stored.ts == "found.by.metadata"


async def test_at_start_a_replica_takes_back_its_own_claims_only(pair: Pair) -> None:
    a, b = pair
    await queue(a, "a's", gid="GA")
    await queue(a, "b's", gid="GB")
    (mine,) = await a.claim("GA", [(await a.pending("GA"))[0].id])
    (theirs,) = await b.claim("GB", [(await b.pending("GB"))[0].id])
    await a.unclaim_all()  # replica a restarted
    assert [h.group_id for h in await a.heads()] == ["GA"]  # b's live claim stays b's
    assert await a.claim("GA", [mine.id]) != []
    assert await b.sent([theirs.id], MessageRef("C1", "1.1", None))


async def test_an_op_copied_from_sqlite_mid_send_is_free_to_claim(pair: Pair) -> None:
    a, b = pair
    await queue(a, "x")
    [op] = await a.pending("G1")
    # What `migrate-store` leaves of a send SQLite had on its way: sending, no claim.
    await a._pool.execute("UPDATE slack_outbox SET state = 'sending' WHERE id = $1", op.id)
    [head] = await b.heads()
    assert await b.claim("G1", [head.op_id]) != []
    await b.unclaim_all()  # b restarted: its claim is pending again, for anyone
    assert [o.id for o in await a.pending("G1")] == [op.id]
