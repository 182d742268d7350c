"""The PostgreSQL store: notifications and triages for any number of replicas.

Built by `app` when `TRIAGE_BOT_DATABASE_URL` is set, in place of `bot.store.sqlite.Store`, and
used through the same interface (`bot.store.interface.NotificationStore`). A connection
pool (asyncpg) serves every caller; each write is its own transaction, committed before
the call returns, so the receiver answers 200 only for what PostgreSQL has committed.
A notification is stored once per idempotency key (its dedup key inside the dedup
window): the copies Alertmanager's HA peers send to different replicas collapse here.
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import asyncpg

from bot.model.report import TriageReport
from bot.store.interface import PendingNotification, triage_row
from bot.store.postgres.migrations import migrate

# `unreachable` asks the database at most this often, and gives it this long to answer.
REACHABLE_CACHE_SECONDS = 1.0
REACHABLE_TIMEOUT_SECONDS = 1.0


@dataclass(frozen=True)
class PoolSettings:
    """Connection pool sizes and timeouts (config `database`)."""

    min_size: int = 1
    max_size: int = 10
    connect_timeout_seconds: float = 5.0
    command_timeout_seconds: float = 10.0
    dedup_window_seconds: float = 3600.0


@dataclass(frozen=True)
class Accepted:
    """A stored notification: its id, and whether this call stored it (False: a copy of
    one already stored, by this replica or another, inside the dedup window)."""

    id: int
    is_new: bool


class PostgresStore:
    """Notifications and triages in PostgreSQL; `pool` serves the HA modules too."""

    def __init__(self, dsn: str, settings: PoolSettings | None = None) -> None:
        self._dsn = dsn
        self._settings = settings or PoolSettings()
        self._pool: asyncpg.Pool | None = None
        self.is_open = False
        self._checked: tuple[float, str | None] = (-REACHABLE_CACHE_SECONDS, None)

    @property
    def pool(self) -> asyncpg.Pool:
        """The shared pool (for `leases`, `outbox`, `periodic`, `actions.pg_ledger`)."""
        if self._pool is None:
            raise RuntimeError("store is not open")
        return self._pool

    async def open(self) -> None:
        """Connect, and bring the schema up to date under the migrations' lock."""
        s = self._settings
        pool = await asyncpg.create_pool(
            self._dsn,
            min_size=s.min_size,
            max_size=s.max_size,
            timeout=s.connect_timeout_seconds,
            command_timeout=s.command_timeout_seconds,
        )
        try:
            async with pool.acquire() as conn:
                await migrate(conn)
        except BaseException:
            await pool.close()
            raise
        self._pool = pool
        self.is_open = True

    async def close(self) -> None:
        """Close the pool (every write has committed before its call returned)."""
        self.is_open = False
        if self._pool is not None:
            await self._pool.close()
            self._pool = None

    def free_bytes(self) -> int:
        """No local disk is written: the database server guards its own."""
        return sys.maxsize

    async def accept(self, group_key: str, status: str, dedup_key: str, body: str) -> Accepted:
        """Store a notification unless its dedup key was stored inside the window.

        The key row is the lock: two replicas inserting the same key wait on its unique
        index, and the second sees the first's row and stores nothing. One statement (one
        round trip, its own transaction): with BEGIN, three statements and COMMIT a replica
        stored about a third as many (bench/ha.py).
        """
        window = timedelta(seconds=self._settings.dedup_window_seconds)
        row = await self.pool.fetchrow(_ACCEPT, group_key, status, dedup_key, body, window)
        if row["new_id"] is not None:
            return Accepted(int(row["new_id"]), True)
        original = row["original"]
        if original is None:
            # The other copy committed while this statement ran: its snapshot missed it.
            original = await self.pool.fetchval(
                "SELECT notification_id FROM notification_keys WHERE dedup_key = $1", dedup_key
            )
        return Accepted(int(original), False)

    async def add_notification(self, group_key: str, status: str, dedup_key: str, body: str) -> int:
        """Store a notification durably; its id (the original's id for a copy)."""
        return (await self.accept(group_key, status, dedup_key, body)).id

    async def pending(self) -> list[PendingNotification]:
        """Notifications not yet triaged, oldest first."""
        rows = await self.pool.fetch(
            "SELECT id, group_key, body FROM notifications WHERE state = 'pending' ORDER BY id"
        )
        return [PendingNotification(int(r[0]), str(r[1]), str(r[2])) for r in rows]

    async def body(self, notification_id: int) -> str | None:
        """A pending notification's body; None once it is no longer pending."""
        value = await self.pool.fetchval(
            "SELECT body FROM notifications WHERE id = $1 AND state = 'pending'", notification_id
        )
        return None if value is None else str(value)

    async def recent_dedup_keys(self, since: datetime) -> list[tuple[str, datetime]]:
        """Dedup keys received since a time, with the last time each was received."""
        rows = await self.pool.fetch(
            "SELECT dedup_key, MAX(received_at) FROM notifications WHERE received_at >= $1"
            " GROUP BY dedup_key",
            since,
        )
        return [(str(r[0]), r[1]) for r in rows]

    async def finish_notification(
        self, notification_id: int, state: str, error: str | None = None
    ) -> None:
        """Mark a notification done or failed (with the reason)."""
        await self.pool.execute(
            "UPDATE notifications SET state = $1, processed_at = now(), error = $2 WHERE id = $3",
            state,
            error,
            notification_id,
        )

    async def get_report(self, group_key: str) -> TriageReport | None:
        """The group's latest triage report."""
        value = await self.pool.fetchval(
            "SELECT report::text FROM triages WHERE group_key = $1", group_key
        )
        return None if value is None else TriageReport.from_dict(json.loads(value))

    async def save_report(self, report: TriageReport, finished: int | None = None) -> None:
        """Upsert the group's triage row; mark `finished` done in the same transaction."""
        async with self.pool.acquire() as conn, conn.transaction():
            await upsert_triage(conn, report)
            if finished is not None:
                await conn.execute(
                    "UPDATE notifications SET state = 'done', processed_at = now() WHERE id = $1",
                    finished,
                )

    async def list_triages(self, limit: int = 50) -> list[dict[str, Any]]:
        """Recent triages, newest first, as the API shows them."""
        rows = await self.pool.fetch(
            "SELECT group_key, status, alertname, severity, alert_count, truncated_alerts,"
            " verdict, confidence, notifications, first_seen, updated_at, resolved_at,"
            " report->'verdict'->>'summary' AS summary"
            " FROM triages ORDER BY updated_at DESC LIMIT $1",
            limit,
        )
        return [dict(row) for row in rows]

    async def failed_attempt(self, notification_id: int, error: str) -> int:
        """Count one failed triage of a notification; how many so far, this one included."""
        return int(
            await self.pool.fetchval(
                "INSERT INTO triage_attempts (notification_id, attempts, last_error, updated_at)"
                " VALUES ($1, 1, $2, now()) ON CONFLICT (notification_id) DO UPDATE SET"
                " attempts = triage_attempts.attempts + 1, last_error = excluded.last_error,"
                " updated_at = excluded.updated_at RETURNING attempts",
                notification_id,
                error,
            )
        )

    async def unreachable(self) -> str | None:
        """Why the database cannot take writes now (None: it answered within a second).

        Read by the receiver on every webhook and by `/readyz`: one `SELECT 1` a second at
        most, its answer cached meanwhile, so a down database costs each caller nothing.
        """
        if self._pool is None:
            return "store is not open"
        if time.monotonic() - self._checked[0] < REACHABLE_CACHE_SECONDS:
            return self._checked[1]
        problem: str | None = None
        try:
            await self._pool.fetchval("SELECT 1", timeout=REACHABLE_TIMEOUT_SECONDS)
        # Any failure means not reachable now: mid-restart asyncpg also raises its
        # InternalClientError (not a PostgresError), which escaped as a 500 (tests/ha).
        except Exception as exc:
            problem = f"database unreachable: {describe(exc)}"
        self._checked = (time.monotonic(), problem)
        return problem


