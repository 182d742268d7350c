"""PostgreSQL fixtures for the whole suite (registered by tests/conftest.py): one server per
test session, a fresh database per test, and `any_store` over both back ends."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest

from bot.store.interface import NotificationStore
from bot.store.postgres.store import PostgresStore
from bot.store.sqlite import Store
from tests.store.postgres_server import PostgresServer, remove_server, start_server


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A PostgreSQL cluster for the whole session (initdb costs seconds, a database not)."""
    server = start_server()
    try:
        yield server
    finally:
        remove_server(server)


async def _create_database(server: PostgresServer) -> str:
    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(server.url())
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    return name


async def _drop_database(server: PostgresServer, name: str) -> None:
    admin = await asyncpg.connect(server.url())
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@pytest.fixture
async def postgres_url(postgres_server: PostgresServer) -> AsyncIterator[str]:
    """The URL of an empty database of its own for one test, dropped after it."""
    name = await _create_database(postgres_server)
    yield postgres_server.url(name)
    await _drop_database(postgres_server, name)


@pytest.fixture
async def pg_store(postgres_url: str) -> AsyncIterator[PostgresStore]:
    """An open PostgreSQL store on the test's database."""
    opened = PostgresStore(postgres_url)
    await opened.open()
    yield opened
    await opened.close()


@pytest.fixture(params=["sqlite", "postgres"])
async def any_store(
    request: pytest.FixtureRequest, tmp_path: Path, postgres_server: PostgresServer
) -> AsyncIterator[NotificationStore]:
    """An open store of each kind, for the suite both must pass."""
    opened: NotificationStore
    name = ""
    if request.param == "sqlite":
        opened = Store(tmp_path / "store.sqlite3")
    else:
        name = await _create_database(postgres_server)
        opened = PostgresStore(postgres_server.url(name))
    await opened.open()
    yield opened
    await opened.close()
    if name:
        await _drop_database(postgres_server, name)
