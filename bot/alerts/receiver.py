"""`POST /alertmanager`: authenticate, bound, parse, dedup, store durably, enqueue.

Registered by `app`. Every refusal is a 4xx with `{"error": ..., "detail": ...}` naming
the problem; a failed write is a 503 with Retry-After so Alertmanager retries, and so is
back-pressure on what can run out: the memory of the in-flight queue
(`queue_memory_mib`, see `triage.queue`) and the disk (`min_free_disk_mib` free in the
data dir). A backlog stays in the store. Only after the notification is committed to the
store does it answer 200: with PostgreSQL down or restarting, the write raises and the
answer is a 503 naming the error (the app answers 503 before even trying while its
cached reachability check says the database is down).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from aiohttp import web
from pydantic import ValidationError

from bot.alerts.dedup import DedupIndex
from bot.auth import bearer_matches
from bot.field_errors import field_errors
from bot.http_errors import error_response
from bot.metrics import WEBHOOK_OUTCOMES, BotMetrics
from bot.model.alert import Notification
from bot.store.interface import NotificationStore
from bot.triage.queue import QueuedNotification, QueueFull, Reservation, TriageQueue

log = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = "10"
MIB = 1024 * 1024


@dataclass(frozen=True)
class ReceiverConfig:
    """What the receiver checks."""

    token: str | None
    max_body_bytes: int
    min_free_disk_bytes: int = 0
    body_timeout_seconds: float = 10.0


_RETRY = {"Retry-After": RETRY_AFTER_SECONDS}


async def _read_bounded(request: web.Request, limit: int) -> bytes | None:
    """The body, or None when it is longer than `limit` (read no further than that)."""
    if request.content_length is not None:
        # Known length within the limit: one read, no chunk loop.
        return None if request.content_length > limit else await request.content.read()
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.content.iter_chunked(64 * 1024):
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def _reason(exc: BaseException) -> str:
    """A store failure in a few words: what Alertmanager's log and the operator see."""
    text = " ".join(str(exc).split())[:200]
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


