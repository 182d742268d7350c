"""One Slack message per group across replicas: outbox rows claimed by one sender at a time.

Used by the PostgreSQL deployment's Slack sender (and tests/store/). `queue` records a
group's latest report and its message op: at most one unsent rendering per group (a
partial unique index), a newer one replacing the body of the unsent one. A sender
`claim`s ops with `FOR UPDATE SKIP LOCKED` and a claim expiry, so two replicas never
send the same op and a dead sender's ops go out after the expiry. `sent` stores the
message's `ts` in the same transaction as the op's outcome, and only while the claim is
still the caller's: the first post of a group fixes its `ts`, every later send of that
group is an update of it, never a second top-level message. A send whose outcome is
unknown (`outcome_unknown`) comes back marked `look_first`: its next sender searches the
channel for the message by its metadata before posting.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import asyncpg


@dataclass(frozen=True)
class ClaimedOp:
    """An op this replica is sending; `ts` is set when the group's message exists."""

    id: int
    group_id: str
    kind: str
    channel: str
    body: dict[str, Any]
    ts: str | None
    # An earlier send's outcome is unknown: search the channel for the group's message
    # (by its metadata) before posting, and record its ts if found.
    look_first: bool = False


class Outbox:
    """The Slack outbox of one replica."""

    def __init__(self, pool: asyncpg.Pool, replica: str, claim_seconds: float = 30.0) -> None:
        self._pool = pool
        self.replica = replica
        self._claim = timedelta(seconds=claim_seconds)

    async def queue_message(
        self, group_id: str, group_key: str, channel: str, report: dict[str, Any], body: Any
    ) -> None:
        """Record the group's latest report and queue its message's newest rendering."""
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.execute(
                "INSERT INTO slack_messages (group_id, group_key, channel, report)"
                " VALUES ($1, $2, $3, $4::jsonb) ON CONFLICT (group_id) DO UPDATE SET"
                " report = excluded.report, updated_at = now()",
                group_id,
                group_key,
                channel,
                json.dumps(report),
            )
            await conn.execute(
                "INSERT INTO slack_outbox (group_id, kind, channel, body)"
                " VALUES ($1, 'message', $2, $3::jsonb)"
                " ON CONFLICT (group_id) WHERE kind = 'message' AND state = 'pending'"
                " DO UPDATE SET body = excluded.body",
                group_id,
                channel,
                json.dumps(body),
            )

    async def claim(self, limit: int = 10) -> list[ClaimedOp]:
        """Take up to `limit` groups' oldest unsent ops (pending, or sending past expiry)."""
        async with self._pool.acquire() as conn, conn.transaction():
            rows = await conn.fetch(
                "SELECT o.id FROM slack_outbox o WHERE (o.state = 'pending'"
                " OR (o.state = 'sending' AND o.claim_until <= now()))"
                " AND NOT EXISTS (SELECT 1 FROM slack_outbox e WHERE e.group_id = o.group_id"
                " AND e.id < o.id AND e.state IN ('pending', 'sending'))"
                " ORDER BY o.id LIMIT $1 FOR UPDATE OF o SKIP LOCKED",
                limit,
            )
            ids = [int(r[0]) for r in rows]
            if not ids:
                return []
            claimed = await conn.fetch(
                "UPDATE slack_outbox o SET state = 'sending', claimed_by = $2,"
                " claim_until = now() + $3 FROM slack_messages m"
                " WHERE o.id = ANY($1::bigint[]) AND m.group_id = o.group_id"
                " RETURNING o.id, o.group_id, o.kind, o.channel, o.body::text, m.ts,"
                " o.outcome_unknown",
                ids,
                self.replica,
                self._claim,
            )
        ops = [
            ClaimedOp(int(r[0]), str(r[1]), str(r[2]), str(r[3]), json.loads(r[4]), r[5], r[6])
            for r in claimed
        ]
        return sorted(ops, key=lambda op: op.id)

    async def sent(self, op: ClaimedOp, ts: str) -> bool:
        """Record a send's outcome and the message's ts in one transaction.

        False when the claim was no longer ours (it expired and another replica took the
        op): nothing is recorded. The group's ts is set only if it had none.
        """
        async with self._pool.acquire() as conn, conn.transaction():
            done = await conn.fetchval(
                "UPDATE slack_outbox SET state = 'sent', attempts = attempts + 1,"
                " last_error = NULL WHERE id = $1 AND state = 'sending' AND claimed_by = $2"
                " RETURNING id",
                op.id,
                self.replica,
            )
            if done is None:
                return False
            await conn.execute(
                "UPDATE slack_messages SET ts = COALESCE(ts, $2), channel = $3, updated_at = now()"
                " WHERE group_id = $1",
                op.group_id,
                ts,
                op.channel,
            )
            return True

    async def failed(self, op: ClaimedOp, error: str, *, permanent: bool = False) -> None:
        """Give an op back (pending, tried again) or bury it (dead) with the reason."""
        await self._pool.execute(
            "UPDATE slack_outbox SET state = $3, attempts = attempts + 1, last_error = $4,"
            " claimed_by = NULL, claim_until = NULL WHERE id = $1 AND claimed_by = $2",
            op.id,
            self.replica,
            "dead" if permanent else "pending",
            error,
        )

    async def outcome_unknown(self, op: ClaimedOp, error: str) -> None:
        """A send that may have reached Slack (a timeout after the request left): back to
        pending, marked so that whoever sends it next looks for the message first."""
        await self._pool.execute(
            "UPDATE slack_outbox SET state = 'pending', outcome_unknown = TRUE,"
            " attempts = attempts + 1, last_error = $3, claimed_by = NULL, claim_until = NULL"
            " WHERE id = $1 AND claimed_by = $2",
            op.id,
            self.replica,
            error,
        )

    async def message_ts(self, group_id: str) -> str | None:
        """Where the group's message is (None: not posted yet)."""
        value = await self._pool.fetchval(
            "SELECT ts FROM slack_messages WHERE group_id = $1", group_id
        )
        return None if value is None else str(value)
