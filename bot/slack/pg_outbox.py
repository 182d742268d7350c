"""The Slack tables on PostgreSQL: one message per group across any number of replicas.

The HA `bot.slack.tables.SlackStore`, built by `app` when the store is PostgreSQL
(`PgSlackTables(pool, replica, claim_seconds)`); `slack.outbox.SlackTables` is the SQLite
one. Every cross-replica rule is the database's:
- a group's message op is unique while unsent (a partial unique index, migration 1): a
  newer rendering from any replica replaces the unsent body;
- a sender `claim`s ops: the group's message row is locked (`FOR UPDATE SKIP LOCKED`:
  a replica claiming the same group skips it), nothing is taken while another op of the
  group is being sent, and only pending ops or ops whose claim expired are taken;
- `sent` stores the outcome and the message's ts in one transaction, only while the
  claim is still this replica's, and a first post's ts only while the group has none;
- `unclaim_all` at start gives back this replica's claims and expired ones, never a live
  claim of another replica;
- a channel's storm digest (`slack_digests`, migration 4) is claimed the same way, so
  one replica at a time posts or updates it and its first post's ts is kept once.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import asyncpg

from bot.model.report import TriageReport
from bot.slack.digest_tables import PgDigests
from bot.slack.render import MessageState
from bot.slack.tables import GroupMessage, Head, MessageRef, Op

# An op nobody holds: pending, or being sent by a replica whose claim ran out (or with no
# claim at all: a row `migrate-store` copied from SQLite mid-send).
_FREE = (
    "(o.state = 'pending' OR (o.state = 'sending'"
    " AND (o.claim_until IS NULL OR o.claim_until <= now())))"
)
# Another op of the group is on its way: its outcome decides what the group's next send is.
_BUSY = (
    "EXISTS (SELECT 1 FROM slack_outbox b WHERE b.group_id = o.group_id"
    " AND b.state = 'sending' AND b.claim_until > now())"
)


class PgSlackTables:
    """The outbox and message rows of one replica (`replica` names its claims)."""

    def __init__(self, pool: asyncpg.Pool, replica: str, claim_seconds: float = 60.0) -> None:
        self._pool = pool
        self.replica = replica
        self._claim = timedelta(seconds=claim_seconds)
        self.digests = PgDigests(pool, replica, self._claim)

    async def ensure(self) -> None:
        """Nothing to create: the store's migrations made the tables."""

    async def save_group(
        self, group_id: str, report: TriageReport, channel: str, ops: list[Op]
    ) -> None:
        """Record the group's latest report and queue its sends, in one transaction."""
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.execute(
                "INSERT INTO slack_messages (group_id, group_key, channel, report)"
                " VALUES ($1, $2, $3, $4::jsonb) ON CONFLICT (group_id) DO UPDATE SET"
                " report = excluded.report, updated_at = now()",
                group_id,
                report.group_key,
                channel,
                json.dumps(report.to_dict()),
            )
            await _queue(conn, group_id, ops)

    async def enqueue(self, group_id: str, ops: list[Op]) -> None:
        """Queue sends for a group that already has a row."""
        async with self._pool.acquire() as conn, conn.transaction():
            await _queue(conn, group_id, ops)

    async def pending(self, group_id: str) -> list[Op]:
        """The group's ops nobody holds, oldest first."""
        rows = await self._pool.fetch(
            "SELECT o.id, o.kind, o.channel, o.body::text, o.data FROM slack_outbox o"
            f" WHERE o.group_id = $1 AND {_FREE} ORDER BY o.id",
            group_id,
        )
        return [Op(r[1], str(r[2]), json.loads(r[3]), r[4], int(r[0])) for r in rows]

    async def heads(self) -> list[Head]:
        """Every group's next free op, oldest first; groups with an op on its way wait."""
        rows = await self._pool.fetch(
            "WITH h AS (SELECT COALESCE(MIN(o.id) FILTER (WHERE o.kind = 'message'),"
            f" MIN(o.id)) AS id FROM slack_outbox o WHERE {_FREE} GROUP BY o.group_id)"
            " SELECT o.id, o.group_id, o.kind, m.channel, m.ts, o.created_at"
            " FROM h JOIN slack_outbox o ON o.id = h.id"
            f" JOIN slack_messages m ON m.group_id = o.group_id WHERE NOT {_BUSY}"
            " ORDER BY o.id"
        )
        return [Head(int(r[0]), str(r[1]), r[2], str(r[3]), r[4], r[5]) for r in rows]

    async def claim(self, group_id: str, op_ids: list[int]) -> list[Op]:
        """Take the ops still free for this replica, with the group's ts read under the
        group's lock; empty when another replica holds the group or one of its ops."""
        async with self._pool.acquire() as conn, conn.transaction():
            ts = await conn.fetchrow(
                "SELECT ts FROM slack_messages WHERE group_id = $1 FOR UPDATE SKIP LOCKED",
                group_id,
            )
            if ts is None:
                return []
            free = await conn.fetch(
                f"SELECT o.id FROM slack_outbox o WHERE o.id = ANY($1::bigint[])"
                f" AND o.group_id = $2 AND {_FREE} AND NOT {_BUSY} FOR UPDATE SKIP LOCKED",
                op_ids,
                group_id,
            )
            if not free:
                return []
            rows = await conn.fetch(
                "UPDATE slack_outbox SET state = 'sending', claimed_by = $2,"
                " claim_until = now() + $3 WHERE id = ANY($1::bigint[])"
                " RETURNING id, kind, channel, body::text, data, outcome_unknown",
                [int(r[0]) for r in free],
                self.replica,
                self._claim,
            )
        ops = [
            Op(r[1], str(r[2]), json.loads(r[3]), r[4], int(r[0]), ts[0], bool(r[5])) for r in rows
        ]
        return sorted(ops, key=lambda op: op.id)

    async def unclaim_all(self) -> None:
        """At start: this replica's claims (a previous run of it) and expired ones are
        pending again; another live replica's claims stay its own."""
        await self._pool.execute(
            "UPDATE slack_outbox SET state = 'pending', claimed_by = NULL, claim_until = NULL"
            " WHERE state = 'sending' AND (claimed_by = $1 OR claim_until IS NULL"
            " OR claim_until <= now())",
            self.replica,
        )

    async def sent(self, op_ids: list[int], ref: MessageRef | None) -> bool:
        """Record the ops sent and where the message is, in one transaction; False when
        the claim was no longer ours (expired and taken over): nothing is recorded."""
        try:
            async with self._pool.acquire() as conn, conn.transaction():
                done = await conn.fetch(
                    "UPDATE slack_outbox SET state = 'sent', attempts = attempts + 1,"
                    " last_error = NULL, outcome_unknown = FALSE, claimed_by = NULL,"
                    " claim_until = NULL WHERE id = ANY($1::bigint[]) AND state = 'sending'"
                    " AND claimed_by = $2 RETURNING group_id",
                    op_ids,
                    self.replica,
                )
                if len(done) != len(op_ids):
                    raise _Lost  # rolls back: nothing of this send is recorded
                if ref is not None:
                    await conn.execute(
                        "UPDATE slack_messages SET channel = $2, ts = $3, updated_at = now()"
                        " WHERE group_id = $1 AND ts IS NOT DISTINCT FROM $4",
                        str(done[0][0]),
                        ref.channel,
                        ref.ts,
                        ref.previous,
                    )
        except _Lost:
            return False
        return True

    async def failed(self, op_ids: list[int], error: str, *, permanent: bool = False) -> None:
        """Give claimed ops back (pending, for any replica) or bury them (dead)."""
        await self._finish(op_ids, "dead" if permanent else "pending", error, unknown=False)

    async def unknown(self, op_ids: list[int], error: str) -> None:
        """A send that may have reached Slack: pending again, marked to look first."""
        await self._finish(op_ids, "pending", error, unknown=True)

    async def _finish(self, op_ids: list[int], state: str, error: str, *, unknown: bool) -> None:
        await self._pool.execute(
            "UPDATE slack_outbox SET state = $3, attempts = attempts + 1, last_error = $4,"
            " outcome_unknown = outcome_unknown OR $5, claimed_by = NULL, claim_until = NULL"
            " WHERE id = ANY($1::bigint[]) AND state = 'sending' AND claimed_by = $2",
            op_ids,
            self.replica,
            state,
            error,
            unknown,
        )

    async def note(self, group_id: str, error: str) -> None:
        """Say why a group's pending ops cannot go yet (no channel), without a try."""
        await self._pool.execute(
            "UPDATE slack_outbox SET last_error = $2 WHERE group_id = $1 AND state = 'pending'",
            group_id,
            error,
        )

    async def set_channel(self, group_id: str, channel: str) -> None:
        """Give a group that had no channel its channel (the configuration was fixed)."""
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.execute(
                "UPDATE slack_messages SET channel = $2 WHERE group_id = $1", group_id, channel
            )
            await conn.execute(
                "UPDATE slack_outbox SET channel = $2 WHERE group_id = $1 AND state = 'pending'",
                group_id,
                channel,
            )

    async def undelivered(self) -> dict[str, dict[str, Any]]:
        """Per group key with unsent or dead ops: counts and the last error, for the API."""
        rows = await self._pool.fetch(
            "SELECT m.group_key, COUNT(*) FILTER (WHERE o.state <> 'dead'),"
            " COUNT(*) FILTER (WHERE o.state = 'dead'), MAX(o.last_error), MIN(o.created_at)"
            " FROM slack_outbox o JOIN slack_messages m ON m.group_id = o.group_id"
            " WHERE o.state IN ('pending', 'sending', 'dead') GROUP BY m.group_key"
        )
        return {
            str(r[0]): {
                "pending": int(r[1]),
                "dead": int(r[2]),
                "error": r[3],
                "since": r[4].isoformat(),
            }
            for r in rows
        }

    async def load(self, group_id: str) -> GroupMessage | None:
        """The group's message row, if the group was ever notified."""
        row = await self._pool.fetchrow(
            "SELECT group_key, channel, ts, report::text, state FROM slack_messages"
            " WHERE group_id = $1",
            group_id,
        )
        return None if row is None else GroupMessage.from_row(group_id, row)

    async def save_state(self, group_id: str, state: MessageState) -> None:
        """Store what people did with the message."""
        await self._pool.execute(
            "UPDATE slack_messages SET state = $2, updated_at = now() WHERE group_id = $1",
            group_id,
            state.to_json(),
        )


class _Lost(Exception):
    """The claim was taken over: the transaction recording the send is rolled back."""


async def _queue(conn: asyncpg.Connection, group_id: str, ops: list[Op]) -> None:
    for op in ops:
        if op.kind == "message":
            # Only the newest rendering matters: an unsent one (queued by any replica)
            # takes the new body in its place, so replies queued after it still follow it.
            await conn.execute(
                "INSERT INTO slack_outbox (group_id, kind, channel, body)"
                " VALUES ($1, 'message', $2, $3::jsonb)"
                " ON CONFLICT (group_id) WHERE kind = 'message' AND state = 'pending'"
                " DO UPDATE SET body = excluded.body",
                group_id,
                op.channel,
                json.dumps(op.body),
            )
        else:
            await conn.execute(
                "INSERT INTO slack_outbox (group_id, kind, channel, body, data)"
                " VALUES ($1, $2, $3, $4::jsonb, $5)",
                group_id,
                op.kind,
                op.channel,
                json.dumps(op.body),
                op.data,
            )
