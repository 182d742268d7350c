"""Drift windows shared by every replica: the rows of each event as one batch row.

Used by `drift.replicas` when the store is PostgreSQL (migration 3 made the tables). The
replica that receives a payload-logger event appends its rows as one `drift_batches` row
(one INSERT, the numbers as little-endian float64 bytes, the categories as text): the
append is what a replica pays per event, so the appends waiting at one moment share one
transaction (one commit, one WAL flush: a group commit, as `store.group_commit` does for
SQLite), and an event is acknowledged only once its commit is done. The replica
evaluating a round reads a model's batches whole, takes a captured reference from the
first rows when the model has no reference file (kept in `drift_references` once
complete), and deletes the batches that fell out of the window by count or age.
`drift_rounds` lets one replica take each round.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg
import numpy as np
import numpy.typing as npt

from bot.drift.pg_feedback import LOG
from bot.drift.pg_history import PoolSource

FloatArray = npt.NDArray[np.float64]
TextArray = npt.NDArray[np.object_]

_APPEND = (
    "INSERT INTO drift_batches (namespace, model, kind, event_id, received_at, names, rows,"
    " numbers, texts) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
    " ON CONFLICT (namespace, model, kind, event_id) DO NOTHING RETURNING id"
)
# The index is read whole (a few numbers a batch); the rows only of the batches in use.
_INDEX = (
    "SELECT id, received_at, names, rows FROM drift_batches"
    " WHERE namespace = $1 AND model = $2 AND kind = $3 ORDER BY id"
)
_LOAD = (
    "SELECT id, received_at, names, rows, numbers, texts FROM drift_batches"
    " WHERE id = ANY($1) ORDER BY id"
)
_REFERENCE = (
    "SELECT 0 AS id, 0.0 AS received_at, names, rows, numbers, texts FROM drift_references"
    " WHERE namespace = $1 AND model = $2 AND kind = $3"
)
_SAVE_REFERENCE = (
    "INSERT INTO drift_references (namespace, model, kind, names, rows, numbers, texts)"
    " VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING"
)
# The round is taken when this replica moves the slot forward; a replica whose timer
# ticks later in the same interval finds the slot taken and evaluates nothing.
_TAKE_ROUND = (
    "INSERT INTO drift_rounds (name, slot) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE"
    " SET slot = excluded.slot WHERE drift_rounds.slot < excluded.slot RETURNING slot"
)


_Waiting = tuple[tuple[Any, ...], "tuple[Any, ...] | None", "asyncio.Future[bool]"]


@dataclass(frozen=True)
class BatchInfo:
    """A stored batch without its rows: what deciding what to keep needs."""

    id: int
    received_at: float
    names: tuple[str, ...]
    rows: int


@dataclass(frozen=True)
class Batch:
    """Rows of one event (or a captured reference): numeric and text columns by name."""

    id: int
    received_at: float
    names: tuple[str, ...]
    numeric: FloatArray  # rows x numeric names
    text: TextArray  # rows x text names

    @property
    def rows(self) -> int:
        """Rows in the batch."""
        return int(max(self.numeric.shape[0], self.text.shape[0]))

    def tail(self, start: int) -> Batch:
        """The batch without its first `start` rows."""
        return Batch(self.id, self.received_at, self.names, self.numeric[start:], self.text[start:])


def encode(numeric: FloatArray, text: npt.NDArray[Any]) -> tuple[bytes, list[str]]:
    """Numbers as row-major little-endian float64 bytes, categories as row-major text."""
    numbers = np.ascontiguousarray(numeric, dtype="<f8").tobytes()
    return numbers, [str(v) for v in text.reshape(-1)]


def _decode(row: asyncpg.Record, text_names: frozenset[str]) -> Batch:
    names = tuple(row["names"])
    rows = int(row["rows"])
    width_text = sum(1 for n in names if n in text_names)
    numeric = np.frombuffer(row["numbers"], dtype="<f8").astype(np.float64)
    text = np.array(list(row["texts"]), dtype=object)
    return Batch(
        int(row["id"]),
        float(row["received_at"]),
        names,
        numeric.reshape(rows, len(names) - width_text),
        text.reshape(rows, width_text),
    )


class SharedWindows:
    """The `drift_batches`, `drift_references` and `drift_rounds` tables."""

    def __init__(self, source: PoolSource) -> None:
        self._source = source
        # (the batch's values, a feedback log entry's or None, the waiter)
        self._waiting: list[_Waiting] = []
        self._writer: asyncio.Task[None] | None = None

    @property
    def _pool(self) -> asyncpg.Pool:
        return self._source.pool

    async def append(
        self,
        model: tuple[str, str],
        kind: str,
        event_id: str,
        received_at: float,
        names: Sequence[str],
        numeric: FloatArray,
        text: npt.NDArray[Any],
        feedback: tuple[Any, ...] | None = None,
    ) -> bool:
        """Append one event's rows once committed; False when the event was already stored
        (a replay). `feedback`: the arguments of `drift.pg_feedback.LOG` (a response's
        predictions), logged in the same transaction unless the event is a replay.
        Raises the database's errors."""
        numbers, texts = encode(numeric, text)
        rows = max(numeric.shape[0], text.shape[0])
        values = (*model, kind, event_id, received_at, list(names), rows, numbers, texts)
        done: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._waiting.append((values, feedback, done))
        if self._writer is None:
            self._writer = asyncio.create_task(self._write(), name="drift-batches")
        # Shielded: a client that hangs up does not cancel the commit of the others' rows.
        return await asyncio.shield(done)

    async def _write(self) -> None:
        """Write everything waiting as one transaction, until nothing waits."""
        try:
            while self._waiting:
                group, self._waiting = self._waiting, []
                try:
                    async with self._pool.acquire() as conn, conn.transaction():
                        stored = [await self._one(conn, v, f) for v, f, _ in group]
                except Exception as exc:  # every waiter of the group hears of it
                    for *_, done in group:
                        if not done.done():
                            done.set_exception(exc)
                    continue
                except BaseException:
                    for *_, done in group:
                        done.cancel()
                    raise
                for (*_, done), fresh in zip(group, stored, strict=True):
                    if not done.done():
                        done.set_result(fresh)
        finally:
            self._writer = None

    @staticmethod
    async def _one(
        conn: asyncpg.Connection, values: tuple[Any, ...], feedback: tuple[Any, ...] | None
    ) -> bool:
        stored = await conn.fetchval(_APPEND, *values) is not None
        if stored and feedback is not None:
            await conn.execute(LOG, *feedback)
        return stored

    async def index(self, model: tuple[str, str], kind: str) -> list[BatchInfo]:
        """Every stored batch of the model's `kind` without its rows, oldest first."""
        rows = await self._pool.fetch(_INDEX, *model, kind)
        return [BatchInfo(r["id"], r["received_at"], tuple(r["names"]), r["rows"]) for r in rows]

    async def load(self, ids: list[int], text_names: frozenset[str]) -> list[Batch]:
        """The batches `ids` with their rows, oldest first (a batch deleted since: left out)."""
        if not ids:
            return []
        return [_decode(row, text_names) for row in await self._pool.fetch(_LOAD, ids)]

    async def reference(
        self, model: tuple[str, str], kind: str, text_names: frozenset[str]
    ) -> Batch | None:
        """The captured reference of the model's `kind`, once one replica completed it."""
        row = await self._pool.fetchrow(_REFERENCE, *model, kind)
        return None if row is None else _decode(row, text_names)

    async def save_reference(
        self, model: tuple[str, str], kind: str, reference: Batch, consumed: list[int],
        rest: Batch | None,
    ) -> None:  # fmt: skip
        """Keep a completed reference and drop its rows from the batches, in one transaction:
        the `consumed` batches go, and `rest` (the straddling batch's other rows) stays."""
        numbers, texts = encode(reference.numeric, reference.text)
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.execute(
                _SAVE_REFERENCE, *model, kind, list(reference.names), reference.rows,
                numbers, texts,
            )  # fmt: skip
            await conn.execute("DELETE FROM drift_batches WHERE id = ANY($1)", consumed)
            if rest is not None:
                numbers, texts = encode(rest.numeric, rest.text)
                await conn.execute(
                    "UPDATE drift_batches SET rows = $2, numbers = $3, texts = $4 WHERE id = $1",
                    rest.id, rest.rows, numbers, texts,
                )  # fmt: skip

    async def delete(self, ids: list[int]) -> None:
        """Drop batches that fell out of the window."""
        if ids:
            await self._pool.execute("DELETE FROM drift_batches WHERE id = ANY($1)", ids)

    async def take_round(self, name: str, slot: int) -> bool:
        """True when this replica takes round `slot` of job `name` (nobody took it yet)."""
        return await self._pool.fetchval(_TAKE_ROUND, name, slot) is not None
