"""The worker's loop on PostgreSQL: groups claimed with a lease, not taken from memory.

Started by `triage.worker` when it is given `Leases` (the PostgreSQL store). Each of the
worker's tasks claims a group (`Leases.claim`: `FOR UPDATE SKIP LOCKED`), triages its
pending notifications in order while a helper task renews the lease, and releases it. A
webhook this replica accepted only wakes the tasks (`wake`); they also poll every
`poll_seconds`, because other replicas' webhooks never wake them and a dead replica's
groups come free when its lease expires. A notification is recorded done only in a
transaction that finds the lease still this replica's (`LeaseRecord`). Database errors
end the round, never the task: it waits a poll and claims again, so the loop survives a
PostgreSQL restart without a restart of the bot.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from bot.background import stop
from bot.model.report import TriageReport
from bot.triage.processing import Triager

if TYPE_CHECKING:  # asyncpg only where PostgreSQL is configured
    from bot.store.postgres.leases import GroupClaim, Leases

log = logging.getLogger(__name__)


class LeaseRecord:
    """Records through the lease: nothing is recorded once the group was taken over."""

    def __init__(self, leases: Leases, group_key: str, lost: asyncio.Event) -> None:
        self._leases = leases
        self._group_key = group_key
        self._lost = lost

    async def still_ours(self) -> bool:
        """Renew the lease now; False once it was lost (expired and taken)."""
        if self._lost.is_set():
            return False
        if not await self._leases.renew(self._group_key):
            self._lost.set()
        return not self._lost.is_set()

    async def done(self, notification_id: int, report: TriageReport) -> bool:
        """Save the report and mark the row done in one transaction, while the lease holds."""
        ok = await self._leases.finish(self._group_key, notification_id, report=report)
        if not ok:
            self._lost.set()
        return ok

    async def failed(self, notification_id: int, reason: str, report: TriageReport | None) -> bool:
        """Mark the row failed (with the report) in one transaction, while the lease holds."""
        ok = await self._leases.finish(
            self._group_key, notification_id, "failed", report=report, error=reason
        )
        if not ok:
            self._lost.set()
        return ok


class LeasedLoop:
    """The claim-triage-release loop each worker task runs on PostgreSQL."""

    def __init__(
        self,
        leases: Leases,
        triager: Triager,
        *,
        poll_seconds: float,
        before_each: Callable[[], Awaitable[None]],
        stopping: Callable[[], bool],
    ) -> None:
        self._leases = leases
        self._triager = triager
        self._poll = poll_seconds
        self._before_each = before_each  # the receiver's priority (`TriageQueue.quiet`)
        self._stopping = stopping
        self.wake = asyncio.Event()
        self.busy = 0
        self._failing = False  # claims fail (database down): said once, not every poll

    async def run(self) -> None:
        """Claim and triage groups until the worker stops."""
        while not self._stopping():
            try:
                claim = await self._leases.claim()
            except Exception as exc:  # the database is down or restarting: try again later
                if not self._failing:
                    error = f"{type(exc).__name__}: {exc}"
                    log.warning("cannot claim work, retrying", extra={"error": error})
                self._failing = True
                claim = None
            else:
                if self._failing:
                    log.info("claiming work again")
                self._failing = False
            if claim is None:
                await self._idle()
                continue
            self.busy += 1
            try:
                await self._group(claim)
            finally:
                self.busy -= 1

    async def _idle(self) -> None:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self._poll):
                await self.wake.wait()
        self.wake.clear()

    async def _group(self, claim: GroupClaim) -> None:
        lost = asyncio.Event()
        renewing = asyncio.create_task(self._renew(claim.group_key, lost), name="lease-renew")
        record = LeaseRecord(self._leases, claim.group_key, lost)
        try:
            for pending in claim.notifications:
                if lost.is_set() or self._stopping():
                    break
                await self._before_each()
                await self._triager.handle(pending.id, pending.group_key, pending.body, record)
        except Exception:
            # A store error: the rest stays pending for the next claim (here or elsewhere).
            log.exception("triage round failed", extra={"group_key": claim.group_key})
        finally:
            await stop(renewing)
            if not lost.is_set():
                try:
                    await self._leases.release(claim.group_key)
                except Exception:  # it expires on its own
                    log.warning("cannot release lease", extra={"group_key": claim.group_key})

    async def _renew(self, group_key: str, lost: asyncio.Event) -> None:
        """Renew every third of the lease; give up once it ran out without a renewal."""
        period = self._leases.lease_seconds / 3
        renewed = time.monotonic()
        while True:
            await asyncio.sleep(period)
            try:
                if not await self._leases.renew(group_key):
                    lost.set()
                    return
                renewed = time.monotonic()
            except Exception:
                if time.monotonic() - renewed >= self._leases.lease_seconds:
                    lost.set()
                    return
