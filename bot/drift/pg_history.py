"""The evaluation history on PostgreSQL: one table every replica writes and reads.

Built by `drift.service` when the store is PostgreSQL, in place of
`drift.history_table.HistoryTable`, with the same interface (`EvaluationHistory`):
`record` after each evaluation (the evaluating replica's), `recent` for
`GET /api/drift/{namespace}/{name}` on any replica, `load` at start. `newer` is what the
other replicas poll (`drift.replicas`): the rows after the last one they have seen, so
their gauges and the triage's drift evidence follow the shared history. The table,
`drift_evaluations`, comes from the store's first migration.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

import asyncpg

from bot.drift.history_table import (
    HistoryUnavailable,
    documents_of,
    evaluations_of,
    refused,
    row_values,
)

if TYPE_CHECKING:
    from bot.drift.evaluation import Evaluation

_INSERT = (
    "INSERT INTO drift_evaluations (namespace, model, evaluated_at, drift_share, dataset_drift,"
    " prediction_drift, window_rows, accuracy, mae, evaluation)"
    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
)
# The last `keep` rows by id (insertion order) stay; one statement after the insert.
_PRUNE = (
    "DELETE FROM drift_evaluations WHERE namespace = $1 AND model = $2 AND id <"
    " (SELECT min(id) FROM (SELECT id FROM drift_evaluations WHERE namespace = $1"
    " AND model = $2 ORDER BY id DESC LIMIT $3) AS kept)"
)
_RECENT = (
    "SELECT evaluation FROM drift_evaluations WHERE namespace = $1 AND model = $2"
    " ORDER BY id DESC LIMIT $3"
)
_NEWER = (
    "SELECT id, evaluation FROM drift_evaluations WHERE namespace = $1 AND model = $2"
    " AND id > $3 ORDER BY id DESC LIMIT $4"
)
# What a failing database raises through asyncpg: the server's errors, a lost connection,
# a command past its timeout, a pool that is closing, a store not open.
DATABASE_ERRORS = (
    asyncpg.PostgresError, asyncpg.InterfaceError, OSError, TimeoutError, RuntimeError,
)  # fmt: skip


class PoolSource(Protocol):
    """What holds the pool: the PostgreSQL store (its pool exists once it is open)."""

    @property
    def pool(self) -> asyncpg.Pool:
        """The open pool; raises when the store is not open."""


class PostgresHistory:
    """`drift_evaluations` on PostgreSQL, keeping the last `keep` rows per model."""

    def __init__(self, source: PoolSource, keep: int) -> None:
        self._source = source
        self._keep = keep

    @property
    def _pool(self) -> asyncpg.Pool:
        return self._source.pool

    async def ensure(self) -> None:
        """Nothing to do: the store's migrations made the table before the pool opened."""

    async def record(self, namespace: str, model: str, evaluation: Evaluation) -> bool:
        """Store one evaluation and prune the model's older rows, in one transaction.

        False (and an error logged) when the database refused: the evaluation still counts
        in this replica's memory and gauges, only its shared copy is lost.
        """
        try:
            async with self._pool.acquire() as conn, conn.transaction():
                await conn.execute(_INSERT, namespace, model, *row_values(evaluation))
                await conn.execute(_PRUNE, namespace, model, self._keep)
        except DATABASE_ERRORS as exc:
            refused(namespace, model, exc)
            return False
        return True

    async def recent(self, namespace: str, model: str) -> list[dict[str, Any]]:
        """The model's stored evaluations as JSON documents, newest first."""
        try:
            rows = await self._pool.fetch(_RECENT, namespace, model, self._keep)
        except DATABASE_ERRORS as exc:
            raise HistoryUnavailable(str(exc)) from exc
        return documents_of(namespace, model, [row[0] for row in rows])

    async def load(self, namespace: str, model: str) -> list[Evaluation]:
        """The model's stored evaluations, oldest first; unreadable rows are skipped."""
        return evaluations_of(namespace, model, list(reversed(await self.recent(namespace, model))))

    async def newer(self, namespace: str, model: str, after: int) -> tuple[int, list[Evaluation]]:
        """The model's evaluations stored after row `after` (the last `keep` of them, oldest
        first) and the id of the newest row (`after` when there is none).

        Raises `HistoryUnavailable` when the database fails."""
        try:
            rows = await self._pool.fetch(_NEWER, namespace, model, after, self._keep)
        except DATABASE_ERRORS as exc:
            raise HistoryUnavailable(str(exc)) from exc
        if not rows:
            return after, []
        texts = [row["evaluation"] for row in reversed(rows)]
        documents = documents_of(namespace, model, texts)
        return int(rows[0]["id"]), evaluations_of(namespace, model, documents)
