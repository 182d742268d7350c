"""Where a channel's storm digest message is, per back end (SQLite, PostgreSQL).

Used through `slack.outbox.SlackTables` and `slack.pg_outbox.PgSlackTables` (their
`claim_digest`, `digest_done`, `end_digest`), called by `slack.digest_sender`. A row per
channel: the digest's ts and the groups listed in it. On PostgreSQL the row is claimed
like an outbox op (a row lock, `claimed_by`, `claim_until`), so one replica at a time
posts or updates the digest and its first post's ts is recorded once.
"""

from __future__ import annotations

import json
from datetime import timedelta

import asyncpg

from bot.slack.tables import DigestClaim
from bot.store.sqlite import Store


class SqliteDigests:
    """`slack_digests` on SQLite (one process: the claim is always its own)."""

    def __init__(self, store: Store) -> None:
        self._store = store

    async def claim_digest(self, channel: str, listed: list[str]) -> DigestClaim | None:
        """The channel's digest with `listed` added (one process: never held elsewhere)."""
        async with self._store.connection.execute(
            "SELECT ts, listed FROM slack_digests WHERE channel = ?", (channel,)
        ) as cur:
            row = await cur.fetchone()
        ts, known = (row[0], json.loads(row[1])) if row else (None, [])
        merged = known + [g for g in listed if g not in known]
        if merged != known or row is None:
            await self._store.write(
                (
                    "INSERT INTO slack_digests (channel, listed) VALUES (?, ?)"
                    " ON CONFLICT(channel) DO UPDATE SET listed = excluded.listed",
                    (channel, json.dumps(merged)),
                )
            )
        return DigestClaim(ts, tuple(merged))

    async def digest_done(self, channel: str, posted: str | None, previous: str | None) -> None:
        """Record the digest's first post's ts (only while it still has `previous`)."""
        if posted is not None:
            await self._store.write(
                (
                    "UPDATE slack_digests SET ts = ? WHERE channel = ? AND ts IS ?",
                    (posted, channel, previous),
                )
            )

    async def end_digest(self, channel: str) -> None:
        """The storm is over: forget the channel's digest."""
        await self._store.write(("DELETE FROM slack_digests WHERE channel = ?", (channel,)))


class PgDigests:
    """`slack_digests` on PostgreSQL (migration 4), claimed by `replica`."""

    def __init__(self, pool: asyncpg.Pool, replica: str, claim: timedelta) -> None:
        self._pool = pool
        self.replica = replica
        self._claim = claim

    async def claim_digest(self, channel: str, listed: list[str]) -> DigestClaim | None:
        """Claim the channel's digest (None while another replica's claim is live), adding
        this replica's listed groups to every replica's."""
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.execute(
                "INSERT INTO slack_digests (channel) VALUES ($1) ON CONFLICT DO NOTHING", channel
            )
            row = await conn.fetchrow(
                "SELECT ts, listed::text, claimed_by, claim_until > now() FROM slack_digests"
                " WHERE channel = $1 FOR UPDATE",
                channel,
            )
            if row is None or (row[2] not in (None, self.replica) and row[3]):
                return None
            known: list[str] = json.loads(row[1])
            merged = known + [g for g in listed if g not in known]
            await conn.execute(
                "UPDATE slack_digests SET listed = $2::jsonb, claimed_by = $3,"
                " claim_until = now() + $4, updated_at = now() WHERE channel = $1",
                channel,
                json.dumps(merged),
                self.replica,
                self._claim,
            )
        return DigestClaim(row[0], tuple(merged))

    async def digest_done(self, channel: str, posted: str | None, previous: str | None) -> None:
        """Release the claim; record the first post's ts only while it still has
        `previous` and the claim is ours."""
        await self._pool.execute(
            "UPDATE slack_digests SET ts = CASE WHEN $2::text IS NOT NULL"
            " AND ts IS NOT DISTINCT FROM $3 THEN $2 ELSE ts END,"
            " claimed_by = NULL, claim_until = NULL WHERE channel = $1 AND claimed_by = $4",
            channel,
            posted,
            previous,
            self.replica,
        )

    async def end_digest(self, channel: str) -> None:
        """The storm is over: forget the channel's digest (the next storm posts anew)."""
        await self._pool.execute(
            "DELETE FROM slack_digests WHERE channel = $1 AND claimed_by = $2",
            channel,
            self.replica,
        )
