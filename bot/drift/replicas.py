"""Drift with several replicas on one PostgreSQL: shared windows, one evaluation a round.

Built by `drift.service` when its store is PostgreSQL; SQLite installs never load it.
Any replica may receive any model's events: `ingest` validates them as the single replica
does (`drift.monitor`) and appends their rows to the shared window (`drift.pg_windows`).
Every `drift.interval_seconds`, aligned to the clock, each replica tries the round: the
one holding the advisory lock (`store.postgres.periodic`) that also moves `drift_rounds`
to this interval evaluates every model from the whole shared window and records it in
the shared history (`drift.pg_history`); the others wait for the lock to be free. Then
every replica reads the new history rows (`refresh`), so all export the same gauges and
the triage's drift evidence is the same on each. What stays per replica: the labels
joined with predictions (`drift.ingest.feedback`), so accuracy is the evaluating
replica's (docs/operations.md, "Drift with several replicas").
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

import asyncpg
import numpy as np
import numpy.typing as npt

from bot.config import DriftSettings
from bot.drift.evaluation import Evaluation, Snapshot
from bot.drift.gauges import DriftMetrics
from bot.drift.history_table import HistoryUnavailable
from bot.drift.ingest.cloudevents import InferenceEvent, IngestError
from bot.drift.monitor import PREDICTION, ModelMonitor, prediction_matrices
from bot.drift.pg_history import DATABASE_ERRORS, PoolSource, PostgresHistory
from bot.drift.pg_windows import Batch, SharedWindows
from bot.drift.stats.engine import Reference
from bot.store.postgres.periodic import exclusive

log = logging.getLogger(__name__)

ROUND = "triage-bot:drift-evaluations"  # the advisory lock's name and the drift_rounds row
_WAIT = "SELECT pg_advisory_xact_lock_shared(hashtextextended($1, 1))"
_LOCK = "SELECT pg_advisory_lock(hashtextextended($1, 1))"
_UNLOCK = "SELECT pg_advisory_unlock(hashtextextended($1, 1))"

Evaluate = Callable[[ModelMonitor, Snapshot], Awaitable[Evaluation]]


def _key(monitor: ModelMonitor) -> tuple[str, str]:
    return monitor.config.namespace, monitor.config.name


def _columns(batch: Batch, text_names: frozenset[str]) -> dict[str, npt.NDArray[Any]]:
    numeric = [n for n in batch.names if n not in text_names]
    text = [n for n in batch.names if n in text_names]
    columns = {n: batch.numeric[:, i] for i, n in enumerate(numeric)}
    columns.update({n: batch.text[:, i].astype(str) for i, n in enumerate(text)})
    return {n: columns[n] for n in batch.names}


def _join(parts: Sequence[Batch], names: tuple[str, ...], text_names: frozenset[str]) -> Batch:
    width = sum(1 for n in names if n in text_names)
    numeric = [p.numeric for p in parts] or [np.zeros((0, len(names) - width))]
    text = [p.text for p in parts] or [np.zeros((0, width), dtype=object)]
    return Batch(0, 0.0, names, np.concatenate(numeric), np.concatenate(text))


class SharedDrift:
    """The replicas' side of the drift service: shared ingest, rounds and refreshes."""

    def __init__(self, source: PoolSource, settings: DriftSettings, metrics: DriftMetrics) -> None:
        self._source = source
        self._settings = settings
        self.history = PostgresHistory(source, settings.history)
        self._metrics = metrics
        self.windows = SharedWindows(source)
        self._last_row: dict[str, int] = {}  # model key -> newest history row read

    @property
    def _pool(self) -> asyncpg.Pool:
        return self._source.pool

    # --- ingest --------------------------------------------------------------------------

    async def ingest(self, monitor: ModelMonitor, event: InferenceEvent, now: float) -> int | None:
        """Append one event's rows to the shared window: how many, or None for an event some
        replica stored already (a replay). Raises `IngestError` for bad input, as the
        single replica does, and a 503 one when the database fails."""
        if event.kind == "response":
            predictions, column = monitor.prediction_column(event)
            numeric, text = prediction_matrices(monitor.config.task, column)
            names: tuple[str, ...] = (PREDICTION,)
        else:
            typed, _ = monitor.typed_inputs(event)
            numeric, text = monitor.input_matrices(typed)
            assert monitor.features is not None  # named by typed_inputs
            names = monitor.features
        try:
            stored = await self.windows.append(
                _key(monitor), event.kind, event.id, now, names, numeric, text
            )
        except DATABASE_ERRORS as exc:
            log.error("cannot store drift rows", extra={"model": monitor.key, "error": str(exc)})
            raise IngestError(503, "unavailable", "drift store unavailable, retry later") from exc
        if not stored:
            return None
        rows = int(max(numeric.shape[0], text.shape[0]))
        if event.kind == "response":
            monitor.feedback.add_predictions(event.id, predictions)
        else:
            monitor.rows_ingested += rows
        return rows

    # --- rounds --------------------------------------------------------------------------

    async def round(self, monitors: Iterable[ModelMonitor], evaluate: Evaluate, now: float) -> bool:
        """This interval's round: evaluate every model if this replica takes it, then read
        the shared history. True when this replica evaluated."""
        monitors = list(monitors)
        slot = int(now // self._settings.interval_seconds)
        took = False
        async with exclusive(self._pool, ROUND) as got:
            if got and await self.windows.take_round(ROUND, slot):
                took = True
                for monitor in monitors:
                    await evaluate(monitor, await self.snapshot(monitor, now))
        if not got:
            await self._wait_for_round()
        for monitor in monitors:
            await self.refresh(monitor)
        return took

    async def _wait_for_round(self) -> None:
        """Wait (a bounded time) for the replica evaluating to finish, so the refresh after
        reads this round's evaluations rather than the last one's."""
        limit_ms = int(min(self._settings.interval_seconds / 2, 8.0) * 1000)
        try:
            async with self._pool.acquire() as conn, conn.transaction():
                await conn.execute(f"SET LOCAL lock_timeout = {limit_ms}")
                await conn.execute(_WAIT, ROUND)
        except asyncpg.LockNotAvailableError:
            log.info("drift round still running elsewhere; reading the history as it is")

    async def evaluate_now(self, monitor: ModelMonitor, evaluate: Evaluate) -> Evaluation:
        """Evaluate one model on demand, under the round's lock (waiting for a running round).

        Raises `HistoryUnavailable` when the database fails."""
        try:
            async with self._pool.acquire() as conn:
                await conn.execute(_LOCK, ROUND)
                try:
                    now = datetime.now(UTC).timestamp()
                    evaluation = await evaluate(monitor, await self.snapshot(monitor, now))
                finally:
                    await conn.execute(_UNLOCK, ROUND)
        except DATABASE_ERRORS as exc:
            raise HistoryUnavailable(str(exc)) from exc
        await self.refresh(monitor)
        return evaluation

    async def refresh(self, monitor: ModelMonitor) -> None:
        """Take the model's history rows this replica has not read yet into its memory and
        gauges (a failing database leaves them as they were, logged)."""
        key = monitor.key
        try:
            last, evaluations = await self.history.newer(*_key(monitor), self._last_row.get(key, 0))
        except HistoryUnavailable as exc:
            log.warning(
                "cannot read the shared drift history", extra={"model": key, "error": str(exc)}
            )
            return
        self._last_row[key] = last
        for evaluation in evaluations:
            monitor.record(evaluation)
        if evaluations:
            latest = evaluations[-1]
            rows = latest.inputs.window_rows if latest.inputs is not None else 0
            self._metrics.publish(latest, rows, monitor.predictions.memory_bytes)

    # --- the whole window ----------------------------------------------------------------

    async def snapshot(self, monitor: ModelMonitor, now: float) -> Snapshot:
        """What the evaluation of `monitor` needs, read from the shared tables (trimming the
        window and taking a captured reference on the way)."""
        key = _key(monitor)
        text_names = monitor.categorical
        batches = await self.windows.read(key, "request", text_names)
        if monitor.features is None and batches:
            monitor.set_features(batches[0].names)
        columns: dict[str, npt.NDArray[Any]] = {}
        note = ""
        if monitor.features is not None:
            reference, window, captured = await self._window(
                key, "request", monitor.features, text_names, batches, monitor.reference,
                monitor.config.capture_rows, now,
            )  # fmt: skip
            if monitor.reference is None and reference is not None:
                monitor.set_reference(_columns(reference, text_names))
            if monitor.reference is None:
                note = f"capturing the reference: {captured} of {monitor.config.capture_rows} rows"
            columns = _columns(window, text_names)
        prediction_text = (
            frozenset({PREDICTION}) if monitor.config.task == "classification" else frozenset()
        )
        batches = await self.windows.read(key, "response", prediction_text)
        reference, window, _ = await self._window(
            key, "response", (PREDICTION,), prediction_text, batches,
            monitor.prediction_reference, monitor.config.capture_rows, now,
        )  # fmt: skip
        if monitor.prediction_reference is None and reference is not None:
            monitor.prediction_reference = Reference(
                _columns(reference, prediction_text), prediction_text
            )
        return Snapshot(
            model=monitor.key,
            at=datetime.fromtimestamp(now, UTC),
            reference=monitor.reference,
            columns=columns,
            prediction_reference=monitor.prediction_reference,
            predictions=_columns(window, prediction_text)[PREDICTION],
            quality=monitor.feedback.quality(),
            note=note,
        )

    async def _window(
        self,
        key: tuple[str, str],
        kind: str,
        names: tuple[str, ...],
        text_names: frozenset[str],
        batches: list[Batch],
        reference: Reference | None,
        capture_rows: int,
        now: float,
    ) -> tuple[Batch | None, Batch, int]:
        """(the captured reference when one is new or stored, the window, rows captured).

        Without a reference the first `capture_rows` rows become it, as on one replica;
        until there are that many, every row waits for the reference and the window is
        empty. Batches that fall out of the window by count or age are deleted."""
        stale = [b.id for b in batches if b.names != names]  # features changed since
        batches = [b for b in batches if b.names == names]
        captured: Batch | None = None
        if reference is None:
            captured = await self.windows.reference(key, kind, text_names)
        if reference is None and captured is None:
            need = capture_rows
            parts: list[Batch] = []
            consumed: list[int] = []
            for batch in batches:
                take = min(need - sum(p.rows for p in parts), batch.rows)
                if take <= 0:
                    break
                parts.append(Batch(batch.id, 0.0, names, batch.numeric[:take], batch.text[:take]))
                if take == batch.rows:
                    consumed.append(batch.id)
            taken = sum(p.rows for p in parts)
            if taken < need:
                await self.windows.delete(stale)
                return None, _join([], names, text_names), taken
            captured = _join(parts, names, text_names)
            last = parts[-1]
            rest = None
            if last.id not in consumed:
                straddling = next(b for b in batches if b.id == last.id)
                rest = straddling.tail(last.rows)
            await self.windows.save_reference(key, kind, captured, consumed, rest)
            batches = [
                rest if rest is not None and b.id == rest.id else b
                for b in batches
                if b.id not in consumed
            ]
        cutoff = now - self._settings.window_seconds
        expired = [b.id for b in batches if b.received_at < cutoff]
        live = [b for b in batches if b.received_at >= cutoff]
        kept: list[Batch] = []
        room = self._settings.window_rows
        for batch in reversed(live):
            if room <= 0:
                break
            kept.append(batch.tail(batch.rows - room) if batch.rows > room else batch)
            room -= batch.rows
        kept.reverse()
        beyond = [b.id for b in live[: len(live) - len(kept)]]
        await self.windows.delete(stale + expired + beyond)
        return captured, _join(kept, names, text_names), 0
