"""The drift engine as one object the application wires in: routes, lifecycle, collector.

Created by `app` with the settings, the app's metric registry and the store (opened
before `start`, like `SlackService`'s). `start` loads the reference files, the persisted
windows and feedback (`drift.persist`, npz/JSON files under `<data_dir>/drift/`) and
each model's evaluation history (`drift.history_table`, the store's
`drift_evaluations` table), then evaluates every `drift.interval_seconds`; each
evaluation is written to the table as it is made, and `close` stops and writes the
files. Routes: `POST /ingest/kserve` (payload-logger CloudEvents), `POST /ingest/feedback`
(ground truth), `GET /api/drift`, `GET /api/drift/{namespace}/{name}` (from the table)
and `POST /api/drift/{namespace}/{name}/evaluate` (on demand). Bad input is a 4xx with
`{"error": ...}` and a counter outcome, never a 500.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import time
from collections import OrderedDict
from typing import Any

from aiohttp import web
from prometheus_client import CollectorRegistry
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bot.config import Settings
from bot.drift import persist
from bot.drift.collector import DriftCollector
from bot.drift.events import IngestError, parse_event
from bot.drift.history import evaluation_to_json
from bot.drift.history_table import HistoryTable
from bot.drift.metrics import DriftMetrics
from bot.drift.monitor import Evaluation, ModelMonitor
from bot.drift.reference_file import load_reference
from bot.field_errors import first_error
from bot.http_errors import error_response
from bot.store import Store
from bot.triage.collector import Collector
from bot.triage.evidence import Target

log = logging.getLogger(__name__)

Label = float | str


class _LabelItem(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1, max_length=512)
    label: Label | list[Label]


class _FeedbackBody(BaseModel):
    """`POST /ingest/feedback`: ground truth for earlier requests of one model."""

    model_config = ConfigDict(extra="forbid")

    namespace: str = Field(min_length=1)
    name: str = Field(min_length=1)
    labels: list[_LabelItem] = Field(min_length=1, max_length=100_000)


class DriftService:
    """Ingest, windows, evaluations, gauges, history and the triage collector."""

    def __init__(self, settings: Settings, registry: CollectorRegistry, store: Store) -> None:
        self._settings = settings.drift
        self._root = settings.data_dir / "drift"
        self._history = HistoryTable(store, settings.drift.history)
        self.metrics = DriftMetrics(registry)
        self.monitors: dict[str, ModelMonitor] = {}
        self._seen: OrderedDict[tuple[str, str, str], None] = OrderedDict()
        self._task: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()
        self._started = False

    # --- lifecycle -----------------------------------------------------------------------

    async def start(self) -> None:
        """Load references and stored state, then evaluate every interval."""
        await self._history.ensure()
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
            for evaluation in await self._history.load(config.namespace, config.name):
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

    async def _evaluate(self, monitor: ModelMonitor) -> Evaluation:
        snapshot = monitor.snapshot(time.time())
        evaluation = await asyncio.to_thread(ModelMonitor.evaluate, snapshot, monitor.options())
        monitor.record(evaluation)
        await self._history.record(monitor.config.namespace, monitor.config.name, evaluation)
        window_rows = monitor.window.rows if monitor.features is not None else 0
        memory = monitor.predictions.memory_bytes
        if monitor.features is not None:
            memory += monitor.window.memory_bytes
        self.metrics.publish(evaluation, window_rows, memory)
        return evaluation

    async def _persist(self) -> None:
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
        return [
            web.post("/ingest/kserve", self._ingest),
            web.post("/ingest/feedback", self._feedback),
            web.get("/api/drift", self._list),
            web.get("/api/drift/{namespace}/{name}", self._show),
            web.post("/api/drift/{namespace}/{name}/evaluate", self._evaluate_now),
        ]

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

    async def _body(self, request: web.Request) -> bytes:
        limit = self._settings.max_body_bytes
        too_large = IngestError(413, "too_large", f"body larger than {limit} bytes")
        if request.content_length is not None and request.content_length > limit:
            raise too_large
        data = bytearray()
        async for chunk in request.content.iter_chunked(1 << 16):
            data += chunk
            if len(data) > limit:
                raise too_large
        return bytes(data)

    async def _ingest(self, request: web.Request) -> web.Response:
        if not self._started:
            return error_response(503, "drift engine not started")
        try:
            event = parse_event(request.headers, await self._body(request))
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

    async def _feedback(self, request: web.Request) -> web.Response:
        if not self._started:
            return error_response(503, "drift engine not started")
        try:
            raw = await self._body(request)
            body = _FeedbackBody.model_validate_json(raw)
        except IngestError as exc:
            self.metrics.count(exc.outcome)
            return error_response(exc.status, exc.message)
        except ValidationError as exc:
            self.metrics.count("malformed")
            return error_response(400, first_error(exc, "(body)"))
        key = f"{body.namespace}/{body.name}"
        monitor = self.monitors.get(key)
        if monitor is None:
            self.metrics.count("unknown_model")
            return error_response(404, f"unknown model {key}: configure it under drift.models")
        joined = 0
        try:
            for item in body.labels:
                labels = tuple(item.label) if isinstance(item.label, list) else (item.label,)
                joined += monitor.add_labels(item.id, labels)
        except IngestError as exc:
            self.metrics.count(exc.outcome)
            return error_response(exc.status, f"{exc.message} (labels before this one were kept)")
        self.metrics.count("accepted")
        return web.json_response(
            {"status": "accepted", "labels": len(body.labels), "joined": joined}
        )

    def _monitor(self, request: web.Request) -> ModelMonitor | None:
        return self.monitors.get(f"{request.match_info['namespace']}/{request.match_info['name']}")

    async def _list(self, request: web.Request) -> web.Response:
        models = []
        for monitor in self.monitors.values():
            latest = monitor.latest
            models.append(
                {
                    "model": monitor.key,
                    "rows_ingested": monitor.rows_ingested,
                    "reference_ready": monitor.reference is not None,
                    "latest": evaluation_to_json(latest) if latest else None,
                }
            )
        return web.json_response({"models": models})

    async def _show(self, request: web.Request) -> web.Response:
        monitor = self._monitor(request)
        if monitor is None:
            return error_response(404, "unknown model")
        if not self._started:
            return error_response(503, "drift engine not started")
        try:
            history = await self._history.recent(monitor.config.namespace, monitor.config.name)
        except sqlite3.Error as exc:
            log.error("cannot read drift history", extra={"model": monitor.key, "error": str(exc)})
            return error_response(503, "drift history unavailable, retry later")
        return web.json_response({"model": monitor.key, "history": history})

    async def _evaluate_now(self, request: web.Request) -> web.Response:
        monitor = self._monitor(request)
        if monitor is None:
            return error_response(404, "unknown model")
        if not self._started:
            return error_response(503, "drift engine not started")
        async with self._lock:
            evaluation = await self._evaluate(monitor)
        return web.json_response(evaluation_to_json(evaluation))
