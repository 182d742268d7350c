"""The whole service with Slack configured: webhook in, one living Slack message out."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.fakes.fake_slack import BOT_TOKEN, FakeSlack, running_fake_slack

from .conftest import AUTH, AppFactory, load_fixture


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    async with running_fake_slack(FakeSlack()) as fake:
        yield fake


async def test_one_message_per_group_posted_then_resolved_in_place(
    service: AppFactory, slack: FakeSlack
) -> None:
    client, console = await service(
        slack_bot_token=BOT_TOKEN,
        slack_api_url=slack.base_url,
        slack_channel="C-models",
        slack={"retries": 3, "retry_interval_seconds": 0.01},
    )
    slack.fail("chat.postMessage", status=429, retry_after=1)
    firing = load_fixture("high-error-rate-firing.json")
    assert (await client.post("/alertmanager", json=firing, headers=AUTH)).status == 200
    posted = await slack.wait_for("chat.postMessage", count=2, timeout=10)
    assert posted[-1].args["channel"] == "C-models"
    assert "HighErrorRate" in posted[-1].args["text"]
    assert len(slack.channel_messages("C-models")) == 1, "the 429 was retried, not doubled"

    resolved = load_fixture("high-error-rate-resolved.json")
    assert (await client.post("/alertmanager", json=resolved, headers=AUTH)).status == 200
    updates = await slack.wait_for("chat.update", timeout=10)
    assert updates[-1].args["ts"] == slack.channel_messages("C-models")[0].ts
    assert len(slack.channel_messages("C-models")) == 1, "resolved updates, never re-posts"
    assert console.getvalue() == "", "with a Slack token nothing goes to the console"
