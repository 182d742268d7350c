"""Delivery against a fake Slack that refuses what Slack refuses and enforces its rates.

The sender must stay under the limits (no 429), post every group first, keep only the
newest state of a message, merge thread replies and, in a storm, post one digest updated
in place. A notification whose triage keeps failing is posted as "could not triage".
"""

from __future__ import annotations

import json
import sqlite3
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from slack_sdk.errors import SlackApiError

from bot.metrics import BotMetrics
from bot.model.alert import Notification
from bot.model.change import Change
from bot.slack.client import make_client
from bot.slack.render import render_message
from bot.store.sqlite import Store
from bot.triage.pipeline import Pipeline
from bot.triage.queue import TriageQueue
from bot.triage.worker import TriageWorker
from tests.fakes.fake_slack import FakeSlack
from tests.fakes.slack_rules import RateLimits
from tests.slack.conftest import MakeSettings
from tests.slack.reports import report
from tests.slack.test_slack_escaping import INJECTIONS, hostile_report

FIXTURE = Path(__file__).parent.parent / "fixtures" / "high-error-rate-firing.json"


@pytest.mark.parametrize(
    ("args", "error"),
    [
        ({"text": "x" * 40_001}, "msg_too_long"),
        ({"blocks": [{"type": "header", "text": {"type": "mrkdwn", "text": "h"}}]},
         "invalid_blocks"),
        ({"blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}}]},
         "invalid_blocks"),
        ({"blocks": [{"type": "nonsense"}]}, "invalid_blocks"),
        ({"text": "t", "blocks": [{"type": "divider"}] * 51}, "invalid_blocks"),
        ({"text": "", "blocks": []}, "no_text"),
    ],
)  # fmt: skip
async def test_the_fake_refuses_what_slack_refuses(
    slack: FakeSlack, make_settings: MakeSettings, session: aiohttp.ClientSession,
    args: dict[str, Any], error: str,
) -> None:  # fmt: skip
    client = make_client(make_settings(), session, retries=False)
    with pytest.raises(SlackApiError) as refused:
        await client.api_call("chat.postMessage", json={"channel": "C1", **args})
    assert refused.value.response["error"] == error


@pytest.mark.parametrize("bad", INJECTIONS)
async def test_every_rendered_message_is_valid_block_kit(
    slack: FakeSlack, make_settings: MakeSettings, session: aiohttp.ClientSession, bad: str
) -> None:
    client = make_client(make_settings(), session, retries=False)
    message = render_message(hostile_report(bad * 40))
    resp = await client.chat_postMessage(channel="C1", **message)
    assert resp["ok"]


async def test_a_burst_of_groups_stays_under_slacks_limits_with_a_digest(
    slack: FakeSlack, make_settings: MakeSettings, make_notifier: Any
) -> None:
    # Slack's shape (per-channel posts with a short burst, updates per minute), four times
    # faster so the test is quick; the sender is told the same pace.
    slack.limits = RateLimits(post_per_second=4, update_per_minute=200)
    pace = {"channel_messages_per_second": 4, "updates_per_minute": 180}
    settings = make_settings(
        slack={
            "storm_groups_per_minute": 3,
            "digest_interval_seconds": 1,
            "reply_window_seconds": 1,
            **pace,
        }
    )
    notifier = make_notifier(settings)
    keys = [f"group-{n}" for n in range(6)]
    for key in keys:
        await notifier.notify(report(group_key=key), Change("new"))
    for step in range(3):  # each group grows: only the newest state needs to reach Slack
        for key in keys:
            change = Change("update", (f"step {step}",))
            await notifier.notify(report(group_key=key, truncated_alerts=step + 1), change)
    await notifier.sender.idle(timeout=40)
    assert slack.rate_limited == []
    messages = slack.channel_messages("C1")
    digest = [m for m in messages if "alert storm" in m.text]
    assert len(digest) == 1 and len(messages) == 7  # one digest, one message per group
    assert "6 alert groups opened" in digest[0].text
    for m in messages:
        if m is not digest[0]:
            assert "4 alert(s)" in json.dumps(m.blocks)  # the final state (1 + 3 truncated)
            # The three changes came within the reply window: one reply says them all.
            [reply] = slack.thread("C1", m.ts)
            assert all(f"step {n}" in reply.text for n in range(3))


async def test_a_triage_that_keeps_failing_is_posted_as_could_not_triage(
    slack: FakeSlack, make_settings: MakeSettings, make_notifier: Any, store: Store
) -> None:
    body = json.loads(FIXTURE.read_text())
    body["alerts"][0]["startsAt"] = "0001-01-01T00:00:00Z"  # a poison row

    def decide(target: Any, evidence: Any, notification: Notification) -> Any:
        notification.earliest_start() - timedelta(days=1)  # overflows, as real rules did
        raise AssertionError("unreachable")

    ident = await store.add_notification(body["groupKey"], "firing", "k", json.dumps(body))
    notifier = make_notifier(make_settings())
    worker = TriageWorker(
        store, TriageQueue(10), Pipeline([], decide), notifier, BotMetrics(), max_attempts=3
    )
    await worker.start()
    await slack.wait_for("chat.postMessage")
    await notifier.sender.idle()
    await worker.stop(1)
    [message] = slack.channel_messages("C1")
    assert "could not triage: OverflowError" in message.text
    shown = json.dumps(message.blocks)
    assert "Error rate above 5% for wine-quality-model" in shown  # the alert's own text
    db = sqlite3.connect(store.path)
    state, error = db.execute(
        "SELECT state, error FROM notifications WHERE id = ?", (ident,)
    ).fetchone()
    assert state == "failed" and "3 attempts" in error
    [attempts] = db.execute("SELECT attempts FROM triage_attempts").fetchone()
    assert attempts == 3
    assert await store.pending() == []  # never retried again
