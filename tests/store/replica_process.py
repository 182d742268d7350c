"""A store-level replica for the chaos test: claims groups through leases and finishes their
notifications in order, logging each, until killed. Rides out PostgreSQL restarts.

Run by tests/store/test_store_chaos.py as `python -m tests.store.replica_process URL NAME`.
"""

from __future__ import annotations

import asyncio
import sys

import asyncpg

from bot.store.postgres.leases import Leases
from bot.store.postgres.store import PoolSettings, PostgresStore

LEASE_SECONDS = 1.0
_FAULTS = (OSError, asyncpg.PostgresError, asyncpg.InterfaceError)


async def work(url: str, name: str) -> None:
    store = PostgresStore(url, PoolSettings(min_size=1, max_size=2))
    while True:
        try:
            await store.open()
            break
        except _FAULTS:
            await asyncio.sleep(0.1)
    leases = Leases(store.pool, name, lease_seconds=LEASE_SECONDS)
    print("ready", flush=True)
    while True:
        try:
            claim = await leases.claim()
            if claim is None:
                await asyncio.sleep(0.02)
                continue
            for notification in claim.notifications:
                await asyncio.sleep(0.005)  # the triage
                if not await leases.finish(claim.group_key, notification.id):
                    break  # the lease was lost: the replica that took it over goes on
                await store.pool.execute(
                    "INSERT INTO chaos_log (group_key, notification_id, replica)"
                    " VALUES ($1, $2, $3)",
                    claim.group_key,
                    notification.id,
                    name,
                )
            await leases.release(claim.group_key)
        except _FAULTS:
            await asyncio.sleep(0.1)  # PostgreSQL restarting: the pool reconnects


if __name__ == "__main__":
    asyncio.run(work(sys.argv[1], sys.argv[2]))
