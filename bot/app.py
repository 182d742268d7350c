"""The composition root: the aiohttp application, every client and part built once here.

Called by `cli serve` (through `serve`) and by the tests. `create_app` builds the parts
that routes need (store objects, receiver, drift service); start-up opens the rest in
order through `cleanup_ctx` and closes it in reverse: the stores (`backends`: SQLite, or
PostgreSQL with `database_url`), then one HTTP session and one Kubernetes client
(`assembly`), the pipeline over them (`sources`), the notifier (console, or the Slack
service with its tables, ledger and actions), the worker (in-memory hand-off on SQLite,
group leases on PostgreSQL) and, on PostgreSQL, the sweeper. Readiness turns false as
soon as shutdown begins or while the database is unreachable; the worker drains
in-flight triages before the stores close. A database error under any route's handler
is a 503 with Retry-After naming it (`_store_errors`), never a 500.
"""

from __future__ import annotations

import gc
import logging
import sqlite3
from collections.abc import AsyncIterator, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, TextIO

from aiohttp import web

from bot import api, backends
from bot.actions.audit import Audit
from bot.alerts.dedup import DedupIndex
from bot.alerts.receiver import AlertmanagerReceiver, ReceiverConfig
from bot.assembly import Clients, build_actions, open_clients
from bot.auth import api_auth
from bot.config import Settings
from bot.config_sections.units import MIB
from bot.drift.service import DriftService
from bot.http_errors import error_response
from bot.metrics import BotMetrics
from bot.model.collector import Collector
from bot.model.notifier import Notifier
from bot.notify.console import ConsoleNotifier
from bot.slack.interactions import Submit, interactions_handler
from bot.sources import build_pipeline
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
    stores: backends.Backends
    queue: TriageQueue
    dedup: DedupIndex
    receiver: AlertmanagerReceiver
    drift: DriftService
    notifier_stream: TextIO | None = None
    slack: SlackService | None = None  # only with a bot token, from start-up on
    audit: Audit | None = None
    worker: TriageWorker | None = None
    shutting_down: bool = False
    extra_collectors: list[Collector] = field(default_factory=list)

    async def not_ready(self) -> str | None:
        """Why the service cannot take work now (None: ready): starting, stopping, or the
        store unreachable (PostgreSQL down or restarting; a check cached ~1 s)."""
        if self.shutting_down:
            return "shutting down"
        if self.worker is None or not self.stores.store.is_open:
            return "starting"
        return await self.stores.store.unreachable()


STATE = web.AppKey("state", AppState)


def _is_store_error(exc: Exception) -> bool:
    """An error of the database under a handler (down, restarting, locked), not a bug."""
    module = type(exc).__module__.split(".")[0]
    return isinstance(exc, OSError | TimeoutError | sqlite3.Error) or module == "asyncpg"


@web.middleware
async def _store_errors(request: web.Request, handler: api.Handler) -> web.StreamResponse:
    """A read that fails because the store does (PostgreSQL down) is a 503 saying so and
    when to retry, never a 500: for every route, whichever part's handler it is."""
    try:
        return await handler(request)
    except Exception as exc:
        if not _is_store_error(exc):
            raise
        reason = f"{type(exc).__name__}: {' '.join(str(exc).split())[:200]}"
        log.warning("store unavailable", extra={"path": request.path, "error": reason})
        return error_response(
            503, f"store unavailable ({reason}), retry later", headers={"Retry-After": "5"}
        )


async def _receive(request: web.Request) -> web.StreamResponse:
    state = request.app[STATE]
    problem = await state.not_ready()
    if problem is not None:
        return error_response(
            503, f"not ready ({problem}), retry later", headers={"Retry-After": "5"}
        )
    return await state.receiver.handle(request)


async def _store_ctx(app: web.Application) -> AsyncIterator[None]:
    state = app[STATE]
    await state.stores.open()
    try:
        state.audit = await backends.audit_log(state.stores)
        window = state.settings.dedup_window_seconds
        now = datetime.now(UTC)
        for key, at in await state.stores.store.recent_dedup_keys(now - timedelta(seconds=window)):
            state.dedup.remember(key, (now - at).total_seconds())
        yield
    finally:
        await state.stores.close()


