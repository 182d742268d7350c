"""The audit log: every action asked for from Slack, allowed or refused, and its outcome.

`slack.dispatch` records an entry when a click arrives and finishes it when the action
ends; `GET /api/audit` (the handler here, routed by `slack.service`) serves the newest
entries as JSON. The "Right / Wrong diagnosis" clicks are entries of action `feedback`
(arg `right` or `wrong`); `feedback_for` reads them back for `triage-bot export-case`.
`Audit` is what those callers use; `AuditLog` here keeps it in SQLite,
`actions.pg_audit.PgAuditLog` in PostgreSQL (the same columns, times as ISO text).
"""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Callable
from dataclasses import astuple, dataclass
from datetime import datetime
from typing import Any, Protocol

from aiohttp import web

from bot.http_errors import error_response
from bot.slack.buttons import group_id
from bot.store.sqlite import Store, now_text

SCHEMA = """
CREATE TABLE IF NOT EXISTS audit_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    ref TEXT NOT NULL UNIQUE,
    at TEXT NOT NULL,
    user_id TEXT NOT NULL,
    user_name TEXT NOT NULL,
    action TEXT NOT NULL,
    group_id TEXT NOT NULL,
    target TEXT NOT NULL,
    arg TEXT NOT NULL,
    decision TEXT NOT NULL,
    reason TEXT NOT NULL,
    outcome TEXT,
    detail TEXT,
    finished_at TEXT,
    source TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_log_at ON audit_log(at);
"""

MAX_LIMIT = 1000


@dataclass(frozen=True)
class AuditEntry:
    """One click: who asked what, the decision and why."""

    user_id: str
    user_name: str
    action: str
    group_id: str
    target: str
    arg: str
    decision: str  # allowed | refused | duplicate | busy | invalid
    reason: str
    source: str = "http"  # http | socket


@dataclass(frozen=True)
class Feedback:
    """One person's answer on a group's diagnosis."""

    user_id: str
    user_name: str
    verdict_ok: bool
    at: datetime


class Audit(Protocol):
    """What `slack.dispatch`, `GET /api/audit` and `export-case` use of the audit log."""

    async def ensure(self) -> None:
        """Create the table when missing (PostgreSQL: the migrations did)."""

    async def record(self, entry: AuditEntry) -> str:
        """Write an entry now; its reference, to finish it later."""

    async def finish(self, ref: str, outcome: str, detail: str) -> None:
        """Record how an allowed action ended (ok or failed) and what it said."""

    async def recent(self, limit: int = 100, action: str | None = None) -> list[dict[str, Any]]:
        """Newest entries first, each a row of `audit_log` (times as ISO text)."""

    async def feedback_for(self, group_key: str) -> list[Feedback]:
        """Every "Right / Wrong diagnosis" answer on a group, oldest first."""


class AuditLog:
    """The audit table on the store's connection."""

    def __init__(self, store: Store) -> None:
        self._store = store

    async def ensure(self) -> None:
        """Create the table when missing."""
        await self._store.ensure_schema(SCHEMA)

    async def record(self, entry: AuditEntry) -> str:
        """Write an entry now; its reference, to finish it later."""
        ref = uuid.uuid4().hex
        await self._store.write(
            (
                "INSERT INTO audit_log (ref, at, user_id, user_name, action, group_id, target,"
                " arg, decision, reason, source) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (ref, now_text(), *astuple(entry)),
            )
        )
        return ref

    async def finish(self, ref: str, outcome: str, detail: str) -> None:
        """Record how an allowed action ended (ok or failed) and what it said."""
        await self._store.write(
            (
                "UPDATE audit_log SET outcome = ?, detail = ?, finished_at = ? WHERE ref = ?",
                (outcome, detail[:4000], now_text(), ref),
            )
        )

    async def recent(self, limit: int = 100, action: str | None = None) -> list[dict[str, Any]]:
        """Newest entries first."""
        sql = "SELECT * FROM audit_log"
        args: tuple[Any, ...] = ()
        if action:
            sql, args = sql + " WHERE action = ?", (action,)
        async with self._store.connection.execute(
            sql + " ORDER BY id DESC LIMIT ?", (*args, limit)
        ) as cur:
            names = [d[0] for d in cur.description]
            rows = await cur.fetchall()
        return [dict(zip(names, row, strict=True)) for row in rows]

    async def feedback_for(self, group_key: str) -> list[Feedback]:
        """Every "Right / Wrong diagnosis" answer on a group, oldest first."""
        return await feedback_for(self._store, group_key)


async def feedback_for(store: Store, group_key: str) -> list[Feedback]:
    """Every "Right / Wrong diagnosis" answer on a group, oldest first (empty when none, or
    when the audit table was never created because Slack is off)."""
    sql = (
        "SELECT user_id, user_name, arg, at FROM audit_log WHERE group_id = ?"
        " AND action = 'feedback' AND decision = 'allowed' ORDER BY id"
    )
    try:
        async with store.connection.execute(sql, (group_id(group_key),)) as cur:
            rows = await cur.fetchall()
    except sqlite3.OperationalError as exc:
        if "no such table" in str(exc):
            return []
        raise
    return [
        Feedback(str(r[0]), str(r[1]), r[2] == "right", datetime.fromisoformat(str(r[3])))
        for r in rows
    ]


def audit_handler(current: Callable[[], Audit | None]) -> Any:
    """`GET /api/audit?limit=N&action=A`: the newest entries as JSON (503 before start)."""

    async def handle(request: web.Request) -> web.Response:
        log = current()
        if log is None:
            return error_response(503, "the audit log is not open yet")
        raw = request.query.get("limit", "100")
        if not raw.isdigit() or not 1 <= int(raw) <= MAX_LIMIT:
            message = f"limit must be an integer from 1 to {MAX_LIMIT}"
            return error_response(400, message)
        action = request.query.get("action") or None
        entries = await log.recent(int(raw), action)
        return web.json_response({"entries": entries})

    return handle
