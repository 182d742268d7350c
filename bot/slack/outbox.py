"""The Slack tables on SQLite: the outbox of pending sends and one row per group message.

The embedded (one process) `bot.slack.tables.SlackStore`; `slack.pg_outbox` is the
PostgreSQL one. Called by `slack.notifier` (enqueue), `slack.sender` (heads, claim,
outcome) and `slack.dispatch` (message state); `api` reads what is undelivered and why.
Every Slack write goes through the outbox first, so a restart resends what was pending;
the group row keeps the message reference (channel, ts), the last report and the state
people gave it, so a click can re-render the message without the worker.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from bot.model.report import TriageReport
from bot.slack.digest_tables import SqliteDigests
from bot.slack.render import MessageState
from bot.slack.tables import GroupMessage, Head, MessageRef, Op
from bot.store.group_commit import Statement
from bot.store.sqlite import Store, now_text

SCHEMA = """
CREATE TABLE IF NOT EXISTS slack_outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    group_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    channel TEXT NOT NULL,
    body TEXT NOT NULL,
    data BLOB,
    created_at TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending',
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    outcome_unknown INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS slack_outbox_pending ON slack_outbox(state, group_id, id);
CREATE TABLE IF NOT EXISTS slack_messages (
    group_id TEXT PRIMARY KEY,
    group_key TEXT NOT NULL,
    channel TEXT NOT NULL,
    ts TEXT,
    report TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT '',
    updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS slack_digests (
    channel TEXT PRIMARY KEY,
    ts TEXT,
    listed TEXT NOT NULL DEFAULT '[]'
);
"""

__all__ = ["GroupMessage", "Head", "MessageRef", "Op", "SlackTables"]


class SlackTables:
    """The outbox and message rows, on the store's connection (one process sends)."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self.digests = SqliteDigests(store)

    async def ensure(self) -> None:
        """Create the tables when missing."""
        await self._store.ensure_schema(SCHEMA)
        async with self._store.connection.execute("PRAGMA table_info(slack_outbox)") as cur:
            columns = {str(r[1]) for r in await cur.fetchall()}
        if "outcome_unknown" not in columns:  # a table from before unknown outcomes
            await self._store.write(
                (
                    "ALTER TABLE slack_outbox ADD COLUMN"
                    " outcome_unknown INTEGER NOT NULL DEFAULT 0",
                    (),
                )
            )

    async def save_group(
        self, group_id: str, report: TriageReport, channel: str, ops: list[Op]
    ) -> None:
        """Record the group's latest report and queue its sends, in one commit."""
        upsert = (
            "INSERT INTO slack_messages (group_id, group_key, channel, report, updated_at)"
            " VALUES (?, ?, ?, ?, ?) ON CONFLICT(group_id) DO UPDATE SET"
            " report = excluded.report, updated_at = excluded.updated_at",
            (group_id, report.group_key, channel, json.dumps(report.to_dict()), now_text()),
        )
        await self._store.write(upsert, *_op_statements(group_id, ops))

    async def enqueue(self, group_id: str, ops: list[Op]) -> None:
        """Queue sends for a group that already has a row."""
        await self._store.write(*_op_statements(group_id, ops))

    async def pending(self, group_id: str) -> list[Op]:
        """The group's unsent ops, oldest first."""
        async with self._store.connection.execute(
            "SELECT id, kind, channel, body, data FROM slack_outbox"
            " WHERE state = 'pending' AND group_id = ? ORDER BY id",
            (group_id,),
        ) as cur:
            rows = await cur.fetchall()
        return [Op(r[1], str(r[2]), json.loads(r[3]), r[4], int(r[0])) for r in rows]

    async def heads(self) -> list[Head]:
        """Every group's next op (see `Head`), oldest first, with where its message is."""
        async with self._store.connection.execute(
            "SELECT o.id, o.group_id, o.kind, m.channel, m.ts, o.created_at FROM slack_outbox o"
            " JOIN slack_messages m ON m.group_id = o.group_id"
            " WHERE o.id IN (SELECT COALESCE(MIN(CASE WHEN kind = 'message' THEN id END),"
            " MIN(id)) FROM slack_outbox WHERE state = 'pending' GROUP BY group_id) ORDER BY o.id"
        ) as cur:
            rows = await cur.fetchall()
        return [
            Head(int(r[0]), str(r[1]), r[2], str(r[3]), r[4], datetime.fromisoformat(str(r[5])))
            for r in rows
        ]

    async def claim(self, group_id: str, op_ids: list[int]) -> list[Op]:
        """Mark ops as being sent and read their bodies after that: a newer rendering
        queued from now on takes a new row instead of replacing a body already on its way
        (which would then be marked sent without ever being sent)."""
        marks = ",".join("?" * len(op_ids))
        await self._store.write(
            (
                f"UPDATE slack_outbox SET state = 'sending' WHERE id IN ({marks})"
                " AND group_id = ? AND state = 'pending'",
                (*op_ids, group_id),
            )
        )
        async with self._store.connection.execute(
            "SELECT o.id, o.kind, o.channel, o.body, o.data, m.ts, o.outcome_unknown"
            " FROM slack_outbox o JOIN slack_messages m ON m.group_id = o.group_id"
            f" WHERE o.id IN ({marks}) AND o.state = 'sending' ORDER BY o.id",
            tuple(op_ids),
        ) as cur:
            rows = await cur.fetchall()
        return [
            Op(r[1], str(r[2]), json.loads(r[3]), r[4], int(r[0]), r[5], bool(r[6])) for r in rows
        ]

    async def unclaim_all(self) -> None:
        """At start: what a stopped process was sending is pending again."""
        await self._store.write(
            ("UPDATE slack_outbox SET state = 'pending' WHERE state = 'sending'", ())
        )

    async def sent(self, op_ids: list[int], ref: MessageRef | None) -> bool:
        """Record the ops sent and where the message is, in one commit (one process
        sends, so the claim is always ours)."""
        marks = ",".join("?" * len(op_ids))
        statements: list[Statement] = [
            (
                "UPDATE slack_outbox SET state = 'sent', attempts = attempts + 1,"
                f" last_error = NULL, outcome_unknown = 0 WHERE id IN ({marks})"
                " AND state = 'sending'",
                tuple(op_ids),
            )
        ]
        if ref is not None:
            statements.append(
                (
                    "UPDATE slack_messages SET channel = ?, ts = ? WHERE group_id ="
                    " (SELECT group_id FROM slack_outbox WHERE id = ?) AND ts IS ?",
                    (ref.channel, ref.ts, op_ids[0], ref.previous),
                )
            )
        await self._store.write(*statements)
        return True

    async def failed(self, op_ids: list[int], error: str, *, permanent: bool = False) -> None:
        """Give claimed ops back (pending, tried again later) or bury them (dead)."""
        await self._finish(op_ids, "dead" if permanent else "pending", error)

    async def unknown(self, op_ids: list[int], error: str) -> None:
        """A send that may have reached Slack: pending again, marked to look first."""
        await self._finish(op_ids, "pending", error, unknown=True)

    async def _finish(
        self, op_ids: list[int], state: str, error: str, *, unknown: bool = False
    ) -> None:
        sql = (
            "UPDATE slack_outbox SET state = ?, attempts = attempts + 1, last_error = ?,"
            " outcome_unknown = MAX(outcome_unknown, ?) WHERE id = ?"
        )
        await self._store.write(*((sql, (state, error, int(unknown), i)) for i in op_ids))

    async def note(self, group_id: str, error: str) -> None:
        """Say why a group's pending ops cannot go yet (no channel), without a try."""
        await self._store.write(
            (
                "UPDATE slack_outbox SET last_error = ? WHERE group_id = ? AND state = 'pending'",
                (error, group_id),
            )
        )

    async def set_channel(self, group_id: str, channel: str) -> None:
        """Give a group that had no channel its channel (the configuration was fixed)."""
        await self._store.write(
            ("UPDATE slack_messages SET channel = ? WHERE group_id = ?", (channel, group_id)),
            (
                "UPDATE slack_outbox SET channel = ? WHERE group_id = ? AND state = 'pending'",
                (channel, group_id),
            ),
        )

    async def undelivered(self) -> dict[str, dict[str, Any]]:
        """Per group key with unsent or dead ops: counts and the last error, for the API."""
        async with self._store.connection.execute(
            "SELECT m.group_key, SUM(o.state = 'pending'), SUM(o.state = 'dead'),"
            " MAX(o.last_error), MIN(o.created_at) FROM slack_outbox o"
            " JOIN slack_messages m ON m.group_id = o.group_id"
            " WHERE o.state IN ('pending', 'dead') GROUP BY m.group_key"
        ) as cur:
            rows = await cur.fetchall()
        return {
            str(r[0]): {"pending": int(r[1]), "dead": int(r[2]), "error": r[3], "since": r[4]}
            for r in rows
        }

    async def load(self, group_id: str) -> GroupMessage | None:
        """The group's message row, if the group was ever notified."""
        async with self._store.connection.execute(
            "SELECT group_key, channel, ts, report, state FROM slack_messages WHERE group_id = ?",
            (group_id,),
        ) as cur:
            row = await cur.fetchone()
        return None if row is None else GroupMessage.from_row(group_id, row)

    async def save_state(self, group_id: str, state: MessageState) -> None:
        """Store what people did with the message."""
        await self._store.write(
            (
                "UPDATE slack_messages SET state = ?, updated_at = ? WHERE group_id = ?",
                (state.to_json(), now_text(), group_id),
            )
        )


def _op_statements(group_id: str, ops: list[Op]) -> list[Statement]:
    statements: list[Statement] = []
    for op in ops:
        values = (group_id, op.kind, op.channel, json.dumps(op.body), op.data, now_text())
        if op.kind != "message":
            statements.append((_INSERT, values))
            continue
        # Only the newest rendering matters: an unsent one takes the new body in its place
        # in the queue (so replies queued after it still follow it); else a new row.
        statements.append((_REPLACE_PENDING, (values[3], group_id)))
        statements.append((_INSERT + _UNLESS_PENDING, (*values, group_id)))
    return statements


_INSERT = (
    "INSERT INTO slack_outbox (group_id, kind, channel, body, data, created_at)"
    " SELECT ?, ?, ?, ?, ?, ?"
)
_UNLESS_PENDING = (
    " WHERE NOT EXISTS (SELECT 1 FROM slack_outbox WHERE group_id = ? AND kind = 'message'"
    " AND state = 'pending')"
)
_REPLACE_PENDING = (
    "UPDATE slack_outbox SET body = ? WHERE id = (SELECT MIN(id) FROM slack_outbox"
    " WHERE group_id = ? AND kind = 'message' AND state = 'pending')"
)