def describe(exc: BaseException) -> str:
    """A database error in a few words for an HTTP answer or a log line (no URL in it)."""
    text = " ".join(str(exc).split())[:200]
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


async def upsert_triage(conn: asyncpg.Connection, report: TriageReport) -> None:
    """Insert or update the group's triage row (the caller's transaction)."""
    await conn.execute(_UPSERT_TRIAGE, *triage_row(report))


# One statement, one round trip, its own transaction: take the key (or find it taken
# inside the window), and insert the notification only when the key was taken.
_ACCEPT = """
WITH fresh AS (SELECT nextval('notifications_id_seq') AS id),
taken AS (
    INSERT INTO notification_keys (dedup_key, notification_id, received_at)
    SELECT $3, fresh.id, now() FROM fresh
    ON CONFLICT (dedup_key) DO UPDATE SET
        notification_id = excluded.notification_id, received_at = excluded.received_at
    WHERE notification_keys.received_at < excluded.received_at - $5::interval
    RETURNING notification_id
),
stored AS (
    INSERT INTO notifications (id, group_key, status, dedup_key, body)
    SELECT notification_id, $1, $2, $3, $4 FROM taken
    RETURNING id
)
SELECT (SELECT id FROM stored) AS new_id,
    (SELECT notification_id FROM notification_keys WHERE dedup_key = $3) AS original
"""

_UPSERT_TRIAGE = """
INSERT INTO triages (group_key, status, alertname, severity, alert_count, truncated_alerts,
    verdict, confidence, notifications, first_seen, updated_at, resolved_at, report)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 1, $9, $10, $11, $12::jsonb)
ON CONFLICT (group_key) DO UPDATE SET
    status = excluded.status, alertname = excluded.alertname, severity = excluded.severity,
    alert_count = excluded.alert_count, truncated_alerts = excluded.truncated_alerts,
    verdict = excluded.verdict, confidence = excluded.confidence,
    notifications = triages.notifications + 1, updated_at = excluded.updated_at,
    resolved_at = excluded.resolved_at, report = excluded.report
"""
