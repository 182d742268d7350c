"""The notifier and its sender against the fake Slack Web API: one living message per group.

`notify` only writes the outbox; `sender.idle()` waits until the sender has sent all it
can, so each test asserts on what Slack received, not on timing.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import timedelta

import aiohttp
import pytest
from slack_sdk.errors import SlackApiError

from bot.model.change import Change
from bot.model.signal_evidence import MetricsEvidence, Series
from bot.promql.chart import render_chart
from bot.slack.buttons import group_id
from bot.slack.client import make_client
from bot.slack.notifier import SlackNotifier
from bot.slack.tables import SlackStore
from tests.fakes.fake_slack import FakeSlack
from tests.slack.conftest import MakeSettings, Rows
from tests.slack.reports import GROUP_KEY, T0, drift, isvc, report

MakeNotifier = Callable[..., SlackNotifier]


async def test_first_notification_posts_one_message_through_a_429(
    slack: FakeSlack, make_notifier: MakeNotifier
) -> None:
    slack.fail("chat.postMessage", status=429, retry_after=0)
    notifier = make_notifier()
    await notifier.notify(report(isvc()), Change("new"))
    await notifier.sender.idle()
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
    await notifier.sender.idle()
    await notifier.notify(report(), Change("repeat"))
    await notifier.sender.idle()
    await notifier.notify(report(isvc()), Change("update", ("rollout evidence appeared",)))
    await notifier.sender.idle()
    [message] = slack.channel_messages("C1")
    assert message.edits == 2
    [reply] = slack.thread("C1", message.ts)
    assert reply.text == "Changed: rollout evidence appeared"


async def test_resolved_turns_the_same_message_green(
    slack: FakeSlack, make_notifier: MakeNotifier
) -> None:
    notifier = make_notifier()
    await notifier.notify(report(), Change("new"))
    await notifier.sender.idle()
    await notifier.notify(report(status="resolved"), Change("resolved"))
    await notifier.sender.idle()
    [message] = slack.channel_messages("C1")
    assert message.attachments[0]["color"] == "#2EB67D"
    assert message.text.startswith("[RESOLVED]")
    assert len(slack.calls("chat.postMessage")) == 1


async def test_first_notification_already_resolved_posts(
    slack: FakeSlack, make_notifier: MakeNotifier
) -> None:
    notifier = make_notifier()
    await notifier.notify(report(status="resolved"), Change("new"))
    await notifier.sender.idle()
    [message] = slack.channel_messages("C1")
    assert message.text.startswith("[RESOLVED]")


async def test_server_errors_are_retried(slack: FakeSlack, make_notifier: MakeNotifier) -> None:
    slack.fail("chat.postMessage", status=503, times=2)
    notifier = make_notifier()
    await notifier.notify(report(), Change("new"))
    await notifier.sender.idle()
    assert len(slack.calls("chat.postMessage")) == 3
    assert len(slack.channel_messages("C1")) == 1


async def test_restart_resends_what_the_outbox_kept(
    slack: FakeSlack,
    make_notifier: MakeNotifier,
    outbox_rows: Rows,
) -> None:
    first = make_notifier(start=False)  # a process that stopped before its sender sent
    await first.notify(report(), Change("new"))  # accepted: it is in the outbox
    await first.notify(report(), Change("update", ("pods restarted",)))
    assert slack.calls() == []
    rows = await outbox_rows()
    assert [(r[0], r[1]) for r in rows] == [("message", "pending"), ("reply", "pending")]

    second = make_notifier()  # a new process on the same database
    await second.sender.idle()
    [message] = slack.channel_messages("C1")
    [reply] = slack.thread("C1", message.ts)
    assert reply.text == "Changed: pods restarted"
    assert [r[1] for r in await outbox_rows()] == ["sent", "sent"]


async def test_permanent_errors_are_not_retried(
    slack: FakeSlack, make_notifier: MakeNotifier, outbox_rows: Rows
) -> None:
    notifier = make_notifier()
    slack.fail("chat.postMessage", error="invalid_blocks")
    await notifier.notify(report(), Change("new"))
    await notifier.sender.idle()
    assert len(slack.calls("chat.postMessage")) == 1
    assert await outbox_rows() == [("message", "dead", 1, "invalid_blocks")]


async def test_deleted_message_is_posted_again(
    slack: FakeSlack, make_notifier: MakeNotifier
) -> None:
    notifier = make_notifier()
    await notifier.notify(report(), Change("new"))
    await notifier.sender.idle()
    slack.messages.clear()
    await notifier.notify(report(), Change("repeat"))
    await notifier.sender.idle()
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
    notifier = make_notifier(settings)
    await notifier.notify(report(), Change("new"))
    await notifier.sender.idle()
    [message] = slack.channel_messages("C-MODELS")
    assert message.text.startswith("<!subteam^S123> <@U9> [FIRING]")
    other = report(group_key="other", severity="warning", common_labels={"team": "search"})
    await notifier.notify(other, Change("new"))
    await notifier.sender.idle()
    [message] = slack.channel_messages("C-SEARCH")
    assert message.text.startswith("<!here> [FIRING] warning")


async def test_without_a_channel_the_message_waits_and_goes_once_one_is_set(
    slack: FakeSlack, make_settings: MakeSettings, make_notifier: MakeNotifier,
    outbox_rows: Rows, tables: SlackStore,
) -> None:  # fmt: skip
    held = make_notifier(make_settings(slack_channel=None))
    await held.notify(report(), Change("new"))  # no exception: the triage goes on
    await held.sender.idle()
    assert slack.calls() == []
    [row] = await outbox_rows()
    assert row[1] == "pending" and "no Slack channel" in row[3]
    assert list(await tables.undelivered()) == [GROUP_KEY]
    await held.close()
    fixed = make_notifier(make_settings(slack_channel="C9"))  # restarted with the channel set
    await fixed.sender.idle()
    [message] = slack.channel_messages("C9")
    assert message.text.startswith("[FIRING]")
    assert await tables.undelivered() == {}


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
    notifier = make_notifier(chart=render_chart)
    await notifier.notify(report(metrics, drift()), Change("new"))
    await notifier.sender.idle()
    [message] = slack.channel_messages("C1")
    [stored] = slack.files.values()
    assert stored["data"].startswith(b"\x89PNG")
    assert stored["thread_ts"] == message.ts and stored["channel"] == "C1"
    assert len(slack.calls("files.getUploadURLExternal")) == 1
    # A later notification does not upload again.
    await notifier.notify(report(metrics), Change("repeat"))
    await notifier.sender.idle()
    assert len(slack.files) == 1


async def test_refresh_and_reply_use_the_stored_message(
    slack: FakeSlack, make_notifier: MakeNotifier, tables: SlackStore
) -> None:
    notifier = make_notifier()
    await notifier.notify(report(), Change("new"))
    stored = await tables.load(group_id(GROUP_KEY))
    assert stored is not None
    await tables.save_state(stored.group_id, stored.state.__class__(acknowledged_by="U7"))
    await notifier.refresh(stored.group_id)
    await notifier.reply(stored.group_id, "rollback done")
    await notifier.sender.idle()
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


async def test_a_429_blocks_only_its_limit_and_triage_never_waits(
    slack: FakeSlack, make_settings: MakeSettings, make_notifier: MakeNotifier
) -> None:
    slack.fail("chat.postMessage", status=429, retry_after=1)
    notifier = make_notifier(make_settings(slack={"channel_messages_per_second": 20}))
    loop = asyncio.get_running_loop()
    began = loop.time()
    await notifier.notify(report(), Change("new"))
    for n in range(5):  # the worker goes on while Slack says "wait"
        await notifier.notify(report(group_key=f"g{n}"), Change("new"))
    assert loop.time() - began < 0.5
    await slack.wait_for("chat.postMessage", 1)
    await notifier.sender.idle()
    posts = slack.calls("chat.postMessage")
    assert len(posts) == 7  # the 429, then each of six groups once
    assert len(slack.channel_messages("C1")) == 6
