"""The whole service with Slack on: webhooks in over HTTP, messages out to the fake Slack.

A group whose alert carries a poison `startsAt` still gets its message; a group with no
channel to go to is held in the outbox and `/api/triages` says so and why.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from bot.app import create_app
from tests.fakes.fake_slack import FakeSlack
from tests.slack.conftest import MakeSettings

FIXTURE = Path(__file__).parent.parent / "fixtures" / "high-error-rate-firing.json"
Client = Callable[..., Awaitable[TestClient[Any, Any]]]


async def triages(client: TestClient[Any, Any], ready: Callable[[list[Any]], bool]) -> list[Any]:
    async with asyncio.timeout(10):
        while True:
            rows: list[Any] = (await (await client.get("/api/triages")).json())["triages"]
            if ready(rows):
                return rows
            await asyncio.sleep(0.02)


@pytest.mark.parametrize("starts", ["0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z"])
async def test_a_poison_start_time_still_gets_its_message(
    slack: FakeSlack, make_settings: MakeSettings, aiohttp_client: Client, starts: str
) -> None:
    client = await aiohttp_client(create_app(make_settings(in_cluster=False)))
    body = json.loads(FIXTURE.read_text())
    body["alerts"][0]["startsAt"] = starts
    resp = await client.post("/alertmanager", json=body)
    assert resp.status == 200
    await slack.wait_for("chat.postMessage")
    [message] = slack.channel_messages("C1")
    assert "HighErrorRate" in message.text
    [row] = await triages(client, lambda rows: len(rows) == 1)
    assert row["undelivered"] is None or row["undelivered"]["dead"] == 0


async def test_a_group_without_a_channel_is_held_and_shown_undelivered(
    slack: FakeSlack, make_settings: MakeSettings, aiohttp_client: Client
) -> None:
    client = await aiohttp_client(create_app(make_settings(in_cluster=False, slack_channel=None)))
    assert (await client.post("/alertmanager", json=json.loads(FIXTURE.read_text()))).status == 200
    [row] = await triages(
        client,
        lambda rows: bool(rows and rows[0]["undelivered"] and rows[0]["undelivered"]["error"]),
    )
    assert row["undelivered"]["pending"] >= 1
    assert "no Slack channel" in row["undelivered"]["error"]
    assert slack.calls("chat.postMessage") == []
