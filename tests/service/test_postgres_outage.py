"""PostgreSQL down or restarting under a running service, through its HTTP API.

While the database is down a webhook is answered 503 with Retry-After and the reason
(never a 200 for a notification that was not committed) and `/readyz` says not ready and
why; once PostgreSQL is back the same process takes webhooks, triages them and sends to
Slack again, without a restart: the pool reconnects, the worker's, the sender's and the
sweeper's loops survived.
"""

from __future__ import annotations

import asyncio
import zlib
from typing import Any

import asyncpg
from aiohttp.test_utils import TestClient

from tests.fakes.fake_slack import BOT_TOKEN, FakeSlack, running_fake_slack
from tests.store.postgres_server import PostgresServer

from .conftest import AUTH, AppFactory, load_fixture

DATABASE = {"poll_seconds": 0.1, "lease_seconds": 3.0, "sweep_seconds": 0.2}


def _group(name: str) -> dict[str, Any]:
    body = load_fixture("high-error-rate-firing.json")
    body["groupKey"] = f'{{}}:{{alertname="HighErrorRate", group="{name}"}}'
    body["alerts"][0]["fingerprint"] = f"{zlib.crc32(name.encode()):016x}"
    return body


async def _ready_is(client: TestClient[Any, Any], ready: bool, timeout: float = 15.0) -> Any:
    async with asyncio.timeout(timeout):
        while True:
            response = await client.get("/readyz")
            if (response.status == 200) is ready:
                return await response.json()
            await asyncio.sleep(0.05)


async def _stored(url: str) -> list[str]:
    conn = await asyncpg.connect(url)
    try:
        return [str(r[0]) for r in await conn.fetch("SELECT group_key FROM notifications")]
    finally:
        await conn.close()


async def test_a_postgres_restart_gives_503s_then_the_service_recovers_by_itself(
    service: AppFactory, postgres_server: PostgresServer, postgres_url: str
) -> None:
    client, console = await service(database_url=postgres_url, database=DATABASE)
    before = _group("before")
    assert (await client.post("/alertmanager", json=before, headers=AUTH)).status == 200
    await console.wait_for("[FIRING]")

    await asyncio.to_thread(postgres_server.stop, "fast")
    try:
        during = _group("during")
        response = await client.post("/alertmanager", json=during, headers=AUTH)
        assert response.status == 503
        assert response.headers["Retry-After"]
        error = (await response.json())["error"]
        assert "database unreachable" in error or "could not store" in error
        readiness = await _ready_is(client, False)
        assert "database unreachable" in readiness["reason"]
        # The reads too: a 503 that says the store is unavailable, never a 500.
        for path in ("/api/triages", "/api/audit"):
            read = await client.get(path)
            assert read.status == 503, (path, await read.text())
            assert "Retry-After" in read.headers
            assert (await read.json())["error"].startswith("store unavailable")
    finally:
        await asyncio.to_thread(postgres_server.start)

    assert await _ready_is(client, True) == {"ready": True}
    assert (await client.post("/alertmanager", json=during, headers=AUTH)).status == 200
    out = await console.wait_for("[FIRING]", count=2, timeout=10)
    assert 'group="during"' in out
    # Only what was answered 200 is stored: the 503 left nothing behind to triage twice.
    keys = await _stored(postgres_url)
    assert sorted(keys) == sorted([before["groupKey"], during["groupKey"]])


async def test_a_webhook_while_postgres_is_down_is_never_a_200(
    service: AppFactory, postgres_server: PostgresServer, postgres_url: str
) -> None:
    client, _ = await service(database_url=postgres_url, database=DATABASE)
    await _ready_is(client, True)
    await asyncio.to_thread(postgres_server.stop, "immediate")
    try:
        # Several in a row: the first may find the cached check still good and fail on
        # the write itself, the others on the check; every one is a 503 that says why.
        for n in range(5):
            response = await client.post("/alertmanager", json=_group(f"down-{n}"), headers=AUTH)
            assert response.status == 503, await response.text()
            assert "Retry-After" in response.headers
    finally:
        await asyncio.to_thread(postgres_server.start)
    await _ready_is(client, True)
    assert await _stored(postgres_url) == []


async def test_the_slack_sender_survives_a_postgres_restart(
    service: AppFactory, postgres_server: PostgresServer, postgres_url: str
) -> None:
    async with running_fake_slack(FakeSlack()) as slack:
        client, _ = await service(
            database_url=postgres_url,
            database=DATABASE,
            slack_bot_token=BOT_TOKEN,
            slack_api_url=slack.base_url,
            slack_channel="C1",
        )
        before = _group("slack-before")
        assert (await client.post("/alertmanager", json=before, headers=AUTH)).status == 200
        await slack.wait_for("chat.postMessage", timeout=10)
        await asyncio.to_thread(postgres_server.stop, "fast")
        try:
            await _ready_is(client, False)
        finally:
            await asyncio.to_thread(postgres_server.start)
        await _ready_is(client, True)
        after = _group("slack-after")
        assert (await client.post("/alertmanager", json=after, headers=AUTH)).status == 200
        await slack.wait_for("chat.postMessage", count=2, timeout=15)
        texts = [m.text for m in slack.channel_messages("C1")]
        assert len(texts) == 2, texts
