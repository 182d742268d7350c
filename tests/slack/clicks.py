"""Signed interaction requests, as Slack sends them, for the interaction tests."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from slack_sdk.signature import SignatureVerifier

from bot.slack.signature import sign
from tests.fakes.fake_slack import Message

SECRET = "s3cret"


def button(message: Message, action_id: str) -> dict[str, Any]:
    """The element with `action_id` in a message the fake holds."""
    blocks = [*message.blocks, *(b for a in message.attachments for b in a["blocks"])]
    for block in blocks:
        for element in block.get("elements", []):
            if element.get("action_id") == action_id:
                return dict(element)
    raise AssertionError(f"no button {action_id}")


def click_payload(message: Message, action_id: str, user: str = "U1") -> dict[str, Any]:
    """A block_actions payload for a click on a button of a message."""
    element = button(message, action_id)
    return {
        "type": "block_actions",
        "user": {"id": user, "username": user.lower(), "team_id": "T1"},
        "api_app_id": "A1",
        "container": {"type": "message", "message_ts": message.ts, "channel_id": message.channel},
        "channel": {"id": message.channel, "name": "alerts"},
        "message": {"ts": message.ts, "text": message.text},
        "trigger_id": "1.2.3",
        "response_url": "https://hooks.invalid/actions/1",
        "actions": [{"action_id": element["action_id"], "block_id": "b", "type": "button",
                     "value": element["value"], "action_ts": "1764000000.1"}],
    }  # fmt: skip


def signed(
    payload: dict[str, Any] | None = None,
    *,
    body: bytes | None = None,
    secret: str = SECRET,
    at: float | None = None,
) -> tuple[bytes, dict[str, str]]:
    """A form body and the headers Slack would send with it."""
    if body is None:
        body = urlencode({"payload": json.dumps(payload)}).encode()
    stamp = str(int(at if at is not None else time.time()))
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": stamp,
        "X-Slack-Signature": sign(secret, stamp, body),
    }
    if at is None and body.isascii():  # signed as Slack signs: slack-sdk's verifier agrees
        assert SignatureVerifier(secret).is_valid_request(body, headers)
    return body, headers


async def until(check: Callable[[], bool], timeout: float = 5.0) -> None:
    """Wait until `check()` holds (the dispatcher works in the background)."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.01)


async def audit(client: Any) -> list[dict[str, Any]]:
    """The entries `GET /api/audit` serves."""
    resp = await client.get("/api/audit")
    assert resp.status == 200
    return list((await resp.json())["entries"])
