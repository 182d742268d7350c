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
from typing import TYPE_CHECKING, TextIO

from aiohttp import web

from bot import api
from bot.alerts.dedup import DedupIndex
from bot.alerts.receiver import AlertmanagerReceiver, ReceiverConfig
from bot.auth import api_auth
from bot.config import Settings
from bot.config_sections.units import MIB
from bot.drift.service import DriftService
from bot.http_errors import error_response
from bot.metrics import BotMetrics
from bot.model.collector import Collector
from bot.model.notifier import Notifier
from bot.notify.console import ConsoleNotifier
from bot.sources import open_pipeline
from bot.store.sqlite import Store
from bot.triage.queue import TriageQueue
from bot.triage.worker import TriageWorker

if TYPE_CHECKING:
    from bot.slack.service import SlackService

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
    slack: SlackService | None  # only with a bot token
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
        return error_response(
            503, "not ready (starting or shutting down), retry later", headers={"Retry-After": "5"}
        )
    return await state.receiver.handle(request)


async def _store_ctx(app: web.Application) -> AsyncIterator[None]:
    state = app[STATE]
    await state.store.open()
    await api.open_audit(state.store)
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
        # Each close is registered before its start, so a start that fails half-way
        # still closes what it opened (sessions, threads) and the process can exit.
        stack.push_async_callback(state.drift.close)
        await state.drift.start()
        extra = [*state.extra_collectors, state.drift.collector()]
        pipeline = await open_pipeline(settings, stack, extra, drift_engine=True)
        notifier: Notifier = ConsoleNotifier(
            state.notifier_stream, as_json=settings.log_format == "json"
        )
        if state.slack is not None:
            stack.push_async_callback(state.slack.close)
            await state.slack.start()
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
        # for tens of milliseconds once the large libraries are loaded (the Kubernetes client
        # with a cluster, scipy and numpy with a drift model, matplotlib with charts).
        gc.collect()
        gc.freeze()
        yield
        state.shutting_down = True
        await worker.stop(settings.shutdown_timeout_seconds)


async def _begin_shutdown(app: web.Application) -> None:
    app[STATE].shutting_down = True


def _slack(settings: Settings, store: Store, metrics: BotMetrics) -> SlackService | None:
    """The Slack service with a bot token; None without (nor its imports: a lighter start)."""
    if settings.slack_bot_token is None:
        return None
    from bot.slack.service import SlackService

    return SlackService(settings, store, metrics.registry)


def _slack_routes(settings: Settings, slack: SlackService | None) -> list[web.RouteDef]:
    """`POST /slack/interactions`: the service's, or a 503 saying Slack is not configured."""
    if slack is None:
        from bot.slack.interactions import interactions_handler

        return [web.post("/slack/interactions", interactions_handler(settings, lambda: None))]
    # Slack's own /api/audit answers only while Slack runs; the store's serves it always.
    return [r for r in slack.routes() if getattr(r, "path", "") != "/api/audit"]


def create_app(
    settings: Settings,
    *,
    notifier_stream: TextIO | None = None,
    collectors: Sequence[Collector] = (),
) -> web.Application:
    """The service, wired from settings (plus extra collectors, e.g. in tests)."""
    metrics = BotMetrics()
    store = Store(settings.database_path, synchronous=settings.sqlite_synchronous)
    queue = TriageQueue(int(settings.queue_memory_mib * MIB))
    dedup = DedupIndex(settings.dedup_window_seconds)
    token = settings.webhook_token.get_secret_value() if settings.webhook_token else None
    receiver = AlertmanagerReceiver(
        ReceiverConfig(
            token=token,
            max_body_bytes=settings.max_body_bytes,
            min_free_disk_bytes=int(settings.min_free_disk_mib * MIB),
            body_timeout_seconds=settings.body_timeout_seconds,
        ),
        store,
        queue,
        dedup,
        metrics,
    )
    slack = _slack(settings, store, metrics)
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
    undelivered = slack.undelivered if slack is not None else None
    app.router.add_get("/api/triages", api.triages(store, undelivered))
    app.router.add_get("/metrics", api.metrics(metrics.registry))
    app.router.add_get("/api/audit", api.audit(store))
    app.router.add_routes(_slack_routes(settings, slack))
    app.router.add_routes(drift.routes())
    app.cleanup_ctx.append(_store_ctx)
    app.cleanup_ctx.append(_pipeline_ctx)
    app.on_shutdown.append(_begin_shutdown)
    return app
