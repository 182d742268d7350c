"""Read-only HTTP endpoints: health, readiness, recent triages, the audit log and metrics.

Registered by `app`; they read the store (either back end), the app's readiness and the
metrics registry. The audit log is served whether or not Slack is on (empty without it).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from bot.actions.audit import Audit, audit_handler
from bot.http_errors import error_response
from bot.store.interface import NotificationStore

MAX_LIMIT = 500

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
Undelivered = Callable[[], Awaitable[dict[str, dict[str, Any]]]]


async def healthz(_: web.Request) -> web.Response:
    """Liveness: the process answers."""
    return web.json_response({"status": "ok"})


def readyz(not_ready: Callable[[], Awaitable[str | None]]) -> Handler:
    """Readiness: started, not shutting down, the store reachable; else 503 and why."""

    async def handler(_: web.Request) -> web.Response:
        problem = await not_ready()
        if problem is None:
            return web.json_response({"ready": True})
        return web.json_response({"ready": False, "reason": problem}, status=503)

    return handler


def triages(store: NotificationStore, undelivered: Undelivered | None = None) -> Handler:
    """`GET /api/triages?limit=N`: recent triages, newest first; each with `undelivered`
    (Slack sends waiting or dead in the outbox, and the last error) or null."""

    async def handler(request: web.Request) -> web.Response:
        raw = request.query.get("limit", "50")
        if not raw.isdigit() or not 1 <= int(raw) <= MAX_LIMIT:
            return error_response(400, f"limit must be an integer from 1 to {MAX_LIMIT}")
        if not store.is_open:
            return error_response(503, "store is not open")
        rows = await store.list_triages(int(raw))
        waiting = await undelivered() if undelivered is not None else {}
        for row in rows:
            row["undelivered"] = waiting.get(row["group_key"])
        return web.json_response({"triages": rows})

    return handler


def audit(current: Callable[[], Audit | None]) -> Handler:
    """`GET /api/audit?limit=N&action=A`: the newest audit entries (503 until it is open)."""
    handler: Handler = audit_handler(current)
    return handler


def metrics(registry: CollectorRegistry) -> Handler:
    """`GET /metrics` in the Prometheus text format."""

    async def handler(_: web.Request) -> web.Response:
        response = web.Response(body=generate_latest(registry))
        response.headers["Content-Type"] = CONTENT_TYPE_LATEST
        return response

    return handler
