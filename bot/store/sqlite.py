"""The durable store: SQLite through aiosqlite, one connection per process.

Opened and closed by `app`. The receiver writes notifications through the group-commit
writer (`group_commit`: many webhooks, one transaction) before it answers 200; the
worker saves one triage row per alert group and marks notifications done, and at start
reads back what a previous run left pending.
Other modules (Slack outbox, audit, drift history) add their own tables through
`ensure_schema` on the same connection.
"""

from __future__ import annotations

import json
import logging
import shutil
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiosqlite

from bot.model.report import TriageReport
from bot.store.group_commit import GroupCommitWriter, Statement
from bot.store.interface import PendingNotification, triage_row

log = logging.getLogger(__name__)

# How long a free-space reading serves the receiver: one statvfs a second, not per webhook.
DISK_CHECK_SECONDS = 1.0

_SCHEMA = """
CREATE TABLE IF NOT EXISTS notifications (
    id INTEGER PRIMARY KEY,
    group_key TEXT NOT NULL,
    status TEXT NOT NULL,
    dedup_key TEXT NOT NULL,
    received_at TEXT NOT NULL,
    body TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending',
    processed_at TEXT,
    error TEXT
);
-- Only pending rows are indexed, by id: a webhook adds an entry at the end, its triage
-- removes it. The former (state, group_key, id) index put each row at a random place twice.
DROP INDEX IF EXISTS notifications_pending;
CREATE INDEX IF NOT EXISTS notifications_pending_ids ON notifications(id) WHERE state = 'pending';
CREATE INDEX IF NOT EXISTS notifications_received ON notifications(received_at);
CREATE TABLE IF NOT EXISTS triages (
    group_key TEXT PRIMARY KEY,
    status TEXT NOT NULL,
    alertname TEXT NOT NULL,
    severity TEXT NOT NULL,
    alert_count INTEGER NOT NULL,
    truncated_alerts INTEGER NOT NULL,
    verdict TEXT NOT NULL,
    confidence REAL NOT NULL,
    notifications INTEGER NOT NULL,
    first_seen TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    resolved_at TEXT,
    report TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS triages_updated ON triages(updated_at);
CREATE TABLE IF NOT EXISTS triage_attempts (
    notification_id INTEGER PRIMARY KEY,
    attempts INTEGER NOT NULL,
    last_error TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
"""
_TRIAGE_COLUMNS = (
    "group_key", "status", "alertname", "severity", "alert_count", "truncated_alerts",
    "verdict", "confidence", "notifications", "first_seen", "updated_at", "resolved_at",
    "summary",
)  # fmt: skip


def now_text() -> str:
    """The current time as the store writes it (ISO 8601, UTC); other tables use it too."""
    return datetime.now(UTC).isoformat()


