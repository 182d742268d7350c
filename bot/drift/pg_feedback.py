"""Ground truth shared by every replica: predictions and labels joined whoever got them.

Used by `drift.replicas` when the store is PostgreSQL (migration 5 made the tables). A
response's predictions are logged in the transaction that stores its rows
(`drift.pg_windows`), a posted label set on its own; the replica evaluating a round, under
the round's lock, reads the model's joined state (`drift.ingest.feedback.Feedback`'s own
JSON form), applies the log in arrival order exactly as one replica applies what it
receives, stores the state and deletes what it applied, in one transaction. Labels join
predictions at that round, not when they are posted.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from typing import Any

from bot.drift.ingest.feedback import Feedback
from bot.drift.ingest.model_bodies import Value
from bot.drift.pg_history import PoolSource

log = logging.getLogger(__name__)

LOG = (
    "INSERT INTO drift_feedback (namespace, model, kind, request_id, payload)"
    " VALUES ($1, $2, $3, $4, $5)"
)
_STATE = "SELECT state FROM drift_feedback_state WHERE namespace = $1 AND model = $2"
_PENDING = (
    "SELECT id, kind, request_id, payload FROM drift_feedback"
    " WHERE namespace = $1 AND model = $2 ORDER BY id"
)
_SAVE = (
    "INSERT INTO drift_feedback_state (namespace, model, state) VALUES ($1, $2, $3)"
    " ON CONFLICT (namespace, model) DO UPDATE SET state = excluded.state"
)


def log_values(
    model: tuple[str, str], kind: str, request_id: str, values: Sequence[Value]
) -> tuple[Any, ...]:
    """The arguments of `LOG` for one prediction or label set."""
    return (*model, kind, request_id, json.dumps(list(values)))


class SharedFeedback:
    """The `drift_feedback` log and the `drift_feedback_state` it is applied to."""

    def __init__(self, source: PoolSource) -> None:
        self._source = source

    async def add_labels(
        self, model: tuple[str, str], labels: Sequence[tuple[str, tuple[Value, ...]]]
    ) -> None:
        """Log posted labels (request id, labels), in order, in one transaction."""
        async with self._source.pool.acquire() as conn, conn.transaction():
            await conn.executemany(
                LOG, [log_values(model, "labels", rid, values) for rid, values in labels]
            )

    async def apply(self, model: tuple[str, str], fresh: Callable[[], Feedback]) -> Feedback:
        """The model's joined state with the log applied (stored, the log emptied). A label
        set that does not fit its predictions is dropped with a warning, as one replica
        refuses it with a 422."""
        feedback = fresh()
        async with self._source.pool.acquire() as conn, conn.transaction():
            state = await conn.fetchval(_STATE, *model)
            if state is not None:
                feedback.load(json.loads(state))
            pending = await conn.fetch(_PENDING, *model)
            for row in pending:
                values = tuple(json.loads(row["payload"]))
                try:
                    if row["kind"] == "labels":
                        feedback.add_labels(row["request_id"], values)
                    else:
                        feedback.add_predictions(row["request_id"], values)
                except ValueError as exc:
                    log.warning(
                        "labels dropped",
                        extra={"model": "/".join(model), "request": row["request_id"],
                               "error": str(exc)},
                    )  # fmt: skip
            await conn.execute(_SAVE, *model, json.dumps(feedback.state()))
            await conn.execute(
                "DELETE FROM drift_feedback WHERE id = ANY($1)", [r["id"] for r in pending]
            )
        return feedback
