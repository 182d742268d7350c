"""The drift engine as one object the application wires in: routes, lifecycle, collector.

Created by `app` with the drift settings, the app's metric registry and the store
(opened before `start`, like `SlackService`'s), the data dir and the body timeout. `start`
loads the reference files, the persisted windows and feedback (`drift.persist`, npz/JSON
files under `<data_dir>/drift/`) and each model's evaluation history
(`drift.history_table`, the store's `drift_evaluations` table), then evaluates every
`drift.interval_seconds`; each evaluation is written to the table as it is made, and
`close` stops and writes the files. When the store is PostgreSQL (several replicas),
windows and history are shared instead (`drift.replicas`): events go to the shared
window, one replica evaluates each round, every replica reads the shared history. The
statistics run on one `Compute` (threads, scratch arrays) the service owns from `start`
to `close`. The routes are `drift.endpoints`'; they hand parsed events to `accept`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiohttp import web
from prometheus_client import CollectorRegistry

from bot.background import stop
from bot.config_sections.drift import DriftSettings
from bot.drift.endpoints import DriftApi
from bot.drift.gauges import DriftMetrics
from bot.drift.history_table import EvaluationHistory, HistoryTable
from bot.drift.live_evidence import DriftCollector
from bot.model.collector import Collector
from bot.model.target import Target
from bot.store.sqlite import Store

if TYPE_CHECKING:
    from bot.drift.evaluation import Evaluation, Snapshot
    from bot.drift.ingest.cloudevents import InferenceEvent
    from bot.drift.monitor import ModelMonitor
    from bot.drift.replicas import SharedDrift
    from bot.drift.stats.compute import Compute
    from bot.store.postgres.store import PostgresStore

log = logging.getLogger(__name__)


class DriftService:
    """Ingest, windows, evaluations, gauges, history and the triage collector."""

    def __init__(
        self,
        settings: DriftSettings,
        registry: CollectorRegistry,
        store: Store | PostgresStore,
        *,
        data_dir: Path,
        body_timeout_seconds: float = 10.0,
    ) -> None:
        self._settings = settings
        self._body_timeout = body_timeout_seconds
        self._root = data_dir / "drift"
        self.metrics = DriftMetrics(registry)
        self.history: EvaluationHistory
        # With PostgreSQL, windows and history shared by the replicas; else None.
        self.shared: SharedDrift | None = None
        if isinstance(store, Store):
            self.history = HistoryTable(store, settings.history)
        elif settings.models:
            from bot.drift.replicas import SharedDrift  # lazy: numpy, asyncpg, the engine

            self.shared = SharedDrift(store, settings, self.metrics)
            self.history = self.shared.history
        else:  # no model: only the (empty) history to serve
            from bot.drift.pg_history import PostgresHistory

            self.history = PostgresHistory(store, settings.history)
        self.monitors: dict[str, ModelMonitor] = {}
        self._seen: OrderedDict[tuple[str, str, str], None] = OrderedDict()
        self._task: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()
        self._started = False
        # The statistics' threads and scratch arrays, shared by every model's evaluations:
        # made at start when there are models, stopped at close.
        self._compute: Compute | None = None

    # --- lifecycle -----------------------------------------------------------------------

    async def start(self) -> None:
        """Load references and stored state, then evaluate every interval."""
        await self.history.ensure()
        if self._settings.models:
            # Here, not at the top: numpy and the engine cost a service without models
            # a tenth of a second of start and tens of megabytes.
            from bot.drift import persist
            from bot.drift.ingest.reference_file import load_reference
            from bot.drift.monitor import ModelMonitor
            from bot.drift.stats.compute import Compute

            self._compute = Compute(self._settings.workers)
        for config in self._settings.models:
            reference = None
            if config.reference is not None:
                reference = await asyncio.to_thread(
                    load_reference, config.reference, config.features, config.categorical
                )
            monitor = ModelMonitor(config, self._settings, reference)
            self.monitors[monitor.key] = monitor
            if self.shared is not None:  # the state is the database's, not this replica's
                await self.shared.refresh(monitor)
                continue
            stored = await asyncio.to_thread(persist.read, self._root, monitor.key)
            if stored is not None:
                self._restore(monitor, *stored)
            for evaluation in await self.history.load(config.namespace, config.name):
                monitor.record(evaluation)
        self._started = True
        self._task = asyncio.create_task(self._loop(), name="drift-evaluations")

    def _restore(self, monitor: ModelMonitor, arrays: dict[str, Any], meta: dict[str, Any]) -> None:
        try:
            monitor.load(arrays)
            monitor.feedback.load(meta.get("feedback", {}))
        except (ValueError, KeyError, TypeError) as exc:
            log.warning(
                "stored drift state ignored", extra={"model": monitor.key, "error": str(exc)}
            )
            return
        for kind, event_id in meta.get("seen", []):
            self._remember((monitor.key, str(kind), str(event_id)))

    async def close(self) -> None:
        """Stop evaluating and write the state of every model."""
        await stop(self._task)
        self._task = None
        if self._started:
            async with self._lock:
                await self._persist()
        self._started = False
        if self._compute is not None:
            self._compute.close()
            self._compute = None

    async def _loop(self) -> None:
        interval = self._settings.interval_seconds
        while True:
            # Shared: on the clock's interval boundaries, so replicas try each round together.
            wait = interval - time.time() % interval if self.shared is not None else interval
            await asyncio.sleep(wait)
            try:
                await self.evaluate_all()
            except Exception:  # one bad round must not end the loop
                log.exception("drift evaluation round failed")

    async def evaluate_all(self, now: float | None = None) -> None:
        """Evaluate every model now and persist the state (shared: this interval's round, if
        no replica took it yet; `now` picks the interval)."""
        async with self._lock:
            if self.shared is not None:
                at = time.time() if now is None else now
                await self.shared.round(self.monitors.values(), self._evaluate_snapshot, at)
            else:
                for monitor in self.monitors.values():
                    await self._evaluate(monitor)
            await self._persist()

    @property
    def started(self) -> bool:
        """True between `start` and `close`: the routes answer 503 otherwise."""
        return self._started

    async def evaluate_now(self, monitor: ModelMonitor) -> Evaluation:
        """Evaluate one model now, between the periodic rounds (never during one).

        Shared: under the rounds' lock; `HistoryUnavailable` when the database fails."""
        async with self._lock:
            if self.shared is not None:
                return await self.shared.evaluate_now(monitor, self._evaluate_snapshot)
            return await self._evaluate(monitor)

    async def _evaluate_snapshot(self, monitor: ModelMonitor, snapshot: Snapshot) -> Evaluation:
        """The statistics of `snapshot` (in a thread), stored in the history."""
        from bot.drift.monitor import (
            ModelMonitor,  # lazy: numpy and the engine load with the first model
        )

        assert self._compute is not None  # made at start, as the monitors are
        evaluation = await asyncio.to_thread(
            ModelMonitor.evaluate, snapshot, monitor.options(), self._compute
        )
        await self.history.record(monitor.config.namespace, monitor.config.name, evaluation)
        return evaluation

    async def _evaluate(self, monitor: ModelMonitor) -> Evaluation:
        evaluation = await self._evaluate_snapshot(monitor, monitor.snapshot(time.time()))
        monitor.record(evaluation)
        window_rows = monitor.window.rows if monitor.features is not None else 0
        self.metrics.publish(evaluation, window_rows, monitor.memory_bytes)
        return evaluation

    async def _persist(self) -> None:
        from bot.drift import persist  # lazy: numpy and the engine load with the first model

        if self.shared is not None:  # every write went to the database already
            return
        now = time.time()
        for monitor in self.monitors.values():
            arrays = monitor.arrays(now)
            meta = {
                "feedback": monitor.feedback.state(),
                "seen": [[kind, i] for (key, kind, i) in self._seen if key == monitor.key],
            }
            try:
                await asyncio.to_thread(persist.write, self._root, monitor.key, arrays, meta)
            except OSError as exc:
                log.error(
                    "cannot write drift state", extra={"model": monitor.key, "error": str(exc)}
                )

    # --- wiring --------------------------------------------------------------------------

    def routes(self) -> list[web.RouteDef]:
        """The HTTP routes to add to the application."""
        return DriftApi(self, self._settings.max_body_bytes, self._body_timeout).routes()

    def collector(self) -> Collector:
        """The triage collector reading these monitors (shared: each refreshed first)."""
        return DriftCollector(
            self.find, refresh=self.shared.refresh if self.shared is not None else None
        )

    def find(self, target: Target) -> ModelMonitor | None:
        """The monitor of an alert's target: by namespace/name, or by a unique name."""
        name = target.inference_service or target.model
        if not name:
            return None
        if target.namespace:
            return self.monitors.get(f"{target.namespace}/{name}")
        matches = [m for m in self.monitors.values() if m.config.name == name]
        return matches[0] if len(matches) == 1 else None

    # --- handlers ------------------------------------------------------------------------

    def _remember(self, key: tuple[str, str, str]) -> None:
        self._seen[key] = None
        while len(self._seen) > self._settings.pending_ids:
            self._seen.popitem(last=False)

    async def accept(self, monitor: ModelMonitor, event: InferenceEvent) -> int | None:
        """Take a parsed event into the model's window (shared: the database's): the rows
        it added, or None for a replayed event. Raises `IngestError` for bad input."""
        seen = (monitor.key, event.kind, event.id)
        if seen in self._seen:
            return None
        if self.shared is None:
            rows: int | None = monitor.ingest(event, time.time())
        else:  # None: another replica (or this one, before a restart) stored it
            rows = await self.shared.ingest(monitor, event, time.time())
        if rows is not None:
            self._remember(seen)
        return rows
