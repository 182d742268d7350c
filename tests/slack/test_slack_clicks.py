"""Clicks act only on what the message offered, in its own channel; diagnosis feedback.

Signed requests through `POST /slack/interactions`, checked with slack-sdk's own
`SignatureVerifier`, against the fake Slack and the store.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from slack_sdk.signature import SignatureVerifier

from bot.actions.audit import AuditLog, feedback_for
from bot.model.change import Change
from bot.slack.buttons import ButtonPayload, group_id
from bot.store.sqlite import Store
from tests.fakes.fake_slack import FakeSlack, Message
from tests.slack.clicks import SECRET, audit, click_payload, signed, until
from tests.slack.reports import GROUP_KEY, drift, isvc, report


async def posted(service: Any, slack: FakeSlack, **kwargs: Any) -> Message:
    await service.notifier().notify(report(isvc(), drift(), **kwargs), Change("new"))
    await slack.wait_for("chat.postMessage")
    [message] = slack.channel_messages("C1")
    return message


async def send(client: Any, payload: dict[str, Any]) -> None:
    body, headers = signed(payload)
    verifier = SignatureVerifier(SECRET)  # what a real Slack app would check
    assert verifier.is_valid_request(body, headers)
    assert (await client.post("/slack/interactions", data=body, headers=headers)).ok


async def test_feedback_is_audited_with_who_and_when_and_readable_back(
    slack: FakeSlack, make_service: Any, tmp_path: Path
) -> None:
    async with make_service() as (service, client):
        message = await posted(service, slack)
        await send(client, click_payload(message, "tb:feedback:right", user="U1"))
        await send(client, click_payload(message, "tb:feedback:wrong", user="U7"))
        await until(lambda: len(slack.ephemeral) == 2)
        # The two clicks are handled at once: their answers may come in either order.
        answered = sorted(e["text"] for e in slack.ephemeral)
        assert ["diagnosis was right" in answered[0], "was wrong" in answered[1]] == [True] * 2
        entries = await audit(client)
        assert {(e["action"], e["arg"], e["user_id"]) for e in entries} == {
            ("feedback", "right", "U1"),
            ("feedback", "wrong", "U7"),
        }
        # Read back as `export-case` does, from the back end's audit log.
        log = service._audit
        answers = await log.feedback_for(GROUP_KEY)
        assert sorted((a.user_id, a.verdict_ok) for a in answers) == [("U1", True), ("U7", False)]
        assert all(a.at.tzinfo is not None for a in answers)
        assert await log.feedback_for("another group") == []
        if isinstance(log, AuditLog):  # and from the SQLite file, as `export-case` opens it
            store = Store(tmp_path / "store.sqlite3")
            await store.open()
            try:
                assert len(await feedback_for(store, GROUP_KEY)) == 2
            finally:
                await store.close()


async def test_a_click_from_another_channel_is_refused(slack: FakeSlack, make_service: Any) -> None:
    async with make_service() as (service, client):
        message = await posted(service, slack)
        payload = click_payload(message, "tb:ack")
        payload["channel"]["id"] = "C_OTHER"
        await send(client, payload)
        await until(lambda: len(slack.ephemeral) == 1)
        assert "another channel" in slack.ephemeral[0]["text"]
        assert [e["decision"] for e in await audit(client)] == ["invalid"]
        assert slack.thread("C1", message.ts) == []


async def test_an_action_the_message_did_not_offer_is_refused(
    slack: FakeSlack, make_service: Any
) -> None:
    async with make_service() as (service, client):
        # No drift and an infrastructure verdict: the message has no Retrain button.
        await service.notifier().notify(report(isvc(), category="infrastructure"), Change("new"))
        await slack.wait_for("chat.postMessage")
        [message] = slack.channel_messages("C1")
        payload = click_payload(message, "tb:ack")
        forged = ButtonPayload("retrain", group_id(GROUP_KEY), "models/wine")
        payload["actions"][0].update(value=forged.pack(), action_id=forged.action_id)
        await send(client, payload)
        await until(lambda: len(slack.ephemeral) == 1)
        assert "no longer offered" in slack.ephemeral[0]["text"]
        # An empty rollback target is not what the message offered either.
        forged = ButtonPayload("rollback", group_id(GROUP_KEY), "models/wine", "")
        payload["actions"][0].update(value=forged.pack(), action_id=forged.action_id)
        await send(client, payload)
        await until(lambda: len(slack.ephemeral) == 2)
        assert [e["decision"] for e in await audit(client)] == ["invalid", "invalid"]


async def test_rollback_on_a_resolved_group_is_refused_with_the_reason(
    slack: FakeSlack, make_service: Any
) -> None:
    async with make_service() as (service, client):
        message = await posted(service, slack)
        payload = click_payload(message, "tb:rollback:wine-predictor-00001")
        notifier = service.notifier()
        await notifier.notify(report(isvc(), drift(), status="resolved"), Change("resolved"))
        await slack.wait_for("chat.update")
        await send(client, payload)  # the button of the message as it was while firing
        await until(lambda: len(slack.ephemeral) == 1)
        assert "resolved" in slack.ephemeral[0]["text"]
        [entry] = await audit(client)
        assert entry["decision"] == "refused" and entry["action"] == "rollback"


async def test_a_slow_body_is_answered_408_without_holding_the_handler(
    slack: FakeSlack, make_service: Any
) -> None:
    async with make_service(slack={"body_timeout_seconds": 0.2}) as (_, client):
        reader, writer = await asyncio.open_connection(client.host, client.port)
        head = (
            "POST /slack/interactions HTTP/1.1\r\nHost: x\r\n"
            "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\n"
            "payload="
        )
        writer.write(head.encode())
        await writer.drain()
        async with asyncio.timeout(5):
            status = await reader.readline()
        writer.close()
        assert status.startswith(b"HTTP/1.1 408")
