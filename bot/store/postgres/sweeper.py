"""The periodic sweep of the PostgreSQL store: expired leases and old rows, one replica
at a time.

Started and stopped by `app` when the store is PostgreSQL. Every `interval` it runs
`retention.prune` (under its advisory lock, so one replica sweeps per round): expired
leases go (their groups were free to claim anyway), dedup keys past the window and
finished notifications past `keep`. A failed round (the database is down) is logged and
the next one runs on time: the loop survives a PostgreSQL restart.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

import asyncpg

from bot.background import stop
from bot.store.postgres.retention import Pruned, prune

log = logging.getLogger(__name__)


class Sweeper:
    """Runs `prune` every `interval` seconds until closed."""

    def __init__(
        self, pool: asyncpg.Pool, *, interval: float, dedup_window: timedelta, keep: timedelta
    ) -> None:
        self._pool = pool
        self._interval = interval
        self._dedup_window = dedup_window
        self._keep = keep
        self._task: asyncio.Task[None] | None = None
        self.rounds = 0  # rounds that ran here (read by tests)

    def start(self) -> None:
        """Sweep now and then every interval."""
        self._task = asyncio.create_task(self._loop(), name="store-sweeper")

    async def sweep(self) -> Pruned | None:
        """One round (None: another replica held the lock)."""
        pruned = await prune(self._pool, dedup_window=self._dedup_window, keep=self._keep)
        if pruned is not None:
            self.rounds += 1
            if pruned.leases or pruned.notifications:
                log.info(
                    "store swept",
                    extra={"leases": pruned.leases, "notifications": pruned.notifications},
                )
        return pruned

    async def _loop(self) -> None:
        while True:
            try:
                await self.sweep()
            except Exception as exc:
                log.warning("store sweep failed", extra={"error": f"{type(exc).__name__}: {exc}"})
            await asyncio.sleep(self._interval)

    async def close(self) -> None:
        """Stop sweeping."""
        await stop(self._task)
        self._task = None
