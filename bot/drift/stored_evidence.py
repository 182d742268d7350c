"""Drift evidence read from a stored history: `triage-bot triage` with a data dir.

Called by `bot.sources` for offline triage (and by a replica without the model's drift
engine) when the data dir holds a store with a `drift_evaluations` table. It opens the
SQLite file read-only for each triage, reads the model's evaluations and reports the one
in force at the alert, the same way the service's own drift collector does.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import aiosqlite
from pydantic import ValidationError

from bot.drift.evaluation import Evaluation
from bot.drift.history import evaluation_from_json
from bot.drift.live_evidence import evidence_from_history
from bot.model.collector import CollectorError, TriageContext
from bot.model.signal_evidence import DriftEvidence

_ROWS = (
    "SELECT evaluation FROM drift_evaluations WHERE namespace = ? AND model = ?"
    " ORDER BY id DESC LIMIT 200"
)


def model_key(context: TriageContext) -> tuple[str, str] | None:
    """(namespace, model) of the alert's model, as the drift engine keys it."""
    target = context.target
    model = target.model or target.inference_service
    if not target.namespace or not model:
        return None
    return target.namespace, model


class StoredDriftCollector:
    """Implements `model.collector.Collector` over a store's drift history."""

    name = "Drift history"

    def __init__(self, path: Path, timeout: float = 2.0) -> None:
        self._path = path
        self.timeout = timeout

    async def _rows(self, namespace: str, model: str) -> list[Any]:
        uri = f"file:{self._path}?mode=ro"
        async with (
            aiosqlite.connect(uri, uri=True) as db,
            db.execute(_ROWS, (namespace, model)) as cursor,
        ):
            return list(await cursor.fetchall())

    async def collect(self, context: TriageContext) -> DriftEvidence | None:
        """The stored evidence of the alert's model; None when it has no history."""
        key = model_key(context)
        if key is None or not self._path.is_file():
            return None
        try:
            rows = await self._rows(*key)
        except sqlite3.Error as exc:
            if "no such table" in str(exc):
                return None
            raise CollectorError(f"cannot read the drift history in {self._path}: {exc}") from exc
        history: list[Evaluation] = []
        for (document,) in reversed(rows):
            try:
                history.append(evaluation_from_json(json.loads(document)))
            except (ValidationError, ValueError, TypeError):
                continue  # a row edited by hand: the others still tell the story
        return evidence_from_history("/".join(key), history, context.alert_start)
