"""Interactivity end to end: signed clicks through the HTTP route, the fake Slack, the store."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import pytest

from bot.model.change import Change
from bot.slack.signature import SignatureError, sign, verify
from tests.fakes.fake_slack import FakeSlack, Message
from tests.slack.clicks import audit, click_payload, signed, until
from tests.slack.reports import drift, isvc, report


async def first_message(service: Any, slack: FakeSlack) -> Message:
    await service.notifier().notify(report(isvc(), drift()), Change("new"))
    await service.notifier().sender.idle()
    [message] = slack.channel_messages("C1")
    return message


def test_signature_round_trip_and_refusals() -> None:
    body = b"payload=%7B%7D"
    good = sign("k", "1000", body)
    verify("k", "1000", good, body, now=1000)
    for ts, sig, now, why in [
        (None, good, 1000, "missing"),
        ("1000", None, 1000, "missing"),
        ("abc", good, 1000, "not a number"),
        ("1000", good, 1000 + 301, "window"),
        ("1000", good, 1000 - 301, "window"),
        ("1000", "v0=" + "0" * 64, 1000, "does not match"),
        ("1001", good, 1001, "does not match"),
    ]:
        with pytest.raises(SignatureError, match=why):
            verify("k", ts, sig, body, now=now)


async def test_allowed_ack_updates_the_message_and_the_thread(
    slack: FakeSlack, make_service: Any
) -> None:
    async with make_service() as (service, client):
        message = await first_message(service, slack)
        body, headers = signed(click_payload(message, "tb:ack"))
        began = time.monotonic()
        resp = await client.post("/slack/interactions", data=body, headers=headers)
        assert resp.status == 200 and time.monotonic() - began < 3
        await until(lambda: len(slack.thread("C1", message.ts)) == 1)
        assert "Acknowledged by <@U1>" in json.dumps(message.blocks)
        assert "tb:ack" not in json.dumps(message.attachments)  # the button is gone
        assert slack.thread("C1", message.ts)[0].text == "✅ acknowledged by <@U1>"
        [entry] = await audit(client)
        assert entry["user_id"] == "U1" and entry["action"] == "ack"
        assert entry["decision"] == "allowed" and entry["outcome"] == "ok"


async def test_unauthorized_user_gets_an_ephemeral_reply_and_nothing_happens(
    slack: FakeSlack, make_service: Any
) -> None:
    async with make_service() as (service, client):
        message = await first_message(service, slack)
        body, headers = signed(click_payload(message, "tb:silence:1h", user="U666"))
        resp = await client.post("/slack/interactions", data=body, headers=headers)
        assert resp.status == 200
        await until(lambda: len(slack.ephemeral) == 1)
        assert slack.ephemeral[0]["user"] == "U666"
        assert "Not allowed" in slack.ephemeral[0]["text"]
        assert message.edits == 0 and slack.thread("C1", message.ts) == []
        [entry] = await audit(client)
        assert entry["decision"] == "refused" and entry["outcome"] is None


async def test_rules_per_action_and_namespace_with_user_groups(
    slack: FakeSlack, make_service: Any
) -> None:
    slack.usergroups["S-ONCALL"] = ["U2"]
    rules = [{"actions": ["ack"], "namespaces": ["models"], "users": ["S-ONCALL"]}]
    async with make_service(slack_allowed_users=[], slack={"rules": rules}) as (service, client):
        message = await first_message(service, slack)
        for user in ("U1", "U2"):
            body, headers = signed(click_payload(message, "tb:ack", user=user))
            assert (await client.post("/slack/interactions", data=body, headers=headers)).ok
        await until(lambda: len(slack.ephemeral) == 1 and len(slack.thread("C1", message.ts)) == 1)
        assert slack.ephemeral[0]["user"] == "U1"
        assert "Acknowledged by <@U2>" in json.dumps(message.blocks)


async def test_double_click_runs_once(slack: FakeSlack, make_service: Any) -> None:
    async with make_service() as (service, client):
        message = await first_message(service, slack)
        body, headers = signed(click_payload(message, "tb:ack"))
        await asyncio.gather(
            *(client.post("/slack/interactions", data=body, headers=headers) for _ in range(2))
        )
        await until(lambda: len(slack.ephemeral) == 1 and len(slack.thread("C1", message.ts)) == 1)
        assert "Already" in slack.ephemeral[0]["text"]
        decisions = sorted(e["decision"] for e in await audit(client))
        assert decisions == ["allowed", "duplicate"]


@pytest.mark.parametrize(
    ("mangle", "status", "message"),
    [
        (lambda b, h: (b, {**h, "X-Slack-Signature": "v0=" + "0" * 64}), 401, "does not match"),
        (lambda b, h: (b + b"x", h), 401, "does not match"),
        (lambda b, h: (b, {k: v for k, v in h.items() if k != "X-Slack-Signature"}), 401,
         "missing"),
        (lambda b, h: signed(body=b"payload=%7Bnot-json"), 400, "not JSON"),
        (lambda b, h: signed(body=b"other=1"), 400, "'payload' is missing"),
        (lambda b, h: signed(body=b"payload=%7B%22type%22%3A%22block_actions%22%7D"), 400,
         "payload.user"),
        (lambda b, h: signed(body=b"\xff\xfe"), 400, "not a form"),
    ],
)  # fmt: skip
async def test_bad_requests_get_4xx_with_a_json_reason(
    slack: FakeSlack, make_service: Any, mangle: Any, status: int, message: str
) -> None:
    async with make_service() as (service, client):
        msg = await first_message(service, slack)
        body, headers = mangle(*signed(click_payload(msg, "tb:ack")))
        resp = await client.post("/slack/interactions", data=body, headers=headers)
        assert resp.status == status
        assert message in (await resp.json())["error"]
        # A click is handed to the background before its 200: a refusal handed over none.
        assert service.interactions_in_flight == 0
        assert msg.edits == 0 and await audit(client) == []


async def test_stale_timestamp_is_refused(slack: FakeSlack, make_service: Any) -> None:
    async with make_service() as (service, client):
        message = await first_message(service, slack)
        body, headers = signed(click_payload(message, "tb:ack"), at=time.time() - 301)
        resp = await client.post("/slack/interactions", data=body, headers=headers)
        assert resp.status == 401 and "5-minute" in (await resp.json())["error"]


async def test_oversize_body_is_413(slack: FakeSlack, make_service: Any) -> None:
    async with make_service(slack={"max_interaction_bytes": 1000}) as (_, client):
        body, headers = signed(body=b"payload=" + b"x" * 2000)
        resp = await client.post("/slack/interactions", data=body, headers=headers)
        assert resp.status == 413
        assert (await resp.json())["error"] == "body larger than 1000 bytes"


async def test_forged_button_for_another_workload_is_refused(
    slack: FakeSlack, make_service: Any
) -> None:
    async with make_service() as (service, client):
        message = await first_message(service, slack)
        payload = click_payload(message, "tb:ack")
        value = payload["actions"][0]["value"].replace("models/wine", "prod/payments")
        payload["actions"][0]["value"] = value
        body, headers = signed(payload)
        assert (await client.post("/slack/interactions", data=body, headers=headers)).ok
        await until(lambda: len(slack.ephemeral) == 1)
        assert "unknown" in slack.ephemeral[0]["text"]
        assert [e["decision"] for e in await audit(client)] == ["invalid"]


async def test_rollback_without_a_cluster_fails_visibly(
    slack: FakeSlack, make_service: Any
) -> None:
    async with make_service() as (service, client):
        message = await first_message(service, slack)
        body, headers = signed(click_payload(message, "tb:rollback:wine-predictor-00001"))
        assert (await client.post("/slack/interactions", data=body, headers=headers)).ok
        await until(lambda: len(slack.thread("C1", message.ts)) == 1)
        assert "❌" in slack.thread("C1", message.ts)[0].text


async def test_audit_api_validates_limit(make_service: Any) -> None:
    async with make_service() as (_, client):
        for bad in ("0", "x", "5000"):
            resp = await client.get(f"/api/audit?limit={bad}")
            assert resp.status == 400 and "limit" in (await resp.json())["error"]


async def test_routes_answer_503_before_start(make_settings: Any) -> None:
    from aiohttp import web
    from aiohttp.test_utils import TestClient, TestServer

    from bot.slack.interactions import interactions_handler

    app = web.Application()
    app.router.add_post("/i", interactions_handler(make_settings(), lambda: None))
    async with TestClient(TestServer(app)) as client:
        body, headers = signed({"type": "x"})
        resp = await client.post("/i", data=body, headers=headers)
        assert resp.status == 503 and "not configured" in (await resp.json())["error"]
