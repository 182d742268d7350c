"""The action ledger: makes a double click run once and keeps one action per model at a time.

`actions.runner` claims a run before acting and finishes it after. A run is keyed by what
it does (action, group, target, argument and the alert episode); a second claim of a key
that is running or done answers "duplicate", a claim on a model with another run in
progress answers "busy". Failed runs may be claimed again. Runs left `running` by a crash
are marked `interrupted` at start.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol

from bot.store.sqlite import Store, now_text

SCHEMA = """
CREATE TABLE IF NOT EXISTS action_runs (
    key TEXT PRIMARY KEY,
    model TEXT NOT NULL,
    action TEXT NOT NULL,
    user_id TEXT NOT NULL,
    exclusive INTEGER NOT NULL DEFAULT 1,
    status TEXT NOT NULL,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    valid_until TEXT,
    result TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS action_runs_model ON action_runs(model, status);
"""

ClaimKind = Literal["claimed", "duplicate", "busy"]


@dataclass(frozen=True)
class Claim:
    """The answer to a claim; for duplicate/busy, the run that is in the way."""

    kind: ClaimKind
    action: str = ""
    user_id: str = ""
    status: str = ""
    result: str = ""


class ActionLedger(Protocol):
    """What `actions.runner` uses: this SQLite `Ledger` or `actions.pg_ledger.PostgresLedger`."""

    async def claim(
        self, key: str, model: str, action: str, user: str, now: datetime, *, exclusive: bool = True
    ) -> Claim:
        """Take the key for a new run, unless it is done, running, or the model is busy."""

    async def finish(
        self, key: str, ok: bool, result: str, valid_until: datetime | None = None
    ) -> None:
        """Close a run: done (until `valid_until`, forever if None) or failed."""


class Ledger:
    """Runs of actions, on the store's connection."""

    def __init__(self, store: Store) -> None:
        self._store = store

    async def ensure(self) -> None:
        """Create the table; runs a crash left running become `interrupted`."""
        await self._store.ensure_schema(SCHEMA)
        await self._store.write(
            ("UPDATE action_runs SET status = 'interrupted' WHERE status = 'running'", ())
        )

    async def claim(
        self, key: str, model: str, action: str, user: str, now: datetime, *, exclusive: bool = True
    ) -> Claim:
        """Take the key for a new run, unless it is done, running, or the model is busy.

        Only exclusive runs (those that change the cluster) keep each other off a model;
        acknowledging or silencing never waits for a rollback.
        """
        async with self._store.connection.execute(
            "SELECT action, user_id, status, result, valid_until FROM action_runs WHERE key = ?",
            (key,),
        ) as cur:
            row = await cur.fetchone()
        if row is not None:
            still_valid = row[4] is None or datetime.fromisoformat(row[4]) > now
            if row[2] == "running" or (row[2] == "done" and still_valid):
                return Claim("duplicate", row[0], row[1], row[2], row[3])
        async with self._store.connection.execute(
            "SELECT action, user_id, status, result FROM action_runs"
            " WHERE model = ? AND status = 'running' AND key != ? AND exclusive = 1",
            (model, key),
        ) as cur:
            busy = await cur.fetchone() if exclusive else None
        if busy is not None:
            return Claim("busy", busy[0], busy[1], busy[2], busy[3])
        await self._store.write(
            (
                "INSERT OR REPLACE INTO action_runs (key, model, action, user_id, exclusive,"
                " status, started_at) VALUES (?, ?, ?, ?, ?, 'running', ?)",
                (key, model, action, user, int(exclusive), now.isoformat()),
            )
        )
        return Claim("claimed")

    async def finish(
        self, key: str, ok: bool, result: str, valid_until: datetime | None = None
    ) -> None:
        """Close a run: done (counts as done until `valid_until`, forever if None) or failed."""
        await self._store.write(
            (
                "UPDATE action_runs SET status = ?, result = ?, finished_at = ?, valid_until = ?"
                " WHERE key = ?",
                (
                    "done" if ok else "failed",
                    result[:2000],
                    now_text(),
                    valid_until.isoformat() if valid_until else None,
                    key,
                ),
            )
        )
