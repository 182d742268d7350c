"""Retention of the PostgreSQL store: one replica at a time drops what nobody reads again.

Run periodically by whichever replica wins `periodic.exclusive(pool, JOB)`. Dedup keys
older than the dedup window decide nothing any more (a re-send after it is a new
notification anyway); finished notifications older than `keep` are history only their
triage row still summarizes. Pending notifications are never dropped, whatever their age.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import asyncpg

from bot.store.postgres.leases import sweep
from bot.store.postgres.periodic import exclusive

JOB = "retention"


@dataclass(frozen=True)
class Pruned:
    """What one round removed (None: another replica ran this round)."""

    keys: int
    notifications: int
    leases: int


async def prune(pool: asyncpg.Pool, *, dedup_window: timedelta, keep: timedelta) -> Pruned | None:
    """Drop expired dedup keys, finished notifications older than `keep` and expired
    leases, unless another replica is doing it right now."""
    async with exclusive(pool, JOB) as mine:
        if not mine:
            return None
        keys = await pool.fetch(
            "DELETE FROM notification_keys WHERE received_at < now() - $1::interval"
            " RETURNING dedup_key",
            dedup_window,
        )
        notifications = await pool.fetch(
            "DELETE FROM notifications WHERE state <> 'pending'"
            " AND processed_at < now() - $1::interval RETURNING id",
            keep,
        )
        await pool.execute(
            "DELETE FROM triage_attempts a WHERE NOT EXISTS"
            " (SELECT 1 FROM notifications n WHERE n.id = a.notification_id)"
        )
        leases = await sweep(pool)
    return Pruned(len(keys), len(notifications), leases)
