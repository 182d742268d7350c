"""The drift routes: events and ground truth in, evaluations out.

Built by `drift.service.DriftService.routes` over the running service:
`POST /ingest/kserve` (payload-logger CloudEvents, handed to `DriftService.accept`),
`POST /ingest/feedback` (labels for earlier requests, joined by request id),
`GET /api/drift`, `GET /api/drift/{namespace}/{name}` (from the history table) and
`POST /api/drift/{namespace}/{name}/evaluate` (on demand). Bad input is a 4xx naming the
problem, with a counter outcome; never a 500.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bot.drift.history_table import HistoryUnavailable
from bot.drift.ingest.cloudevents import IngestError, parse_event
from bot.field_errors import first_error
from bot.http_errors import error_response

if TYPE_CHECKING:
    from bot.drift.evaluation import Evaluation
    from bot.drift.monitor import ModelMonitor
    from bot.drift.service import DriftService

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


def _to_json(evaluation: Evaluation) -> dict[str, Any]:
    from bot.drift.history import (
        evaluation_to_json,  # lazy: numpy and the engine load with the first model
    )

    return evaluation_to_json(evaluation)


class DriftApi:
    """The handlers; each reads the service's monitors, metrics and history."""

    def __init__(self, service: DriftService, max_body_bytes: int, body_timeout: float) -> None:
        self._service = service
        self._limit = max_body_bytes
        self._body_timeout = body_timeout

    def routes(self) -> list[web.RouteDef]:
        """The routes to add to the application."""
        return [
            web.post("/ingest/kserve", self.kserve),
            web.post("/ingest/feedback", self.feedback),
            web.get("/api/drift", self.list),
            web.get("/api/drift/{namespace}/{name}", self.show),
            web.post("/api/drift/{namespace}/{name}/evaluate", self.evaluate),
        ]

    async def read_body(self, request: web.Request) -> bytes:
        """A request body up to `drift.max_body_bytes`, else a 413 `IngestError`."""
        limit = self._limit
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

    async def kserve(self, request: web.Request) -> web.Response:
        """`POST /ingest/kserve`: one payload-logger CloudEvent (binary or structured)."""
        service = self._service
        if not service.started:
            return error_response(503, "drift engine not started")
        try:
            event = parse_event(request.headers, await self.read_body(request))
            key = f"{event.namespace}/{event.service}"
            monitor = service.monitors.get(key)
            if monitor is None:
                raise IngestError(
                    404, "unknown_model", f"unknown model {key}: configure it under drift.models"
                )
            rows = await service.accept(monitor, event)
        except IngestError as exc:
            service.metrics.count(exc.outcome)
            return error_response(exc.status, exc.message)
        except (ValueError, TypeError) as exc:  # a payload shape the parsers did not foresee
            log.warning("drift ingest refused", extra={"error": str(exc)})
            service.metrics.count("malformed")
            return error_response(400, f"payload not usable: {exc}")
        if rows is None:
            service.metrics.count("duplicate")
            return web.json_response({"status": "duplicate", "id": event.id})
        service.metrics.count("accepted")
        if event.kind == "request":
            service.metrics.add_rows(key, rows)
        return web.json_response({"status": "accepted", "id": event.id, "rows": rows})

    async def feedback(self, request: web.Request) -> web.Response:
        """`POST /ingest/feedback`: labels joined with earlier predictions by request id."""
        service = self._service
        if not service.started:
            return error_response(503, "drift engine not started")
        try:
            raw = await self.read_body(request)
            body = _FeedbackBody.model_validate_json(raw)
        except IngestError as exc:
            service.metrics.count(exc.outcome)
            return error_response(exc.status, exc.message)
        except ValidationError as exc:
            service.metrics.count("malformed")
            return error_response(400, first_error(exc, "(body)"))
        key = f"{body.namespace}/{body.name}"
        monitor = service.monitors.get(key)
        if monitor is None:
            service.metrics.count("unknown_model")
            return error_response(404, f"unknown model {key}: configure it under drift.models")
        items = [
            (item.id, tuple(item.label) if isinstance(item.label, list) else (item.label,))
            for item in body.labels
        ]
        joined: int | None = 0
        try:
            if service.shared is not None:  # several replicas: joined at the next round
                await service.shared.add_labels(monitor, items)
                joined = None
            else:
                joined = sum(monitor.add_labels(rid, labels) for rid, labels in items)
        except IngestError as exc:
            service.metrics.count(exc.outcome)
            kept = " (labels before this one were kept)" if exc.status == 422 else ""
            return error_response(exc.status, f"{exc.message}{kept}")
        service.metrics.count("accepted")
        return web.json_response(
            {"status": "accepted", "labels": len(body.labels), "joined": joined}
        )

    def _monitor(self, request: web.Request) -> ModelMonitor | None:
        return self._service.monitors.get(
            f"{request.match_info['namespace']}/{request.match_info['name']}"
        )

    def _started_monitor(self, request: web.Request) -> ModelMonitor | web.Response:
        """The model the path names, or the answer why not (404 unknown, 503 not started)."""
        monitor = self._monitor(request)
        if monitor is None:
            return error_response(404, "unknown model")
        if not self._service.started:
            return error_response(503, "drift engine not started")
        return monitor

    async def list(self, request: web.Request) -> web.Response:
        """`GET /api/drift`: every model's latest evaluation."""
        models = []
        for monitor in self._service.monitors.values():
            latest = monitor.latest
            models.append(
                {
                    "model": monitor.key,
                    "rows_ingested": monitor.rows_ingested,
                    "reference_ready": monitor.reference is not None,
                    "latest": _to_json(latest) if latest else None,
                }
            )
        return web.json_response({"models": models})

    async def show(self, request: web.Request) -> web.Response:
        """`GET /api/drift/{namespace}/{name}`: a model's history, from the table."""
        monitor = self._started_monitor(request)
        if isinstance(monitor, web.Response):
            return monitor
        try:
            history = await self._service.history.recent(
                monitor.config.namespace, monitor.config.name
            )
        except HistoryUnavailable as exc:
            log.error("cannot read drift history", extra={"model": monitor.key, "error": str(exc)})
            return error_response(503, "drift history unavailable, retry later")
        return web.json_response({"model": monitor.key, "history": history})

    async def evaluate(self, request: web.Request) -> web.Response:
        """`POST /api/drift/{namespace}/{name}/evaluate`: evaluate one model now."""
        monitor = self._started_monitor(request)
        if isinstance(monitor, web.Response):
            return monitor
        try:
            evaluation = await self._service.evaluate_now(monitor)
        except HistoryUnavailable as exc:  # several replicas: the shared database failed
            log.error("cannot evaluate drift", extra={"model": monitor.key, "error": str(exc)})
            return error_response(503, "drift store unavailable, retry later")
        return web.json_response(_to_json(evaluation))