class Store:
    """Notifications and triages in SQLite."""

    def __init__(self, path: Path, *, synchronous: str = "full") -> None:
        self.path = path
        self._synchronous = "FULL" if synchronous == "full" else "NORMAL"
        self._conn: aiosqlite.Connection | None = None
        self._next_id = 1
        self._writer: GroupCommitWriter | None = None
        self._triaged: set[str] = set()  # groups with a triage row: the others need no read
        self._free: tuple[float, int] = (0.0, 0)  # (monotonic time read, free bytes)
        self.is_open = False

    def free_bytes(self) -> int:
        """Free space on the store's file system (read at most every `DISK_CHECK_SECONDS`)."""
        now = time.monotonic()
        read_at, free = self._free
        if now - read_at >= DISK_CHECK_SECONDS or read_at == 0.0:
            free = shutil.disk_usage(self.path.parent).free
            self._free = (now, free)
        return free

    async def open(self) -> None:
        """Open (or create) the database and start the group-commit writer."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = await aiosqlite.connect(self.path)
        try:
            # WAL lets the readers (API) run beside the writer; FULL fsyncs every commit.
            await db.execute("PRAGMA journal_mode=WAL")
            await db.execute(f"PRAGMA synchronous={self._synchronous}")
            await db.execute("PRAGMA busy_timeout=5000")
            await db.executescript(_SCHEMA)
            await db.commit()
            async with db.execute("SELECT COALESCE(MAX(id), 0) FROM notifications") as cur:
                row = await cur.fetchone()
            async with db.execute("SELECT group_key FROM triages") as cur:
                self._triaged = {str(r[0]) for r in await cur.fetchall()}
            writer = GroupCommitWriter(self.path, self._synchronous)
            await writer.start()
        except BaseException:
            # aiosqlite's thread is not a daemon: left open, it keeps the process alive.
            await db.close()
            raise
        self._conn = db
        self._writer = writer
        self._next_id = int(row[0] if row else 0) + 1
        self.is_open = True

    @property
    def _db(self) -> aiosqlite.Connection:
        if self._conn is None:
            raise RuntimeError("store is not open")
        return self._conn

    @property
    def connection(self) -> aiosqlite.Connection:
        """The shared connection, for modules that keep tables of their own."""
        return self._db

    async def ensure_schema(self, script: str) -> None:
        """Run `CREATE ... IF NOT EXISTS` statements of another module."""
        await self._db.executescript(script)
        await self._db.commit()

    async def close(self) -> None:
        """Finish queued writes and close the database."""
        self.is_open = False
        if self._writer is not None:
            await self._writer.stop()
        if self._conn is not None:
            await self._conn.close()
            self._conn = None

    # --- notifications: group commit ----------------------------------------------------

    async def write(self, *statements: Statement) -> None:
        """Run statements in one transaction, batched with other writers' (group commit).

        Returns once the commit is durable; raises what the database raised.
        """
        if not self.is_open or self._writer is None:
            raise RuntimeError("store is closed")
        await self._writer.write(statements)

    async def add_notification(self, group_key: str, status: str, dedup_key: str, body: str) -> int:
        """Write a notification durably; returns its id once the commit is done."""
        ident = self._next_id
        self._next_id += 1
        await self.write(
            (
                "INSERT INTO notifications (id, group_key, status, dedup_key, received_at, body)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (ident, group_key, status, dedup_key, now_text(), body),
            )
        )
        return ident

    async def pending(self) -> list[PendingNotification]:
        """Notifications not yet triaged, oldest first (to resume them at start)."""
        async with self._db.execute(
            "SELECT id, group_key, body FROM notifications WHERE state = 'pending' ORDER BY id"
        ) as cur:
            rows = await cur.fetchall()
        return [PendingNotification(int(r[0]), str(r[1]), str(r[2])) for r in rows]

    async def body(self, notification_id: int) -> str | None:
        """A pending notification's body; None once it is no longer pending."""
        async with self._db.execute(
            "SELECT body FROM notifications WHERE id = ? AND state = 'pending'",
            (notification_id,),
        ) as cur:
            row = await cur.fetchone()
        return str(row[0]) if row else None

    async def recent_dedup_keys(self, since: datetime) -> list[tuple[str, datetime]]:
        """Dedup keys received since a time, to rebuild the in-memory index at start."""
        async with self._db.execute(
            "SELECT dedup_key, MAX(received_at) FROM notifications WHERE received_at >= ?"
            " GROUP BY dedup_key",
            (since.isoformat(),),
        ) as cur:
            rows = await cur.fetchall()
        return [(str(r[0]), datetime.fromisoformat(str(r[1]))) for r in rows]

    async def finish_notification(
        self, notification_id: int, state: str, error: str | None = None
    ) -> None:
        """Mark a notification done (or failed, with the reason)."""
        await self.write(
            (
                "UPDATE notifications SET state = ?, processed_at = ?, error = ? WHERE id = ?",
                (state, now_text(), error, notification_id),
            )
        )

    async def failed_attempt(self, notification_id: int, error: str) -> int:
        """Count one failed triage of a notification; how many so far, this one included."""
        await self.write(
            (
                "INSERT INTO triage_attempts (notification_id, attempts, last_error, updated_at)"
                " VALUES (?, 1, ?, ?) ON CONFLICT(notification_id) DO UPDATE SET"
                " attempts = attempts + 1, last_error = excluded.last_error,"
                " updated_at = excluded.updated_at",
                (notification_id, error, now_text()),
            )
        )
        async with self._db.execute(
            "SELECT attempts FROM triage_attempts WHERE notification_id = ?", (notification_id,)
        ) as cur:
            row = await cur.fetchone()
        return int(row[0]) if row else 1

    async def unreachable(self) -> str | None:
        """Why the store cannot take writes now (None: it can); a local file: open or not."""
        return None if self.is_open else "store is not open"

    # --- triages -------------------------------------------------------------------------

    async def get_report(self, group_key: str) -> TriageReport | None:
        """The group's latest triage report, if any."""
        if group_key not in self._triaged:  # most alert groups are new: no read for them
            return None
        async with self._db.execute(
            "SELECT report FROM triages WHERE group_key = ?", (group_key,)
        ) as cur:
            row = await cur.fetchone()
        if row is None:
            return None
        return TriageReport.from_dict(json.loads(row[0]))

    async def save_report(self, report: TriageReport, finished: int | None = None) -> None:
        """Insert or update the group's triage row; mark `finished` done in the same commit."""
        upsert: Statement = (
            """
            INSERT INTO triages (group_key, status, alertname, severity, alert_count,
                truncated_alerts, verdict, confidence, notifications, first_seen, updated_at,
                resolved_at, report)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?, ?)
            ON CONFLICT(group_key) DO UPDATE SET
                status = excluded.status, alertname = excluded.alertname,
                severity = excluded.severity, alert_count = excluded.alert_count,
                truncated_alerts = excluded.truncated_alerts, verdict = excluded.verdict,
                confidence = excluded.confidence, notifications = triages.notifications + 1,
                updated_at = excluded.updated_at, resolved_at = excluded.resolved_at,
                report = excluded.report
            """,
            triage_row(report),
        )
        statements: tuple[Statement, ...] = (upsert,)
        if finished is not None:
            done: Statement = (
                "UPDATE notifications SET state = 'done', processed_at = ? WHERE id = ?",
                (now_text(), finished),
            )
            statements = (upsert, done)
        await self.write(*statements)
        self._triaged.add(report.group_key)

    async def list_triages(self, limit: int = 50) -> list[dict[str, Any]]:
        """Recent triages, newest first, as the API shows them."""
        async with self._db.execute(
            "SELECT group_key, status, alertname, severity, alert_count, truncated_alerts,"
            " verdict, confidence, notifications, first_seen, updated_at, resolved_at,"
            " json_extract(report, '$.verdict.summary')"
            " FROM triages ORDER BY updated_at DESC LIMIT ?",
            (limit,),
        ) as cur:
            rows = await cur.fetchall()
        return [dict(zip(_TRIAGE_COLUMNS, row, strict=True)) for row in rows]
