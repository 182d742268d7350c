"""The notifier against the fake Slack Web API: one living message per group."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import aiohttp
import aiosqlite
import pytest
from slack_sdk.errors import SlackApiError

from bot.model.change import Change
from bot.model.signal_evidence import MetricsEvidence, Series
from bot.promql.chart import render_chart
from bot.slack.buttons import group_id
from bot.slack.client import make_client
from bot.slack.notifier import NoChannel, SlackNotifier
from bot.slack.outbox import SlackTables
from tests.fakes.fake_slack import FakeSlack
from tests.slack.conftest import MakeSettings
from tests.slack.reports import GROUP_KEY, T0, drift, isvc, report

MakeNotifier = Callable[..., SlackNotifier]


async def outbox_rows(db: aiosqlite.Connection) -> list[tuple[Any, ...]]:
    async with db.execute("SELECT kind, state, attempts, last_error FROM slack_outbox") as cur:
        return [tuple(row) for row in await cur.fetchall()]


async def test_first_notification_posts_one_message_through_a_429(
    slack: FakeSlack, make_notifier: MakeNotifier
) -> None:
    slack.fail("chat.postMessage", status=429, retry_after=0)
    await make_notifier().notify(report(isvc()), Change("new"))
    assert len(slack.calls("chat.postMessage")) == 2  # the 429, then the retry
    [message] = slack.channel_messages("C1")
    assert message.text.startswith("[FIRING] critical HighErrorRate")
    assert message.attachments[0]["color"] == "#E01E5A"
    assert slack.calls("chat.postMessage")[1].content_type == "application/json"


async def test_repeat_updates_in_place_and_replies_when_something_changed(
    slack: FakeSlack, make_notifier: MakeNotifier
) -> None:
    notifier = make_notifier()
    await notifier.notify(report(), Change("new"))
    await notifier.notify(report(), Change("repeat"))
    await notifier.notify(report(isvc()), Change("update", ("rollout evidence appeared",)))
    [message] = slack.channel_messages("C1")
    assert message.edits == 2
    [reply] = slack.thread("C1", message.ts)
    assert reply.text == "Changed: rollout evidence appeared"


async def test_resolved_turns_the_same_message_green(
    slack: FakeSlack, make_notifier: MakeNotifier
) -> None:
    notifier = make_notifier()
    await notifier.notify(report(), Change("new"))
    await notifier.notify(report(status="resolved"), Change("resolved"))
    [message] = slack.channel_messages("C1")
    assert message.attachments[0]["color"] == "#2EB67D"
    assert message.text.startswith("[RESOLVED]")
    assert len(slack.calls("chat.postMessage")) == 1


async def test_first_notification_already_resolved_posts(
    slack: FakeSlack, make_notifier: MakeNotifier
) -> None:
    await make_notifier().notify(report(status="resolved"), Change("new"))
    [message] = slack.channel_messages("C1")
    assert message.text.startswith("[RESOLVED]")


async def test_server_errors_are_retried(slack: FakeSlack, make_notifier: MakeNotifier) -> None:
    slack.fail("chat.postMessage", status=503, times=2)
    await make_notifier().notify(report(), Change("new"))
    assert len(slack.calls("chat.postMessage")) == 3
    assert len(slack.channel_messages("C1")) == 1


async def test_restart_resends_what_the_outbox_kept(
    slack: FakeSlack,
    make_notifier: MakeNotifier,
    db: aiosqlite.Connection,
) -> None:
    slack.fail("chat.postMessage", status=500, times=8)  # beyond 3 retries, twice
    first = make_notifier()
    await first.notify(report(), Change("new"))  # accepted: it is in the outbox
    await first.notify(report(), Change("update", ("pods restarted",)))
    assert slack.channel_messages("C1") == []
    rows = await outbox_rows(db)
    assert [(r[0], r[1]) for r in rows] == [("message", "pending"), ("reply", "pending")]
    assert rows[0][3] == "internal_error"
    await first.close()

    second = make_notifier()  # a new process on the same database
    await second.start()
    await second.close()
    [message] = slack.channel_messages("C1")
    [reply] = slack.thread("C1", message.ts)
    assert reply.text == "Changed: pods restarted"
    assert [r[1] for r in await outbox_rows(db)] == ["sent", "sent"]


async def test_permanent_errors_are_not_retried(
    slack: FakeSlack, make_notifier: MakeNotifier, db: aiosqlite.Connection
) -> None:
    notifier = make_notifier()
    slack.fail("chat.postMessage", error="invalid_blocks")
    await notifier.notify(report(), Change("new"))
    await notifier.flush_all()
    assert len(slack.calls("chat.postMessage")) == 1
    assert await outbox_rows(db) == [("message", "dead", 1, "invalid_blocks")]


async def test_deleted_message_is_posted_again(
    slack: FakeSlack, make_notifier: MakeNotifier
) -> None:
    notifier = make_notifier()
    await notifier.notify(report(), Change("new"))
    slack.messages.clear()
    await notifier.notify(report(), Change("repeat"))
    assert len(slack.channel_messages("C1")) == 1
    assert len(slack.calls("chat.postMessage")) == 2


async def test_routes_by_labels_and_mentions_by_severity(
    slack: FakeSlack, make_settings: MakeSettings, make_notifier: MakeNotifier
) -> None:
    settings = make_settings(
        slack={
            "routes": [
                {"match": {"team": "search"}, "channel": "C-SEARCH"},
                {"match": {"namespace": "models"}, "channel": "C-MODELS"},
            ],
            "mentions": {"critical": ["S123", "U9"], "warning": ["here"]},
        }
    )
    await make_notifier(settings).notify(report(), Change("new"))
    [message] = slack.channel_messages("C-MODELS")
    assert message.text.startswith("<!subteam^S123> <@U9> [FIRING]")
    other = report(group_key="other", severity="warning", common_labels={"team": "search"})
    await make_notifier(settings).notify(other, Change("new"))
    [message] = slack.channel_messages("C-SEARCH")
    assert message.text.startswith("<!here> [FIRING] warning")


async def test_no_channel_is_an_error_for_the_worker(
    make_settings: MakeSettings, make_notifier: MakeNotifier
) -> None:
    with pytest.raises(NoChannel):
        await make_notifier(make_settings(slack_channel=None)).notify(report(), Change("new"))


async def test_chart_is_uploaded_into_the_thread(
    slack: FakeSlack, make_notifier: MakeNotifier
) -> None:
    metrics = MetricsEvidence(
        expression="rate(x[5m])",
        start=T0,
        end=T0 + timedelta(minutes=10),
        series=(
            Series({"pod": "wine"}, tuple((T0.timestamp() + i * 60, i * 0.1) for i in range(10))),
        ),
    )
    await make_notifier(chart=render_chart).notify(report(metrics, drift()), Change("new"))
    [message] = slack.channel_messages("C1")
    [stored] = slack.files.values()
    assert stored["data"].startswith(b"\x89PNG")
    assert stored["thread_ts"] == message.ts and stored["channel"] == "C1"
    assert len(slack.calls("files.getUploadURLExternal")) == 1
    # A later notification does not upload again.
    await make_notifier(chart=render_chart).notify(report(metrics), Change("repeat"))
    assert len(slack.files) == 1


async def test_refresh_and_reply_use_the_stored_message(
    slack: FakeSlack, make_notifier: MakeNotifier, tables: SlackTables
) -> None:
    notifier = make_notifier()
    await notifier.notify(report(), Change("new"))
    stored = await tables.load(group_id(GROUP_KEY))
    assert stored is not None
    await tables.save_state(stored.group_id, stored.state.__class__(acknowledged_by="U7"))
    await notifier.refresh(stored.group_id)
    await notifier.reply(stored.group_id, "rollback done")
    [message] = slack.channel_messages("C1")
    assert "Acknowledged by <@U7>" in json.dumps(message.blocks)
    assert [m.text for m in slack.thread("C1", message.ts)] == ["rollback done"]


async def test_fake_accepts_form_bodies_and_reports_ok_false(
    slack: FakeSlack, make_settings: MakeSettings, session: aiohttp.ClientSession
) -> None:
    client = make_client(make_settings(), session)
    resp = await client.api_call("chat.postMessage", data={"channel": "C2", "text": "hi"})
    assert resp["ok"] and slack.calls("chat.postMessage")[0].content_type.endswith("urlencoded")
    with pytest.raises(SlackApiError) as caught:
        await client.chat_update(channel="C2", ts="1.1", text="x")
    assert caught.value.response["error"] == "message_not_found"
    assert (await client.auth_test())["user_id"] == "UBOT"


async def test_background_loop_retries_deferred_sends(
    slack: FakeSlack, make_settings: MakeSettings, make_notifier: MakeNotifier
) -> None:
    notifier = make_notifier(make_settings(slack={"outbox_retry_seconds": 0.05}))
    await notifier.start()
    try:
        slack.fail("chat.postMessage", status=500, times=4)
        await notifier.notify(report(), Change("new"))
        assert slack.channel_messages("C1") == []
        await slack.wait_for("chat.postMessage", 5)
        for _ in range(100):
            if slack.channel_messages("C1"):
                break
            await asyncio.sleep(0.01)
        assert len(slack.channel_messages("C1")) == 1
    finally:
        await notifier.close()
