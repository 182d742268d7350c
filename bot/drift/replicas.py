"""Drift with several replicas on one PostgreSQL: shared windows, one evaluation a round.

Built by `drift.service` when its store is PostgreSQL; SQLite installs never load it.
Any replica may receive any model's events: `ingest` validates them as the single replica
does (`drift.monitor`) and appends their rows to the shared window (`drift.pg_windows`).
Every `drift.interval_seconds`, aligned to the clock, each replica tries the round: the
one holding the advisory lock (`store.postgres.periodic`) that also moves `drift_rounds`
to this interval evaluates every model from the whole shared window and records it in
the shared history (`drift.pg_history`); the others wait for the lock to be free. Then
every replica reads the new history rows (`refresh`), so all export the same gauges and
the triage's drift evidence is the same on each. Predictions and labels are logged by
whichever replica receives them and joined at the round (`drift.pg_feedback`).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

import asyncpg
import numpy as np
import numpy.typing as npt

from bot.config_sections.drift import DriftSettings
from bot.drift.evaluation import Evaluation, Snapshot
from bot.drift.gauges import DriftMetrics
from bot.drift.history_table import HistoryUnavailable
from bot.drift.ingest.cloudevents import InferenceEvent, IngestError
from bot.drift.ingest.feedback import Feedback
from bot.drift.ingest.model_bodies import Value
from bot.drift.ingest.window import prediction_matrices
from bot.drift.monitor import PREDICTION, ModelMonitor
from bot.drift.pg_feedback import SharedFeedback, log_values
from bot.drift.pg_history import DATABASE_ERRORS, PoolSource, PostgresHistory
from bot.drift.pg_windows import Batch, SharedWindows
from bot.drift.shared_plan import Part, plan_capture, plan_window
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
        self.feedback = SharedFeedback(source)
        self._last_row: dict[str, int] = {}  # model key -> newest history row read

    @property
    def _pool(self) -> asyncpg.Pool:
        return self._source.pool

    # --- ingest --------------------------------------------------------------------------

    async def ingest(self, monitor: ModelMonitor, event: InferenceEvent, now: float) -> int | None:
        """Append one event's rows to the shared window: how many, or None for an event some
        replica stored already (a replay). Raises `IngestError` for bad input, as the
        single replica does, and a 503 one when the database fails."""
        logged = None
        if event.kind == "response":
            predictions, column = monitor.prediction_column(event)
            numeric, text = prediction_matrices(monitor.config.task, column)
            names: tuple[str, ...] = (PREDICTION,)
            logged = log_values(_key(monitor), "predictions", event.id, predictions)
        else:
            typed, _ = monitor.typed_inputs(event)
            numeric, text = monitor.input_matrices(typed)
            assert monitor.features is not None  # named by typed_inputs
            names = monitor.features
        try:
            stored = await self.windows.append(
                _key(monitor), event.kind, event.id, now, names, numeric, text, logged
            )
        except DATABASE_ERRORS as exc:
            log.error("cannot store drift rows", extra={"model": monitor.key, "error": str(exc)})
            raise IngestError(503, "unavailable", "drift store unavailable, retry later") from exc
        if not stored:
            return None
        rows = int(max(numeric.shape[0], text.shape[0]))
        if event.kind == "request":
            monitor.rows_ingested += rows
        return rows

    async def add_labels(
        self, monitor: ModelMonitor, labels: list[tuple[str, tuple[Value, ...]]]
    ) -> None:
        """Log posted labels for the next round to join (a 503 `IngestError` when the
        database fails)."""
        try:
            await self.feedback.add_labels(_key(monitor), labels)
        except DATABASE_ERRORS as exc:
            log.error("cannot store labels", extra={"model": monitor.key, "error": str(exc)})
            raise IngestError(503, "unavailable", "drift store unavailable, retry later") from exc

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
                    try:
                        await evaluate(monitor, await self.snapshot(monitor, now))
                    except (ValueError, TypeError, KeyError):  # no other replica retries
                        log.exception("drift evaluation failed", extra={"model": monitor.key})
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
        except (*DATABASE_ERRORS, ValueError, TypeError, KeyError) as exc:  # or a bad row
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
            self._metrics.publish(latest, rows, monitor.memory_bytes)

    # --- the whole window ----------------------------------------------------------------

    async def snapshot(self, monitor: ModelMonitor, now: float) -> Snapshot:
        """What the evaluation of `monitor` needs, read from the shared tables (trimming the
        window and taking a captured reference on the way)."""
        key = _key(monitor)
        text_names = monitor.categorical
        if monitor.features is None:
            first = await self.windows.index(key, "request")
            if first:
                monitor.set_features(first[0].names)
        columns: dict[str, npt.NDArray[Any]] = {}
        note = ""
        if monitor.features is not None:
            reference, window, captured = await self._window(
                key, "request", monitor.features, text_names, monitor.reference is None,
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
        reference, window, _ = await self._window(
            key, "response", (PREDICTION,), prediction_text,
            monitor.prediction_reference is None, monitor.config.capture_rows, now,
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
            quality=(await self._joined(monitor)).quality(),
            note=note,
        )

    async def _joined(self, monitor: ModelMonitor) -> Feedback:
        monitor.feedback = await self.feedback.apply(_key(monitor), monitor.new_feedback)
        return monitor.feedback

    async def _window(
        self,
        key: tuple[str, str],
        kind: str,
        names: tuple[str, ...],
        text_names: frozenset[str],
        capture: bool,
        capture_rows: int,
        now: float,
    ) -> tuple[Batch | None, Batch, int]:
        """(the reference, when `capture` asks for one and it is complete; the window; rows
        captured so far). Without a reference the first `capture_rows` rows become it, as on
        one replica; until there are that many, every row waits for it and the window is
        empty. Batches out of the window by count or age, or of other features, go."""
        infos = await self.windows.index(key, kind)
        stale = [i.id for i in infos if i.names != names]  # the features changed since
        infos = [i for i in infos if i.names == names]
        captured = await self.windows.reference(key, kind, text_names) if capture else None
        if capture and captured is None:
            plan = plan_capture(infos, capture_rows)
            if isinstance(plan, int):
                await self.windows.delete(stale)
                return None, _join([], names, text_names), plan
            ids = [p.id for p in plan.parts]
            loaded = {b.id: b for b in await self.windows.load(ids, text_names)}
            captured = _join(_slices(plan.parts, loaded), names, text_names)
            rest = None
            if plan.rest_from is not None:
                rest = loaded[plan.rest_from.id].tail(plan.rest_from.start)
            await self.windows.save_reference(key, kind, captured, list(plan.consumed), rest)
            infos = [i for i in await self.windows.index(key, kind) if i.names == names]
        parts, dropped = plan_window(
            infos, now, self._settings.window_rows, self._settings.window_seconds
        )
        loaded = {b.id: b for b in await self.windows.load([p.id for p in parts], text_names)}
        await self.windows.delete(stale + dropped)
        return captured, _join(_slices(parts, loaded), names, text_names), 0


def _slices(parts: Sequence[Part], loaded: dict[int, Batch]) -> list[Batch]:
    """The rows the parts name, of the batches loaded (one deleted meanwhile: left out)."""
    out: list[Batch] = []
    for part in parts:
        batch = loaded.get(part.id)
        if batch is not None:
            numeric, text = (
                batch.numeric[part.start : part.stop],
                batch.text[part.start : part.stop],
            )
            out.append(Batch(batch.id, batch.received_at, batch.names, numeric, text))
    return out
