"""The drift engine as one object the application wires in: routes, lifecycle, collector.

Created by `app` with the settings, the app's metric registry and the store (opened
before `start`, like `SlackService`'s). `start` loads the reference files, the persisted
windows and feedback (`drift.persist`, npz/JSON files under `<data_dir>/drift/`) and
each model's evaluation history (`drift.history_table`, the store's
`drift_evaluations` table), then evaluates every `drift.interval_seconds`; each
evaluation is written to the table as it is made, and `close` stops and writes the
files. The statistics run on one `Compute` (threads, scratch arrays) the service owns
from `start` to `close`. Routes: `POST /ingest/kserve` (payload-logger CloudEvents) here,
the feedback and `/api/drift` routes in `drift.endpoints`. Bad input is a 4xx with
`{"error": ...}` and a counter outcome, never a 500.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import OrderedDict
from typing import TYPE_CHECKING, Any

from aiohttp import web
from prometheus_client import CollectorRegistry

from bot.config import Settings
from bot.drift.endpoints import DriftApi
from bot.drift.gauges import DriftMetrics
from bot.drift.history_table import HistoryTable
from bot.drift.ingest.cloudevents import IngestError, parse_event
from bot.drift.live_evidence import DriftCollector
from bot.http_errors import error_response
from bot.model.collector import Collector
from bot.model.target import Target
from bot.store.sqlite import Store

if TYPE_CHECKING:
    from bot.drift.evaluation import Evaluation
    from bot.drift.monitor import ModelMonitor
    from bot.drift.stats.compute import Compute

log = logging.getLogger(__name__)


class DriftService:
    """Ingest, windows, evaluations, gauges, history and the triage collector."""

    def __init__(self, settings: Settings, registry: CollectorRegistry, store: Store) -> None:
        self._settings = settings.drift
        self._body_timeout = settings.body_timeout_seconds
        self._root = settings.data_dir / "drift"
        self.history = HistoryTable(store, settings.drift.history)
        self.metrics = DriftMetrics(registry)
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
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._started:
            async with self._lock:
                await self._persist()
        self._started = False
        if self._compute is not None:
            self._compute.close()
            self._compute = None

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self._settings.interval_seconds)
            try:
                await self.evaluate_all()
            except Exception:  # one bad round must not end the loop
                log.exception("drift evaluation round failed")

    async def evaluate_all(self) -> None:
        """Evaluate every model now and persist the state."""
        async with self._lock:
            for monitor in self.monitors.values():
                await self._evaluate(monitor)
            await self._persist()

    @property
    def started(self) -> bool:
        """True between `start` and `close`: the routes answer 503 otherwise."""
        return self._started

    async def evaluate_now(self, monitor: ModelMonitor) -> Evaluation:
        """Evaluate one model now, between the periodic rounds (never during one)."""
        async with self._lock:
            return await self._evaluate(monitor)

    async def _evaluate(self, monitor: ModelMonitor) -> Evaluation:
        from bot.drift.monitor import (
            ModelMonitor,  # lazy: numpy and the engine load with the first model
        )

        assert self._compute is not None  # made at start, as the monitors are
        snapshot = monitor.snapshot(time.time())
        evaluation = await asyncio.to_thread(
            ModelMonitor.evaluate, snapshot, monitor.options(), self._compute
        )
        monitor.record(evaluation)
        await self.history.record(monitor.config.namespace, monitor.config.name, evaluation)
        window_rows = monitor.window.rows if monitor.features is not None else 0
        memory = monitor.predictions.memory_bytes
        if monitor.features is not None:
            memory += monitor.window.memory_bytes
        self.metrics.publish(evaluation, window_rows, memory)
        return evaluation

    async def _persist(self) -> None:
        from bot.drift import persist  # lazy: numpy and the engine load with the first model

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
        return [web.post("/ingest/kserve", self._ingest), *DriftApi(self).routes()]

    def collector(self) -> Collector:
        """The triage collector reading these monitors."""
        return DriftCollector(self.find)

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

    async def read_body(self, request: web.Request) -> bytes:
        """A request body up to `drift.max_body_bytes`, else a 413 `IngestError`."""
        limit = self._settings.max_body_bytes
        too_large = IngestError(413, "too_large", f"body larger than {limit} bytes")
        if request.content_length is not None and request.content_length > limit:
            raise too_large
        data = bytearray()
        try:
            async with asyncio.timeout(self._body_timeout):
                async for chunk in request.content.iter_chunked(1 << 16):
                    data += chunk
                    if len(data) > limit:
                        raise too_large
        except TimeoutError as exc:
            message = f"body not received within {self._body_timeout:g} s"
            raise IngestError(408, "slow_body", message) from exc
        return bytes(data)

    async def _ingest(self, request: web.Request) -> web.Response:
        if not self._started:
            return error_response(503, "drift engine not started")
        try:
            event = parse_event(request.headers, await self.read_body(request))
            key = f"{event.namespace}/{event.service}"
            monitor = self.monitors.get(key)
            if monitor is None:
                raise IngestError(
                    404, "unknown_model", f"unknown model {key}: configure it under drift.models"
                )
            seen = (key, event.kind, event.id)
            if seen in self._seen:
                self.metrics.count("duplicate")
                return web.json_response({"status": "duplicate", "id": event.id})
            rows = monitor.ingest(event, time.time())
        except IngestError as exc:
            self.metrics.count(exc.outcome)
            return error_response(exc.status, exc.message)
        except (ValueError, TypeError) as exc:  # a payload shape the parsers did not foresee
            log.warning("drift ingest refused", extra={"error": str(exc)})
            self.metrics.count("malformed")
            return error_response(400, f"payload not usable: {exc}")
        self._remember(seen)
        self.metrics.count("accepted")
        if event.kind == "request":
            self.metrics.add_rows(key, rows)
        return web.json_response({"status": "accepted", "id": event.id, "rows": rows})
