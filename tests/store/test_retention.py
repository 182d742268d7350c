"""Retention on PostgreSQL: expired dedup keys and old finished notifications go, pending
ones stay, and one replica prunes at a time."""

from __future__ import annotations

from datetime import timedelta

from bot.store.postgres.periodic import exclusive
from bot.store.postgres.retention import JOB, Pruned, prune
from bot.store.postgres.store import PostgresStore


async def test_prune_drops_what_nobody_reads_and_keeps_pending_work(
    pg_store: PostgresStore,
) -> None:
    pool = pg_store.pool
    old_done = await pg_store.add_notification("g", "firing", "old", "{}")
    old_pending = await pg_store.add_notification("g", "firing", "stuck", "{}")
    recent_done = await pg_store.add_notification("h", "firing", "recent", "{}")
    await pg_store.finish_notification(old_done, "done")
    await pg_store.finish_notification(recent_done, "done")
    await pool.execute(
        "UPDATE notifications SET received_at = now() - interval '3 days',"
        " processed_at = now() - interval '3 days' WHERE id = ANY($1::bigint[])",
        [old_done, old_pending],
    )
    await pool.execute(
        "UPDATE notification_keys SET received_at = now() - interval '3 days'"
        " WHERE dedup_key IN ('old', 'stuck')"
    )
    await pool.execute("INSERT INTO triage_attempts VALUES ($1, 1, 'boom', now())", old_done)

    pruned = await prune(pool, dedup_window=timedelta(hours=1), keep=timedelta(days=1))

    assert pruned == Pruned(keys=2, notifications=1, leases=0)
    left = {r[0] for r in await pool.fetch("SELECT id FROM notifications")}
    assert left == {old_pending, recent_done}
    assert await pool.fetchval("SELECT count(*) FROM triage_attempts") == 0
    # The expired key is free again: the same alert after the window is a new notification.
    assert (await pg_store.accept("g", "firing", "old", "{}")).is_new


async def test_prune_skips_the_round_while_another_replica_prunes(
    pg_store: PostgresStore, postgres_url: str
) -> None:
    other = PostgresStore(postgres_url)
    await other.open()
    try:
        async with exclusive(other.pool, JOB) as mine:
            assert mine
            skipped = await prune(
                pg_store.pool, dedup_window=timedelta(hours=1), keep=timedelta(days=1)
            )
            assert skipped is None
    finally:
        await other.close()
    assert await prune(
        pg_store.pool, dedup_window=timedelta(hours=1), keep=timedelta(days=1)
    ) == Pruned(0, 0, 0)
