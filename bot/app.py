"""The aiohttp application factory: routes, start-up and shutdown in one place.

Called by `cli serve` and by the tests. Resources open in order (store, collectors,
notifier, worker) and close in reverse through `cleanup_ctx`; readiness turns false as
soon as shutdown begins, and the worker drains in-flight triages before the store closes.
"""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TextIO

from aiohttp import web

from bot import api
from bot.alerts.dedup import DedupIndex
from bot.alerts.receiver import AlertmanagerReceiver, ReceiverConfig
from bot.auth import api_auth
from bot.config import Settings
from bot.drift.service import DriftService
from bot.metrics import BotMetrics
from bot.notify.base import Notifier
from bot.notify.console import ConsoleNotifier
from bot.slack.service import SlackService
from bot.sources import open_pipeline
from bot.store import Store
from bot.triage.collector import Collector
from bot.triage.queue import TriageQueue
from bot.triage.worker import TriageWorker

log = logging.getLogger(__name__)


@dataclass
class AppState:
    """Everything the handlers and the lifecycle share."""

    settings: Settings
    metrics: BotMetrics
    store: Store
    queue: TriageQueue
    dedup: DedupIndex
    receiver: AlertmanagerReceiver
    slack: SlackService
    drift: DriftService
    notifier_stream: TextIO | None = None
    worker: TriageWorker | None = None
    shutting_down: bool = False
    extra_collectors: list[Collector] = field(default_factory=list)

    def ready(self) -> bool:
        """Open store, running worker, no shutdown under way."""
        return self.store.is_open and self.worker is not None and not self.shutting_down


STATE = web.AppKey("state", AppState)


async def _receive(request: web.Request) -> web.StreamResponse:
    state = request.app[STATE]
    if not state.ready():
        return web.json_response(
            {"error": "not ready (starting or shutting down), retry later"},
            status=503,
            headers={"Retry-After": "5"},
        )
    return await state.receiver.handle(request)


async def _store_ctx(app: web.Application) -> AsyncIterator[None]:
    state = app[STATE]
    await state.store.open()
    window = state.settings.dedup_window_seconds
    now = datetime.now(UTC)
    for key, at in await state.store.recent_dedup_keys(now - timedelta(seconds=window)):
        state.dedup.remember(key, (now - at).total_seconds())
    yield
    await state.store.close()


async def _pipeline_ctx(app: web.Application) -> AsyncIterator[None]:
    state = app[STATE]
    settings = state.settings
    async with AsyncExitStack() as stack:
        await state.drift.start()
        stack.push_async_callback(state.drift.close)
        extra = [*state.extra_collectors, state.drift.collector()]
        pipeline = await open_pipeline(settings, stack, extra, drift_engine=True)
        notifier: Notifier = ConsoleNotifier(state.notifier_stream)
        if settings.slack_bot_token is not None:
            await state.slack.start()
            stack.push_async_callback(state.slack.close)
            notifier = state.slack.notifier()
        else:
            stack.push_async_callback(notifier.close)
        worker = TriageWorker(
            state.store,
            state.queue,
            pipeline,
            notifier,
            state.metrics,
            concurrency=settings.triage_workers,
            yield_seconds=settings.triage_yield_seconds,
            max_attempts=settings.slack.max_triage_attempts,
        )
        await worker.start()
        state.worker = worker
        # Everything alive now (modules, clients, settings) lives as long as the process:
        # keep it out of the collector's full passes, which otherwise stall every request
        # for tens of milliseconds once scipy, matplotlib and the Kubernetes client are loaded.
        gc.collect()
        gc.freeze()
        yield
        state.shutting_down = True
        await worker.stop(settings.shutdown_timeout_seconds)


async def _begin_shutdown(app: web.Application) -> None:
    app[STATE].shutting_down = True


def create_app(
    settings: Settings,
    *,
    notifier_stream: TextIO | None = None,
    collectors: Sequence[Collector] = (),
) -> web.Application:
    """The service, wired from settings (plus extra collectors, e.g. in tests)."""
    metrics = BotMetrics()
    store = Store(settings.database_path, synchronous=settings.sqlite_synchronous)
    queue = TriageQueue(settings.queue_size)
    dedup = DedupIndex(settings.dedup_window_seconds)
    token = settings.webhook_token.get_secret_value() if settings.webhook_token else None
    receiver = AlertmanagerReceiver(
        ReceiverConfig(token=token, max_body_bytes=settings.max_body_bytes),
        store,
        queue,
        dedup,
        metrics,
    )
    # Constructed always so its routes exist; started only with a bot token.
    slack = SlackService(settings, store, metrics.registry)
    drift = DriftService(settings, metrics.registry, store)
    state = AppState(
        settings, metrics, store, queue, dedup, receiver, slack, drift, notifier_stream
    )
    state.extra_collectors.extend(collectors)
    middlewares = [api_auth(settings.api_token.get_secret_value())] if settings.api_token else []
    app = web.Application(middlewares=middlewares)
    app[STATE] = state
    app.router.add_post("/alertmanager", _receive)
    app.router.add_get("/healthz", api.healthz)
    app.router.add_get("/readyz", api.readyz(state.ready))
    app.router.add_get("/api/triages", api.triages(store, slack.undelivered))
    app.router.add_get("/metrics", api.metrics(metrics.registry))
    app.router.add_routes(slack.routes())
    app.router.add_routes(drift.routes())
    app.cleanup_ctx.append(_store_ctx)
    app.cleanup_ctx.append(_pipeline_ctx)
    app.on_shutdown.append(_begin_shutdown)
    return app
