"""Periodic work on one replica at a time: a session advisory lock per job name.

Used around drift evaluations, lease sweeps and retention when the store is PostgreSQL.
`exclusive(pool, name)` holds a pooled connection with the lock for the duration of the
block and yields whether this replica got it; the others skip the round. A replica that
dies loses its connection, and PostgreSQL releases the lock with it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg


@asynccontextmanager
async def exclusive(pool: asyncpg.Pool, name: str) -> AsyncIterator[bool]:
    """Try the lock of job `name`; yields True when this replica runs the job this round."""
    async with pool.acquire() as conn:
        got = bool(
            await conn.fetchval("SELECT pg_try_advisory_lock(hashtextextended($1, 1))", name)
        )
        try:
            yield got
        finally:
            if got:
                await conn.execute("SELECT pg_advisory_unlock(hashtextextended($1, 1))", name)