class AlertmanagerReceiver:
    """The webhook handler and what it writes to."""

    def __init__(
        self,
        config: ReceiverConfig,
        store: NotificationStore,
        queue: TriageQueue,
        dedup: DedupIndex,
        metrics: BotMetrics,
    ) -> None:
        self._config = config
        self._token = config.token.encode() if config.token else None
        self._store = store
        self._queue = queue
        self._dedup = dedup
        self._metrics = metrics
        self._outcomes = {o: metrics.webhooks.labels(o) for o in WEBHOOK_OUTCOMES}

    def _authorized(self, request: web.Request) -> bool:
        if self._token is None:
            return True
        return bearer_matches(request.headers.get("Authorization", ""), self._token)

    def _count(self, outcome: str) -> None:
        self._outcomes[outcome].inc()

    async def handle(self, request: web.Request) -> web.Response:
        """Accept one webhook (the worker holds back new triages meanwhile)."""
        with self._queue.receiving():
            return await self._handle(request)

    async def _handle(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            self._count("unauthorized")
            return error_response(
                401,
                "missing or wrong bearer token",
                headers={"WWW-Authenticate": 'Bearer realm="triage-bot"'},
            )
        if request.content_type != "application/json":
            self._count("bad_content_type")
            return error_response(
                415,
                f"content type must be application/json, not {request.content_type or 'none'}",
            )
        # A webhook usually arrives with its headers: then there is nothing to wait for and
        # no timer to arm on this hot path.
        arrived = request.content_length is not None and (
            request.content_length > self._config.max_body_bytes
            or request.content.total_bytes >= request.content_length
        )
        try:
            if arrived:
                body = await _read_bounded(request, self._config.max_body_bytes)
            else:
                async with asyncio.timeout(self._config.body_timeout_seconds):
                    body = await _read_bounded(request, self._config.max_body_bytes)
        except TimeoutError:
            self._count("slow_body")
            seconds = self._config.body_timeout_seconds
            return error_response(408, f"body not received within {seconds:g} s")
        if body is None:
            self._count("too_large")
            return error_response(413, f"body larger than {self._config.max_body_bytes} bytes")
        try:
            notification = Notification.model_validate_json(body)
        except ValidationError as exc:
            return self._invalid(exc)
        return await self._accept(notification, body)

    def _invalid(self, exc: ValidationError) -> web.Response:
        errors = exc.errors(include_url=False)
        if any(e["type"] == "json_invalid" for e in errors):
            self._count("malformed")
            return error_response(400, "body is not valid JSON", errors[0]["msg"])
        if any(e["type"] == "model_type" and not e["loc"] for e in errors):
            self._count("invalid")
            return error_response(422, "body must be a JSON object (Alertmanager webhook v4)")
        self._count("invalid")
        fields = field_errors(exc, "(body)")
        return error_response(422, f"invalid webhook payload: {fields[0]['field']}", fields)

    async def _accept(self, notification: Notification, body: bytes) -> web.Response:
        key = notification.dedup_key()
        claim = self._dedup.claim(key)
        if not claim.is_new:
            return await self._duplicate(claim.original, notification)
        refusal = self._no_room(notification.group_key, len(body))
        if isinstance(refusal, web.Response):
            self._dedup.failed(key, QueueFull())
            return refusal
        reservation = refusal
        try:
            ident = await self._store.add_notification(
                notification.group_key, notification.status, key, body.decode()
            )
        except Exception as exc:
            self._queue.release(reservation)
            self._dedup.failed(key, exc)
            self._count("store_error")
            log.exception("could not store notification")
            return error_response(
                503, f"could not store the notification: {_reason(exc)}", headers=_RETRY
            )
        self._dedup.stored(key)
        self._queue.put_reserved(
            QueuedNotification(ident, notification.group_key, body), reservation
        )
        self._metrics.queue_depth.set(self._queue.depth)
        self._count("accepted")
        if log.isEnabledFor(logging.INFO):
            log.info(
                "notification accepted",
                extra={
                    "group_key": notification.group_key,
                    "status": notification.status,
                    "alerts": len(notification.alerts),
                    "id": ident,
                },
            )
        return web.Response(
            body=b'{"status": "accepted", "id": %d}' % ident, content_type="application/json"
        )

    def _no_room(self, group_key: str, size: int) -> Reservation | web.Response:
        """Room in memory and on disk for one more notification, or the 503 saying which."""
        free = self._store.free_bytes()
        if free < self._config.min_free_disk_bytes + size:
            self._count("disk_full")
            log.warning("disk nearly full: refusing notifications", extra={"free_bytes": free})
            return error_response(
                503,
                f"disk nearly full: {free // MIB} MiB free in the data dir, below"
                f" min_free_disk_mib ({self._config.min_free_disk_bytes // MIB}); retry later",
                headers=_RETRY,
            )
        try:
            return self._queue.reserve(group_key, size)
        except QueueFull:
            self._count("queue_full")
            held, limit = self._queue.held_bytes / MIB, self._queue.memory_limit / MIB
            return error_response(
                503,
                f"triage queue full: {held:.1f} MiB of queue_memory_mib {limit:g} waiting for"
                " triage; retry later",
                headers=_RETRY,
            )

    async def _duplicate(
        self, original: asyncio.Future[None] | None, notification: Notification
    ) -> web.Response:
        if original is not None:
            try:
                await asyncio.shield(original)
            except Exception as exc:
                self._count("store_error")
                return error_response(
                    503, f"could not store the notification: {_reason(exc)}", headers=_RETRY
                )
        self._count("duplicate")
        log.info("duplicate notification ignored", extra={"group_key": notification.group_key})
        return web.Response(body=b'{"status": "duplicate"}', content_type="application/json")
