"""The evaluation history of each monitored model, in the store's `drift_evaluations` table.

Called by `drift.service`: `ensure` at start, `load` at start to refill each monitor's
in-memory history, `record` after every evaluation (one group-committed transaction:
the new row and the pruning of the model's rows beyond `drift.history`), and `recent`
for `GET /api/drift/{namespace}/{name}`. Each row keeps the evaluation as the JSON of
`drift.history` (the served form) beside a few columns worth querying by hand. The same
interface (`EvaluationHistory`) on PostgreSQL, shared by every replica, is
`drift.pg_history.PostgresHistory`.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from typing import TYPE_CHECKING, Any, Protocol

from pydantic import ValidationError

from bot.store.group_commit import Statement
from bot.store.sqlite import Store

if TYPE_CHECKING:
    from bot.drift.evaluation import Evaluation

log = logging.getLogger(__name__)

SCHEMA = """
CREATE TABLE IF NOT EXISTS drift_evaluations (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    namespace TEXT NOT NULL,
    model TEXT NOT NULL,
    evaluated_at TEXT NOT NULL,
    drift_share REAL,
    dataset_drift INTEGER,
    prediction_drift INTEGER,
    window_rows INTEGER,
    accuracy REAL,
    mae REAL,
    evaluation TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS drift_evaluations_model ON drift_evaluations(namespace, model, id);
"""

_INSERT = (
    "INSERT INTO drift_evaluations (namespace, model, evaluated_at, drift_share, dataset_drift,"
    " prediction_drift, window_rows, accuracy, mae, evaluation)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
# Rows are numbered in insertion order, so "the last N" is by id, not by a clock.
_PRUNE = (
    "DELETE FROM drift_evaluations WHERE namespace = ? AND model = ? AND id NOT IN"
    " (SELECT id FROM drift_evaluations WHERE namespace = ? AND model = ?"
    " ORDER BY id DESC LIMIT ?)"
)
_RECENT = (
    "SELECT evaluation FROM drift_evaluations WHERE namespace = ? AND model = ?"
    " ORDER BY id DESC LIMIT ?"
)


class HistoryUnavailable(Exception):
    """The history could not be read (the database failed): the API answers 503."""


class EvaluationHistory(Protocol):
    """What `drift.service` and `drift.endpoints` need of a history, on either back end."""

    async def ensure(self) -> None:
        """Make the table ready (SQLite creates it; PostgreSQL has it from its migrations)."""

    async def record(self, namespace: str, model: str, evaluation: Evaluation) -> bool:
        """Store one evaluation and prune; False (logged) when the database refused."""

    async def recent(self, namespace: str, model: str) -> list[dict[str, Any]]:
        """The model's stored evaluations as JSON, newest first; `HistoryUnavailable`."""

    async def load(self, namespace: str, model: str) -> list[Evaluation]:
        """The model's stored evaluations, oldest first; unreadable rows skipped."""


def _flag(value: bool | None) -> int | None:
    return None if value is None else int(value)


def row_values(evaluation: Evaluation) -> tuple[Any, ...]:
    """The columns of one evaluation's row after namespace and model: `evaluated_at` (a
    datetime), drift_share, dataset_drift, prediction_drift, window_rows, accuracy, mae,
    and the evaluation as JSON (what both back ends store)."""
    from bot.drift.history import evaluation_to_json, json_safe  # lazy: numpy, the engine

    inputs, predictions, quality = evaluation.inputs, evaluation.predictions, evaluation.quality
    return (
        evaluation.at,
        json_safe(inputs.drift_share) if inputs is not None else None,
        inputs.dataset_drift if inputs is not None else None,
        predictions.drift if predictions is not None else None,
        inputs.window_rows if inputs is not None else None,
        json_safe(quality.accuracy),
        json_safe(quality.mae),
        json.dumps(evaluation_to_json(evaluation)),
    )


def refused(namespace: str, model: str, exc: Exception) -> None:
    """Log an evaluation the database would not store (it still counts in memory)."""
    log.error(
        "cannot store drift evaluation", extra={"model": f"{namespace}/{model}", "error": str(exc)}
    )


class HistoryTable:
    """The `drift_evaluations` table, keeping the last `keep` rows per model."""

    def __init__(self, store: Store, keep: int) -> None:
        self._store = store
        self._keep = keep

    async def ensure(self) -> None:
        """Create the table when missing."""
        await self._store.ensure_schema(SCHEMA)

    def statements(self, namespace: str, model: str, evaluation: Evaluation) -> list[Statement]:
        """The insert of one evaluation and the pruning of the model's older rows."""
        at, *columns = row_values(evaluation)
        flags = [_flag(v) if isinstance(v, bool) else v for v in columns]
        insert: Statement = (_INSERT, (namespace, model, at.isoformat(), *flags))
        prune: Statement = (_PRUNE, (namespace, model, namespace, model, self._keep))
        return [insert, prune]

    async def record(self, namespace: str, model: str, evaluation: Evaluation) -> bool:
        """Store one evaluation durably and drop the model's rows beyond the last `keep`.

        False (and an error logged) when the store refused: the evaluation still counts
        in memory and in the gauges, only its durable copy is lost.
        """
        try:
            await self._store.write(*self.statements(namespace, model, evaluation))
        except (OSError, sqlite3.Error, RuntimeError) as exc:
            refused(namespace, model, exc)
            return False
        return True

    async def recent(self, namespace: str, model: str) -> list[dict[str, Any]]:
        """The model's stored evaluations as JSON documents, newest first."""
        try:
            async with self._store.connection.execute(
                _RECENT, (namespace, model, self._keep)
            ) as cur:
                rows = await cur.fetchall()
        except (sqlite3.Error, RuntimeError) as exc:
            raise HistoryUnavailable(str(exc)) from exc
        return documents_of(namespace, model, [row[0] for row in rows])

    async def load(self, namespace: str, model: str) -> list[Evaluation]:
        """The model's stored evaluations, oldest first; unreadable rows are skipped."""
        return evaluations_of(namespace, model, list(reversed(await self.recent(namespace, model))))


def evaluations_of(namespace: str, model: str, documents: list[dict[str, Any]]) -> list[Evaluation]:
    """Evaluations read from their JSON documents; one that does not read is skipped."""
    from bot.drift.history import (
        evaluation_from_json,  # lazy: numpy and the engine load with the first model
    )

    evaluations: list[Evaluation] = []
    for document in documents:
        try:
            evaluations.append(evaluation_from_json(document))
        except (ValidationError, ValueError, TypeError, KeyError) as exc:
            _ignored(namespace, model, exc)
    return evaluations


def documents_of(namespace: str, model: str, texts: list[str]) -> list[dict[str, Any]]:
    """Stored JSON texts read back; a row edited by hand is skipped (and logged)."""
    documents: list[dict[str, Any]] = []
    for text in texts:
        try:
            documents.append(json.loads(text))
        except (ValueError, TypeError) as exc:  # a row edited by hand must not end the API
            _ignored(namespace, model, exc)
    return documents


def _ignored(namespace: str, model: str, exc: Exception) -> None:
    log.warning(
        "stored drift evaluation ignored",
        extra={"model": f"{namespace}/{model}", "error": str(exc)},
    )