async def _notifier(state: AppState, clients: Clients, stack: AsyncExitStack) -> Notifier:
    """The console, or the Slack service wired from the chosen back end's tables."""
    settings = state.settings
    if settings.slack_bot_token is None:
        console = ConsoleNotifier(state.notifier_stream, as_json=settings.log_format == "json")
        stack.push_async_callback(console.close)
        return console
    from bot.slack.service import SlackService, SlackTablesOf

    assert state.audit is not None  # opened with the stores
    tables = SlackTablesOf(
        await backends.slack_tables(state.stores, settings),
        state.audit,
        await backends.ledger(state.stores),
    )
    actions = build_actions(settings, clients)
    slack = SlackService(settings, tables, clients.session, actions, state.metrics.registry)
    stack.push_async_callback(slack.close)
    await slack.start()
    state.slack = slack
    return slack.notifier()


async def _pipeline_ctx(app: web.Application) -> AsyncIterator[None]:
    state = app[STATE]
    settings = state.settings
    async with AsyncExitStack() as stack:
        # Each close is registered before its start, so a start that fails half-way
        # still closes what it opened (sessions, threads) and the process can exit.
        stack.push_async_callback(state.drift.close)
        await state.drift.start()
        clients = await open_clients(settings, stack)
        extra = [*state.extra_collectors, state.drift.collector()]
        pipeline = build_pipeline(settings, clients, extra, drift_engine=True)
        notifier = await _notifier(state, clients, stack)
        worker = TriageWorker(
            state.stores.store,
            state.queue,
            pipeline,
            notifier,
            state.metrics,
            concurrency=settings.triage_workers,
            yield_seconds=settings.triage_yield_seconds,
            max_attempts=settings.slack.max_triage_attempts,
            leases=backends.leases(state.stores, settings),
            poll_seconds=settings.database.poll_seconds,
        )
        await _start_sweeper(state, stack)
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


async def _start_sweeper(state: AppState, stack: AsyncExitStack) -> None:
    """PostgreSQL: expired leases and old rows swept by one replica at a time."""
    postgres = state.stores.postgres
    if postgres is None:
        return
    from bot.store.postgres.sweeper import Sweeper

    db = state.settings.database
    sweeper = Sweeper(
        postgres.pool,
        interval=db.sweep_seconds,
        dedup_window=timedelta(seconds=state.settings.dedup_window_seconds),
        keep=timedelta(days=db.keep_days),
    )
    stack.push_async_callback(sweeper.close)
    sweeper.start()


async def _begin_shutdown(app: web.Application) -> None:
    app[STATE].shutting_down = True


def _routes(state: AppState) -> list[web.RouteDef]:
    """Every route; those of parts built at start-up look them up when called."""
    settings, store = state.settings, state.stores.store

    async def undelivered() -> dict[str, dict[str, object]]:
        return await state.slack.undelivered() if state.slack is not None else {}

    def submit() -> Submit | None:
        return state.slack.submit() if state.slack is not None else None

    return [
        web.post("/alertmanager", _receive),
        web.get("/healthz", api.healthz),
        web.get("/readyz", api.readyz(state.not_ready)),
        web.get("/api/triages", api.triages(store, undelivered)),
        web.get("/metrics", api.metrics(state.metrics.registry)),
        web.get("/api/audit", api.audit(lambda: state.audit if store.is_open else None)),
        web.post("/slack/interactions", interactions_handler(settings, submit)),
        *state.drift.routes(),
    ]


def create_app(
    settings: Settings,
    *,
    notifier_stream: TextIO | None = None,
    collectors: Sequence[Collector] = (),
) -> web.Application:
    """The service, wired from settings (plus extra collectors, e.g. in tests)."""
    metrics = BotMetrics()
    stores = backends.open_backends(settings)
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
        stores.store,
        queue,
        dedup,
        metrics,
    )
    drift = DriftService(
        settings.drift,
        metrics.registry,
        backends.drift_store(stores),
        data_dir=settings.data_dir,
        body_timeout_seconds=settings.body_timeout_seconds,
    )
    state = AppState(settings, metrics, stores, queue, dedup, receiver, drift, notifier_stream)
    state.extra_collectors.extend(collectors)
    middlewares = [api_auth(settings.api_token.get_secret_value())] if settings.api_token else []
    middlewares.append(_store_errors)
    app = web.Application(middlewares=middlewares)
    app[STATE] = state
    app.router.add_routes(_routes(state))
    app.cleanup_ctx.append(_store_ctx)
    app.cleanup_ctx.append(_pipeline_ctx)
    app.on_shutdown.append(_begin_shutdown)
    return app
