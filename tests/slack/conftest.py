"""Fixtures of the Slack tests: the fake Slack, a database and settings pointing at both.

`tables` is the Slack tables on each back end (SQLite's `SlackTables`, PostgreSQL's
`PgSlackTables` on a database of its own), so every test that sends through the outbox
runs on both; `outbox_rows` reads the outbox rows of whichever it is."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import aiosqlite
import pytest

from bot.actions.audit import Audit, AuditLog
from bot.actions.ledger import ActionLedger, Ledger
from bot.actions.pg_audit import PgAuditLog
from bot.actions.pg_ledger import PostgresLedger
from bot.config import Settings
from bot.slack.client import make_client
from bot.slack.notifier import SlackNotifier
from bot.slack.outbox import SlackTables
from bot.slack.pg_outbox import PgSlackTables
from bot.slack.tables import SlackStore
from bot.store.postgres.store import PostgresStore
from bot.store.sqlite import Store
from tests.fakes.fake_slack import BOT_TOKEN, FakeSlack, running_fake_slack
from tests.postgres_fixtures import _create_database, _drop_database
from tests.store.postgres_server import PostgresServer

MakeSettings = Callable[..., Settings]
Rows = Callable[[], Awaitable[list[tuple[Any, ...]]]]
OUTBOX_ROWS = "SELECT kind, state, attempts, last_error FROM slack_outbox ORDER BY id"


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    async with running_fake_slack(FakeSlack()) as fake:
        yield fake


@pytest.fixture
def db(store: Store) -> aiosqlite.Connection:
    return store.connection


@pytest.fixture
def make_settings(slack: FakeSlack, tmp_path: Path) -> MakeSettings:
    def build(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "data_dir": tmp_path,
            "slack_bot_token": BOT_TOKEN,
            "slack_api_url": slack.base_url,
            "slack_channel": "C1",
            "slack_signing_secret": "s3cret",
            "slack_allowed_users": ["U1"],
            "slack": {"retries": 3, "retry_interval_seconds": 0.01, "reply_window_seconds": 0},
            "actions": {"poll_seconds": 0.05},
        }
        for key, value in overrides.items():
            if isinstance(value, dict) and isinstance(values.get(key), dict):
                values[key] = {**values[key], **value}
            else:
                values[key] = value
        return Settings(**values)

    return build


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as s:
        yield s


@dataclass(frozen=True)
class Backend:
    """What the Slack side writes, on one back end, and a reader of its outbox rows."""

    tables: SlackStore
    audit: Audit
    ledger: ActionLedger
    rows: Rows


@pytest.fixture(params=["sqlite", "postgres"])
async def backend(request: pytest.FixtureRequest, store: Store) -> AsyncIterator[Backend]:
    """The Slack tables, audit log and action ledger on SQLite, then on PostgreSQL."""
    if request.param == "sqlite":
        tables, audit, ledger = SlackTables(store), AuditLog(store), Ledger(store)
        for part in (tables, audit, ledger):
            await part.ensure()

        async def sqlite_rows() -> list[tuple[Any, ...]]:
            async with store.connection.execute(OUTBOX_ROWS) as cur:
                return [tuple(row) for row in await cur.fetchall()]

        yield Backend(tables, audit, ledger, sqlite_rows)
        return
    server: PostgresServer = request.getfixturevalue("postgres_server")
    name = await _create_database(server)
    pg = PostgresStore(server.url(name))
    await pg.open()

    async def pg_rows() -> list[tuple[Any, ...]]:
        return [tuple(row) for row in await pg.pool.fetch(OUTBOX_ROWS)]

    pool = pg.pool
    yield Backend(
        PgSlackTables(pool, "replica-test"), PgAuditLog(pool), PostgresLedger(pool), pg_rows
    )
    await pg.close()
    await _drop_database(server, name)


@pytest.fixture
def tables(backend: Backend) -> SlackStore:
    return backend.tables


@pytest.fixture
def outbox_rows(backend: Backend) -> Rows:
    return backend.rows


@pytest.fixture
async def make_notifier(
    make_settings: MakeSettings, session: aiohttp.ClientSession, tables: SlackStore
) -> AsyncIterator[Callable[..., SlackNotifier]]:
    """Notifiers whose senders run (unless `start=False`) until the test ends."""
    made: list[SlackNotifier] = []

    def build(
        settings: Settings | None = None, *, start: bool = True, **kwargs: Any
    ) -> SlackNotifier:
        settings = settings or make_settings()
        client = make_client(settings, session, retries=False)
        notifier = SlackNotifier(client, tables, settings, **kwargs)
        if start:
            made.append(notifier)
            notifier.sender.start()
        return notifier

    yield build
    for notifier in made:
        await notifier.close()


@pytest.fixture
def make_service(make_settings: MakeSettings, backend: Backend) -> Callable[..., Any]:
    """Start a SlackService (on each back end, routes on a test client); everything closes
    at the end."""
    from contextlib import AsyncExitStack, asynccontextmanager

    from aiohttp import web
    from aiohttp.test_utils import TestClient, TestServer
    from prometheus_client import CollectorRegistry

    from bot.assembly import build_actions, open_clients
    from bot.slack.service import SlackService, SlackTablesOf

    @asynccontextmanager
    async def build(**overrides: Any) -> AsyncIterator[tuple[SlackService, TestClient[Any, Any]]]:
        settings = make_settings(**{"in_cluster": False, **overrides})
        async with AsyncExitStack() as stack:
            # Wired as `app` wires it: the same clients and actions, the back end's tables.
            clients = await open_clients(settings, stack)
            service = SlackService(
                settings,
                SlackTablesOf(backend.tables, backend.audit, backend.ledger),
                clients.session,
                build_actions(settings, clients),
                CollectorRegistry(),
            )
            app = web.Application()
            app.add_routes(service.routes())
            client = TestClient(TestServer(app))
            await client.start_server()
            stack.push_async_callback(client.close)
            await service.start()
            stack.push_async_callback(service.close)
            yield service, client

    return build
