"""Cross-replica semantics, enforced by PostgreSQL: two (or more) store instances on one
database stand for replicas, each with a pool of its own."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from bot.actions.pg_ledger import PostgresLedger
from bot.store.postgres.leases import GroupClaim, Leases, sweep
from bot.store.postgres.migrations import MIGRATIONS, migrate, schema_version
from bot.store.postgres.periodic import exclusive
from bot.store.postgres.store import PoolSettings, PostgresStore


@pytest.fixture
async def replicas(postgres_url: str) -> AsyncIterator[tuple[PostgresStore, PostgresStore]]:
    """Two replicas' stores, opened at once on an empty database (both run migrations)."""
    a, b = PostgresStore(postgres_url), PostgresStore(postgres_url)
    await asyncio.gather(a.open(), b.open())
    yield a, b
    await asyncio.gather(a.close(), b.close())


async def until(condition: Callable[[], Awaitable[bool]], timeout: float = 10.0) -> None:
    """Poll an async condition until it holds (a lease or a claim expiring)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not await condition():
        assert asyncio.get_running_loop().time() < deadline, "condition never held"
        await asyncio.sleep(0.05)


async def test_replicas_starting_together_apply_each_migration_once(
    replicas: tuple[PostgresStore, PostgresStore], postgres_url: str
) -> None:
    conn = await asyncpg.connect(postgres_url)
    try:
        assert await schema_version(conn) == MIGRATIONS[-1][0]
        versions = [r[0] for r in await conn.fetch("SELECT version FROM schema_migrations")]
    finally:
        await conn.close()
    assert versions == [v for v, _ in MIGRATIONS]


async def test_ha_resends_to_two_replicas_are_stored_once(
    replicas: tuple[PostgresStore, PostgresStore],
) -> None:
    a, b = replicas
    sends = [
        s.accept(f"g{i}", "firing", f"key{i}", f'{{"i": {i}}}') for i in range(25) for s in (a, b)
    ]
    accepted = await asyncio.gather(*sends)

    new = [x for x in accepted if x.is_new]
    assert len(new) == 25
    by_key: dict[int, set[int]] = {}
    for i, x in enumerate(accepted):
        by_key.setdefault(i // 2, set()).add(x.id)
    assert all(len(ids) == 1 for ids in by_key.values())  # both copies name the original
    assert len(await a.pending()) == 25


async def test_the_same_key_after_the_dedup_window_is_a_new_notification(
    postgres_url: str,
) -> None:
    store = PostgresStore(postgres_url, PoolSettings(dedup_window_seconds=0.0))
    await store.open()
    try:
        first = await store.accept("g", "firing", "k", "{}")
        again = await store.accept("g", "firing", "k", "{}")
    finally:
        await store.close()
    assert first.is_new and again.is_new and again.id > first.id


async def test_a_group_is_leased_to_one_replica_and_the_other_takes_another_group(
    replicas: tuple[PostgresStore, PostgresStore],
) -> None:
    a, b = replicas
    ga1 = await a.add_notification("ga", "firing", "1", "a1")
    ga2 = await a.add_notification("ga", "resolved", "2", "a2")
    gb1 = await b.add_notification("gb", "firing", "3", "b1")
    la, lb = Leases(a.pool, "replica-a"), Leases(b.pool, "replica-b")

    claim_a = await la.claim()
    claim_b = await lb.claim()
    assert claim_a is not None and claim_a.group_key == "ga"
    assert [n.id for n in claim_a.notifications] == [ga1, ga2]
    assert claim_b is not None and claim_b.group_key == "gb"
    assert [n.id for n in claim_b.notifications] == [gb1]
    assert await lb.claim() is None  # ga is held, gb is its own: nothing else to take

    assert await la.finish("ga", ga1)
    assert not await lb.finish("ga", ga2)  # not b's lease: nothing recorded
    assert [n.id for n in await a.pending()] == [ga2, gb1]


async def test_a_dead_replicas_lease_is_taken_over_and_its_late_result_refused(
    replicas: tuple[PostgresStore, PostgresStore],
) -> None:
    a, b = replicas
    first = await a.add_notification("g", "firing", "1", "first")
    second = await a.add_notification("g", "firing", "2", "second")
    dying = Leases(a.pool, "replica-a", lease_seconds=0.3)
    taker = Leases(b.pool, "replica-b", lease_seconds=30)

    assert (await dying.claim()) is not None
    assert await taker.claim() is None  # the lease is live
    claimed: list[GroupClaim] = []

    async def taken_over() -> bool:
        claim = await taker.claim()
        if claim is not None:
            claimed.append(claim)
        return claim is not None

    await until(taken_over)
    (claim,) = claimed
    assert [n.id for n in claim.notifications] == [first, second]  # oldest first, nothing lost
    assert not await dying.finish("g", first)  # the dead replica's late result is refused
    assert await taker.finish("g", first)
    assert await taker.finish("g", second)
    assert await a.pending() == []


async def test_sweep_frees_expired_leases_only(
    replicas: tuple[PostgresStore, PostgresStore],
) -> None:
    a, b = replicas
    await a.add_notification("short", "firing", "1", "{}")
    await a.add_notification("long", "firing", "2", "{}")
    assert await Leases(a.pool, "a", lease_seconds=0.2).claim() is not None
    assert await Leases(b.pool, "b", lease_seconds=60).claim() is not None

    async def swept() -> bool:
        return await sweep(a.pool) == 1

    await until(swept)
    remaining = await a.pool.fetch("SELECT group_key, replica FROM group_leases")
    assert [(r[0], r[1]) for r in remaining] == [("long", "b")]


async def test_three_replicas_triage_each_group_in_order_and_each_notification_once(
    postgres_url: str,
) -> None:
    stores = [PostgresStore(postgres_url) for _ in range(3)]
    await asyncio.gather(*(s.open() for s in stores))
    try:
        expected: dict[str, list[int]] = {}
        for n in range(4):
            for g in range(10):
                ident = await stores[0].add_notification(f"g{g}", "firing", f"{g}-{n}", "{}")
                expected.setdefault(f"g{g}", []).append(ident)
        done: dict[str, list[int]] = {}
        holders: set[str] = set()

        async def replica(name: str, store: PostgresStore) -> None:
            leases = Leases(store.pool, name)
            while (claim := await leases.claim()) is not None:
                assert claim.group_key not in holders  # one replica per group at a time
                holders.add(claim.group_key)
                for notification in claim.notifications:
                    await asyncio.sleep(0)  # let the other replicas run meanwhile
                    assert await leases.finish(claim.group_key, notification.id)
                    done.setdefault(claim.group_key, []).append(notification.id)
                holders.discard(claim.group_key)
                await leases.release(claim.group_key)

        await asyncio.gather(*(replica(f"r{i}", s) for i, s in enumerate(stores)))
    finally:
        await asyncio.gather(*(s.close() for s in stores))
    assert done == expected


async def test_a_click_received_by_two_replicas_runs_once(
    replicas: tuple[PostgresStore, PostgresStore],
) -> None:
    a, b = replicas
    la, lb = PostgresLedger(a.pool), PostgresLedger(b.pool)
    now = datetime.now(UTC)
    claims = await asyncio.gather(
        *(
            ledger.claim("rollback:G1:wine:2", "models/wine", "rollback", "U1", now)
            for _ in range(5)
            for ledger in (la, lb)
        )
    )
    assert sorted(c.kind for c in claims) == ["claimed"] + ["duplicate"] * 9

    busy = await lb.claim("retrain:G1:wine:", "models/wine", "retrain", "U2", now)
    assert (busy.kind, busy.action) == ("busy", "rollback")
    ack = await lb.claim("ack:G1::", "models/wine", "ack", "U2", now, exclusive=False)
    assert ack.kind == "claimed"  # acknowledging never waits for a rollback

    await la.finish("rollback:G1:wine:2", ok=False, result="forbidden")
    again = await lb.claim("rollback:G1:wine:2", "models/wine", "rollback", "U1", now)
    assert again.kind == "claimed"  # a failed run may be claimed again
    await lb.finish("rollback:G1:wine:2", ok=True, result="ok", valid_until=now + timedelta(1))
    done = await la.claim("rollback:G1:wine:2", "models/wine", "rollback", "U1", now)
    assert (done.kind, done.status) == ("duplicate", "done")


async def test_periodic_work_runs_on_one_replica_at_a_time(
    replicas: tuple[PostgresStore, PostgresStore],
) -> None:
    a, b = replicas
    ran: list[str] = []
    release = asyncio.Event()

    async def round_of(name: str, store: PostgresStore, job: str, hold: bool = False) -> bool:
        async with exclusive(store.pool, job) as mine:
            if mine:
                ran.append(name)
                if hold:
                    await release.wait()
            return mine

    first = asyncio.create_task(round_of("a", a, "drift-evaluation", hold=True))
    await until(lambda: _async(bool(ran)))
    assert not await round_of("b", b, "drift-evaluation")  # a holds it: b skips the round
    assert await round_of("b", b, "lease-sweep")  # another job is free
    release.set()
    assert await first
    assert await round_of("b", b, "drift-evaluation")  # released with a's block
    assert ran == ["a", "b", "b"]


async def _async(value: bool) -> bool:
    return value


async def test_a_database_at_an_older_version_is_brought_up_to_date(postgres_url: str) -> None:
    conn = await asyncpg.connect(postgres_url)
    try:
        async with conn.transaction():  # version 1 alone, as an earlier release left it
            await conn.execute(
                "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY,"
                " applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"
            )
            await conn.execute(MIGRATIONS[0][1])
            await conn.execute("INSERT INTO schema_migrations (version) VALUES (1)")
        assert await schema_version(conn) == 1
        assert await migrate(conn) == [v for v, _ in MIGRATIONS[1:]]
        assert await schema_version(conn) == MIGRATIONS[-1][0]
        assert await migrate(conn) == []  # nothing left to do
        column = await conn.fetchval(
            "SELECT 1 FROM information_schema.columns"
            " WHERE table_name = 'slack_outbox' AND column_name = 'outcome_unknown'"
        )
        assert column == 1
    finally:
        await conn.close()
