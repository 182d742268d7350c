"""A click runs once whichever replica receives it: the action ledger on PostgreSQL.

The same contract as `bot.actions.ledger.Ledger` (claim before acting, finish after),
enforced by the database: the run's key is the table's primary key, and the claims of one
model are serialized by a transaction-scoped advisory lock on the model's name, so two
replicas receiving the same click (or two exclusive actions on one model) cannot both
win the check-then-insert.
"""

from __future__ import annotations

from datetime import datetime

import asyncpg

from bot.actions.ledger import Claim


class PostgresLedger:
    """Runs of actions in `action_runs`."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def claim(
        self, key: str, model: str, action: str, user: str, now: datetime, *, exclusive: bool = True
    ) -> Claim:
        """Take the key for a new run, unless it is done, running, or the model is busy."""
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", model)
            row = await conn.fetchrow(
                "SELECT action, user_id, status, result, valid_until FROM action_runs"
                " WHERE key = $1",
                key,
            )
            if row is not None:
                still_valid = row["valid_until"] is None or row["valid_until"] > now
                if row["status"] == "running" or (row["status"] == "done" and still_valid):
                    return Claim("duplicate", row[0], row[1], row[2], row[3])
            if exclusive:
                busy = await conn.fetchrow(
                    "SELECT action, user_id, status, result FROM action_runs WHERE model = $1"
                    " AND status = 'running' AND key <> $2 AND exclusive",
                    model,
                    key,
                )
                if busy is not None:
                    return Claim("busy", busy[0], busy[1], busy[2], busy[3])
            await conn.execute(
                "INSERT INTO action_runs (key, model, action, user_id, exclusive, status,"
                " started_at) VALUES ($1, $2, $3, $4, $5, 'running', $6)"
                " ON CONFLICT (key) DO UPDATE SET model = excluded.model,"
                " action = excluded.action, user_id = excluded.user_id,"
                " exclusive = excluded.exclusive, status = 'running',"
                " started_at = excluded.started_at, finished_at = NULL, valid_until = NULL,"
                " result = ''",
                key,
                model,
                action,
                user,
                exclusive,
                now,
            )
        return Claim("claimed")

    async def finish(
        self, key: str, ok: bool, result: str, valid_until: datetime | None = None
    ) -> None:
        """Close a run: done (until `valid_until`, forever if None) or failed."""
        await self._pool.execute(
            "UPDATE action_runs SET status = $2, result = $3, finished_at = now(),"
            " valid_until = $4 WHERE key = $1",
            key,
            "done" if ok else "failed",
            result[:2000],
            valid_until,
        )
