"""The audit log on PostgreSQL: every replica's clicks in one `audit_log` table.

The same contract as `bot.actions.audit.AuditLog` (the `Audit` protocol): `slack.dispatch`
records and finishes entries on whichever replica took the click, `GET /api/audit` on any
replica reads them all, `export-case` reads a group's feedback. Built by `app` with the
store's pool when the store is PostgreSQL. Rows come back as the SQLite log gives them
(times as ISO 8601 text), so the API answers the same on both back ends.
"""

from __future__ import annotations

import uuid
from dataclasses import astuple
from datetime import datetime
from typing import Any

import asyncpg

from bot.actions.audit import AuditEntry, Feedback
from bot.slack.buttons import group_id


class PgAuditLog:
    """Entries in `audit_log` (created by the store's migrations)."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def ensure(self) -> None:
        """Nothing to create: the migrations made the table."""

    async def record(self, entry: AuditEntry) -> str:
        """Write an entry now; its reference, to finish it later."""
        ref = uuid.uuid4().hex
        await self._pool.execute(
            "INSERT INTO audit_log (ref, at, user_id, user_name, action, group_id, target,"
            " arg, decision, reason, source) VALUES ($1, now(), $2, $3, $4, $5, $6, $7, $8,"
            " $9, $10)",
            ref,
            *astuple(entry),
        )
        return ref

    async def finish(self, ref: str, outcome: str, detail: str) -> None:
        """Record how an allowed action ended (ok or failed) and what it said."""
        await self._pool.execute(
            "UPDATE audit_log SET outcome = $2, detail = $3, finished_at = now() WHERE ref = $1",
            ref,
            outcome,
            detail[:4000],
        )

    async def recent(self, limit: int = 100, action: str | None = None) -> list[dict[str, Any]]:
        """Newest entries first, as `AuditLog.recent` gives them."""
        rows = await self._pool.fetch(
            "SELECT * FROM audit_log WHERE $1::text IS NULL OR action = $1"
            " ORDER BY id DESC LIMIT $2",
            action,
            limit,
        )
        return [{k: _text(v) for k, v in row.items()} for row in rows]

    async def feedback_for(self, group_key: str) -> list[Feedback]:
        """Every "Right / Wrong diagnosis" answer on a group, oldest first."""
        rows = await self._pool.fetch(
            "SELECT user_id, user_name, arg, at FROM audit_log WHERE group_id = $1"
            " AND action = 'feedback' AND decision = 'allowed' ORDER BY id",
            group_id(group_key),
        )
        return [Feedback(str(r[0]), str(r[1]), r[2] == "right", r[3]) for r in rows]


def _text(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value
