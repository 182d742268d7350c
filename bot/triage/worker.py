"""The triage worker: takes stored notifications, triages them, notifies.

Started and stopped by `app`. Notifications of one alert group are handled in arrival
order, different groups in parallel, by `concurrency` tasks; each notification goes
through the one `triage.processing.Triager` (triage, attempts, give-up, notify, record).
Where the work comes from depends on the store:

- SQLite (one process): the receiver's in-memory `TriageQueue` hands over each stored
  id; the task that takes a group's first notification drains the group's queue. On
  start, rows left pending are queued again. The report cache is on (one writer).
- PostgreSQL (`leases` given): the tasks claim groups from the database with a lease
  (`triage.leased`); the queue only wakes them, and they poll too. No report cache.

Each triage first lets the receiver finish the webhooks it is taking in
(`TriageQueue.quiet`, at most `yield_seconds`): acknowledging comes first. A row is
marked done only after the notifier ran, so a crash means at-least-once delivery, never
a lost triage.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any

from bot.metrics import BotMetrics
from bot.model.notifier import Notifier
from bot.store.interface import NotificationStore
from bot.triage.leased import LeasedLoop
from bot.triage.pipeline import Pipeline
from bot.triage.processing import StoreRecord, Triager
from bot.triage.queue import QueuedNotification, TriageQueue

if TYPE_CHECKING:  # asyncpg only where PostgreSQL is configured
    from bot.store.postgres.leases import Leases

log = logging.getLogger(__name__)


class TriageWorker:
    """A small pool of tasks triaging what the queue (or the leases) hand over."""

    def __init__(
        self,
        store: NotificationStore,
        queue: TriageQueue,
        pipeline: Pipeline,
        notifier: Notifier,
        metrics: BotMetrics,
        *,
        concurrency: int = 4,
        yield_seconds: float = 0.1,
        max_attempts: int = 3,
        leases: Leases | None = None,
        poll_seconds: float = 1.0,
    ) -> None:
        self._store = store
        self._queue = queue
        self._metrics = metrics
        self._concurrency = concurrency
        self._yield_seconds = yield_seconds
        self._triager = Triager(
            store,
            pipeline,
            notifier,
            metrics,
            max_attempts=max_attempts,
            cache_reports=leases is None,
        )
        self._record = StoreRecord(store)
        self._leased: LeasedLoop | None = None
        if leases is not None:
            self._leased = LeasedLoop(
                leases,
                self._triager,
                poll_seconds=poll_seconds,
                before_each=self._quiet,
                stopping=lambda: self._stopping,
            )
        self._groups: dict[str, deque[QueuedNotification]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._busy = 0
        self._stopping = False

    async def start(self) -> None:
        """Start consuming: on SQLite after queueing what a previous run left pending."""
        if self._leased is not None:
            self._spawn(self._wake_on_enqueue(), "triage-wake")
            for n in range(self._concurrency):
                self._spawn(self._leased.run(), f"triage-leased-{n}")
            return
        leftovers = await self._store.pending()
        for row in leftovers:
            self._queue.put_recovered(QueuedNotification(row.id, row.group_key))
        self._metrics.queue_depth.set(self._queue.depth)
        for n in range(self._concurrency):
            self._spawn(self._consume(), f"triage-worker-{n}")
        if leftovers:
            log.info("resuming unfinished triages", extra={"count": len(leftovers)})

    def _spawn(self, work: Coroutine[Any, Any, None], name: str) -> None:
        task = asyncio.create_task(work, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def wake(self) -> None:
        """Look for work now (PostgreSQL: a notification was stored; no-op on SQLite)."""
        if self._leased is not None:
            self._leased.wake.set()

    async def stop(self, timeout: float) -> None:
        """Let in-flight triages finish (up to `timeout`), then stop; the rest stay pending."""
        self._stopping = True
        if self._leased is not None:
            self._leased.wake.set()
        deadline = time.monotonic() + timeout
        while self._in_flight and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    @property
    def _in_flight(self) -> int:
        return self._busy + (self._leased.busy if self._leased is not None else 0)

    async def _quiet(self) -> None:
        await self._queue.quiet(self._yield_seconds)

    async def _wake_on_enqueue(self) -> None:
        """PostgreSQL: the queue carries no work, only the news that some was stored."""
        while True:
            item = await self._queue.get()
            self._queue.done(item)
            self._metrics.queue_depth.set(self._queue.depth)
            self.wake()

    # --- SQLite: the in-memory hand-off --------------------------------------------------

    async def _consume(self) -> None:
        while not self._stopping:
            item = await self._queue.get()
            waiting = self._groups.get(item.group_key)
            if waiting is not None:
                # Another task is draining this group: it takes this one, in arrival order.
                waiting.append(item)
                continue
            waiting = self._groups[item.group_key] = deque([item])
            self._busy += 1
            try:
                await self._drain(waiting)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("triage worker error", extra={"group_key": item.group_key})
            finally:
                del self._groups[item.group_key]
                self._busy -= 1

    async def _drain(self, waiting: deque[QueuedNotification]) -> None:
        first = True
        while waiting:
            if self._stopping and not first:  # finish what was taken, leave the rest pending
                return
            first = False
            await self._quiet()
            item = waiting.popleft()
            try:
                await self._triager.handle(item.id, item.group_key, item.body, self._record)
            except Exception:
                # The row stays pending (retried at the next start); the group's later
                # notifications still get their triage now.
                log.exception("triage failed", extra={"group_key": item.group_key, "id": item.id})
            finally:
                self._queue.done(item)
                self._metrics.queue_depth.set(self._queue.depth)
