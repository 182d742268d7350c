"""A post whose outcome is unknown (it timed out after Slack took it) is found, not repeated.

Every group's first post carries the group id in Slack message metadata; a post that
timed out comes back `look_first`, and the next try reads the channel's history with
`include_all_metadata` before posting. Run on both back ends (`tables`).
"""

from __future__ import annotations

from collections.abc import Callable

import aiohttp
import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.config import Settings
from bot.model.change import Change
from bot.slack.buttons import group_id
from bot.slack.client import make_client
from bot.slack.delivery import METADATA_EVENT
from bot.slack.errors import outcome_unknown
from bot.slack.notifier import SlackNotifier
from bot.slack.sender import Sender
from bot.slack.tables import SlackStore
from tests.fakes.fake_slack import BOT_TOKEN, FakeSlack
from tests.slack.conftest import MakeSettings, Rows
from tests.slack.reports import GROUP_KEY, report

GID = group_id(GROUP_KEY)


def impatient(
    settings: Settings, session: aiohttp.ClientSession, tables: SlackStore
) -> SlackNotifier:
    """A notifier whose sender gives up on an answer after 0.2 s (the service's: 10 s)."""
    client = make_client(settings, session, retries=False)
    sender = Sender(client, tables, settings.slack, settings.slack_channel, send_timeout=0.2)
    return SlackNotifier(client, tables, settings, sender=sender)


@pytest.mark.parametrize("drop", [False, True], ids=["timeout", "dropped-connection"])
async def test_a_post_whose_answer_was_lost_after_slack_stored_it_is_found_not_posted_again(
    slack: FakeSlack, make_settings: MakeSettings, session: aiohttp.ClientSession,
    tables: SlackStore, outbox_rows: Rows, drop: bool, caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    # Stored at once; answered after the client gave up, or the connection closed instead.
    slack.stall("chat.postMessage", 0.05 if drop else 1.0, drop=drop)
    notifier = impatient(make_settings(), session, tables)
    notifier.sender.start()
    try:
        await notifier.notify(report(), Change("new"))
        await notifier.sender.idle(timeout=10)
        [message] = slack.channel_messages("C1")
        [post] = slack.calls("chat.postMessage")
        assert post.args["metadata"] == {
            "event_type": METADATA_EVENT,
            "event_payload": {"group_id": GID},
        }
        [look] = slack.calls("conversations.history")
        assert look.args["channel"] == "C1" and look.args["include_all_metadata"] in ("1", "true")
        assert message.metadata == post.args["metadata"]
        stored = await tables.load(GID)
        assert stored is not None and stored.ts == message.ts  # found, and recorded
        assert await outbox_rows() == [("message", "sent", 2, None)]
        assert len(slack.calls("chat.update")) == 1  # the one found shows the newest state
        [lost] = [getattr(r, "error", "") for r in caplog.records if r.msg == "slack send deferred"]
        assert lost.startswith("ServerDisconnectedError" if drop else "TimeoutError")

        await notifier.notify(report(status="resolved"), Change("resolved"))
        await notifier.sender.idle(timeout=10)
    finally:
        await notifier.close()
    [message] = slack.channel_messages("C1")
    assert message.text.startswith("[RESOLVED]")  # later sends update the one found
    assert len(slack.calls("chat.postMessage")) == 1


@pytest.mark.parametrize("history", ["ok", "missing_scope"])
async def test_a_lost_post_that_never_reached_slack_is_posted_once(
    slack: FakeSlack, make_notifier: Callable[..., SlackNotifier], session: aiohttp.ClientSession,
    tables: SlackStore, history: str,
) -> None:  # fmt: skip
    stopped = make_notifier(start=False)
    await stopped.notify(report(), Change("new"))
    [head] = await tables.heads()
    [op] = await tables.claim(head.group_id, [head.op_id])
    await tables.unknown([op.id], "TimeoutError: the answer never came")
    # Someone else's message in the channel, with metadata of another group: not ours.
    other = {"event_type": METADATA_EVENT, "event_payload": {"group_id": "another"}}
    client = AsyncWebClient(token=BOT_TOKEN, base_url=slack.base_url, session=session)
    await client.chat_postMessage(channel="C1", text="other", metadata=other)

    if history != "ok":  # the app lacks channels:history: post rather than lose the message
        slack.fail("conversations.history", error=history)
    notifier = make_notifier()
    await notifier.sender.idle(timeout=10)
    assert len(slack.calls("conversations.history")) == 1
    assert len(slack.channel_messages("C1")) == 2  # the other, and ours posted once
    assert len(slack.calls("chat.postMessage")) == 2
    assert slack.calls("chat.update") == []


@pytest.mark.parametrize(
    ("exc", "unknown"),
    [
        (TimeoutError(), True),
        (aiohttp.ServerDisconnectedError(), True),
        (aiohttp.ClientOSError(104, "Connection reset by peer"), True),
        (aiohttp.ClientPayloadError("truncated"), True),
        (aiohttp.ConnectionTimeoutError(), False),  # never connected: nothing left
        (ConnectionRefusedError(), False),
        (SlackApiError("x", {"ok": False, "error": "internal_error"}), False),  # type: ignore[no-untyped-call]
    ],
)
def test_which_failures_leave_a_posts_outcome_unknown(exc: Exception, unknown: bool) -> None:
    assert outcome_unknown(exc) is unknown
