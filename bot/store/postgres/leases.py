"""Work claimed with a lease: one replica triages a group's notifications at a time, in order.

Used by the PostgreSQL deployment's triage loop (and tests/store/). A replica claims a
group (`claim`) by taking its row in `group_leases` until a time; the pending rows are
picked with `FOR UPDATE SKIP LOCKED` so replicas claiming at once pass each other by
instead of waiting. While it holds the lease no other replica takes the group; it renews
the lease while triage runs and releases it when done. A replica that dies keeps its
lease only until it expires: then any replica takes the group over, nothing lost, and the
oldest pending notification comes first again. `sweep` deletes expired leases.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import asyncpg

from bot.model.report import TriageReport
from bot.store.interface import PendingNotification
from bot.store.postgres.store import upsert_triage

# Candidates looked at per claim: those locked by a claim under way are skipped.
CANDIDATES = 16


@dataclass(frozen=True)
class GroupClaim:
    """A group leased to this replica and its pending notifications, oldest first."""

    group_key: str
    notifications: list[PendingNotification]


class Leases:
    """Group leases of one replica (named `replica`, e.g. the pod name)."""

    def __init__(self, pool: asyncpg.Pool, replica: str, lease_seconds: float = 60.0) -> None:
        self._pool = pool
        self.replica = replica
        self.lease_seconds = lease_seconds
        self._lease = timedelta(seconds=lease_seconds)

    async def claim(self) -> GroupClaim | None:
        """Lease the group of the oldest pending notification that no live lease holds."""
        async with self._pool.acquire() as conn, conn.transaction():
            candidates = await conn.fetch(
                "SELECT n.group_key FROM notifications n WHERE n.state = 'pending'"
                " AND NOT EXISTS (SELECT 1 FROM group_leases l WHERE l.group_key = n.group_key"
                " AND l.until > now())"
                " ORDER BY n.id LIMIT $1 FOR UPDATE OF n SKIP LOCKED",
                CANDIDATES,
            )
            seen: set[str] = set()
            for row in candidates:
                group_key = str(row[0])
                if group_key in seen:
                    continue
                seen.add(group_key)
                if await self._take(conn, group_key):
                    rows = await conn.fetch(
                        "SELECT id, group_key, body FROM notifications"
                        " WHERE group_key = $1 AND state = 'pending' ORDER BY id",
                        group_key,
                    )
                    pending = [PendingNotification(int(r[0]), str(r[1]), str(r[2])) for r in rows]
                    return GroupClaim(group_key, pending)
        return None

    async def _take(self, conn: asyncpg.Connection, group_key: str) -> bool:
        # The lease row's unique key serializes two replicas taking the same group; a live
        # lease, even this replica's own, is not taken again (that is `renew`).
        taken = await conn.fetchval(
            "INSERT INTO group_leases (group_key, replica, until) VALUES ($1, $2, now() + $3)"
            " ON CONFLICT (group_key) DO UPDATE SET replica = excluded.replica,"
            " until = excluded.until"
            " WHERE group_leases.until <= now()"
            " RETURNING group_key",
            group_key,
            self.replica,
            self._lease,
        )
        return taken is not None

    async def renew(self, group_key: str) -> bool:
        """Extend the lease while triage runs; False when it was lost (expired and taken)."""
        value = await self._pool.fetchval(
            "UPDATE group_leases SET until = now() + $3 WHERE group_key = $1 AND replica = $2"
            " RETURNING group_key",
            group_key,
            self.replica,
            self._lease,
        )
        return value is not None

    async def finish(
        self,
        group_key: str,
        notification_id: int,
        state: str = "done",
        *,
        report: TriageReport | None = None,
        error: str | None = None,
    ) -> bool:
        """Mark a notification of a leased group done (or failed, with `error`) and save the
        group's `report` with it, in one transaction, only while the lease is ours.

        False when the lease was lost: the replica that took the group over triages the
        notification again, and this replica's late result is not recorded.
        """
        async with self._pool.acquire() as conn, conn.transaction():
            held = await conn.fetchval(
                "SELECT 1 FROM group_leases WHERE group_key = $1 AND replica = $2"
                " AND until > now() FOR UPDATE",
                group_key,
                self.replica,
            )
            if held is None:
                return False
            if report is not None:
                await upsert_triage(conn, report)
            await conn.execute(
                "UPDATE notifications SET state = $2, processed_at = now(), error = $3"
                " WHERE id = $1",
                notification_id,
                state,
                error,
            )
            return True

    async def release(self, group_key: str) -> None:
        """Give the group back (its triage is done, or this replica is stopping)."""
        await self._pool.execute(
            "DELETE FROM group_leases WHERE group_key = $1 AND replica = $2",
            group_key,
            self.replica,
        )


async def sweep(pool: asyncpg.Pool) -> int:
    """Delete expired leases (their groups are free again); how many."""
    rows = await pool.fetch("DELETE FROM group_leases WHERE until <= now() RETURNING group_key")
    return len(rows)
