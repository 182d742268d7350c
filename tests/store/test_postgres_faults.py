"""PostgreSQL restarting under a store that stays open: calls fail while it is down (the
receiver turns that into 503 + Retry-After) and work again once it is back, without
reopening the store."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from bot.store.postgres.store import PostgresStore
from tests.store.postgres_server import PostgresServer


async def test_the_store_recovers_from_a_postgres_restart_without_reopening(
    postgres_server: PostgresServer, postgres_url: str
) -> None:
    store = PostgresStore(postgres_url)
    await store.open()
    try:
        before = await store.add_notification("g", "firing", "k1", "{}")
        await asyncio.to_thread(postgres_server.stop, "fast")
        try:
            # A write while PostgreSQL is down raises: never a silent success.
            with pytest.raises((OSError, asyncpg.PostgresError, asyncpg.InterfaceError)):
                await store.add_notification("g", "firing", "k2", "{}")
        finally:
            await asyncio.to_thread(postgres_server.start)
        after = await store.add_notification("g", "firing", "k3", "{}")
        assert after > before
        assert [p.id for p in await store.pending()] == [before, after]
    finally:
        await store.close()
