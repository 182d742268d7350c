"""One claimed batch of outbox ops to Slack: post, update, thread reply or chart upload.

Called by `slack.sender` for each batch it claimed; returns where the group's message is
when the call posted one (the sender records it with the outcome, `SlackStore.sent`).
Every top-level post of a group carries Slack message metadata naming the group
(`METADATA_EVENT`, `{"group_id": ...}`), so when a post's outcome was unknown (it timed
out after leaving) the next try first looks for it in the channel's history
(`conversations.history` with `include_all_metadata`) and updates what it finds instead
of posting a second message.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack.errors import describe, transient
from bot.slack.limits import violations
from bot.slack.tables import Head, MessageRef, Op

log = logging.getLogger(__name__)

METADATA_EVENT = "triage_bot_alert_group"
# How far back before the op was queued a lost post may sit, and how much history to read.
LOOK_MARGIN = timedelta(minutes=5)
HISTORY_PAGES = 5
# slack-sdk applies its own timeout only to sessions it creates; on the shared session a
# call could wait aiohttp's five minutes, past any claim. Each send is bounded here.
SEND_TIMEOUT = 10.0


class Delivery:
    """The Slack calls of the sender (`client` without retries: the sender paces)."""

    def __init__(self, client: AsyncWebClient, timeout: float = SEND_TIMEOUT) -> None:
        self._client = client
        self._timeout = timeout

    async def send(self, head: Head, batch: list[Op]) -> MessageRef | None:
        """Send the batch (claimed ops of one group); the message's new place, if any.
        A send that takes longer than the timeout raises `TimeoutError` (outcome unknown)."""
        async with asyncio.timeout(self._timeout):
            return await self._send(head, batch)

    async def _send(self, head: Head, batch: list[Op]) -> MessageRef | None:
        op = batch[0]
        if op.kind == "message":
            return await self._message(head, op)
        if op.ts is None:
            raise ValueError("the group's message was never posted")
        if op.kind == "reply":
            text = "\n".join(str(o.body["text"]) for o in batch)
            await self._client.chat_postMessage(channel=op.channel, thread_ts=op.ts, text=text)
            return None
        await self._client.files_upload_v2(
            channel=op.channel,
            thread_ts=op.ts,
            file=op.data or b"",
            filename=str(op.body.get("filename", "chart.png")),
            title=str(op.body.get("title", "chart")),
        )
        return None

    async def _message(self, head: Head, op: Op) -> MessageRef | None:
        body = op.body
        broken = violations(body)
        if broken:  # render guarantees this; a guard so Slack never sees a bad message
            raise ValueError("message breaks Slack limits: " + "; ".join(broken[:3]))
        common: dict[str, Any] = {
            "text": body["text"],
            "blocks": body["blocks"],
            "attachments": body["attachments"],
        }
        if op.ts is not None:
            try:
                await self._client.chat_update(channel=op.channel, ts=op.ts, **common)
                return None
            except SlackApiError as exc:
                if exc.response.get("error") != "message_not_found":
                    raise
                log.warning("message gone; posting a new one", extra={"group": head.group_id})
        if op.look_first:
            found = await self._look(op.channel, head)
            if found is not None and found != op.ts:
                log.info("lost post found by its metadata", extra={"group": head.group_id})
                await self._client.chat_update(channel=op.channel, ts=found, **common)
                return MessageRef(op.channel, found, op.ts, posted=False)
        resp = await self._client.chat_postMessage(
            channel=op.channel,
            unfurl_links=False,
            unfurl_media=False,
            metadata={"event_type": METADATA_EVENT, "event_payload": {"group_id": head.group_id}},
            **common,
        )
        return MessageRef(str(resp["channel"]), str(resp["ts"]), op.ts)

    async def withdraw(self, ref: MessageRef) -> None:
        """Delete a message this sender posted after its claim was taken over (best
        effort: a failure is logged, the duplicate then stays)."""
        try:
            async with asyncio.timeout(self._timeout):
                await self._client.chat_delete(channel=ref.channel, ts=ref.ts)
        except (SlackApiError, aiohttp.ClientError, TimeoutError) as exc:
            log.warning("stray post not deleted", extra={"ts": ref.ts, "error": describe(exc)})

    async def _look(self, channel: str, head: Head) -> str | None:
        """`find`, where a search Slack refuses for good (`missing_scope` without
        channels:history, `not_in_channel`) means posting: a possible second message
        beats a group with none."""
        try:
            return await self.find(channel, head.group_id, head.created_at - LOOK_MARGIN)
        except SlackApiError as exc:
            if transient(exc):
                raise
            log.warning(
                "cannot look for a lost post; posting",
                extra={"group": head.group_id, "error": describe(exc)},
            )
            return None

    async def find(self, channel: str, gid: str, since: datetime) -> str | None:
        """The ts of the group's newest top-level message in the channel since `since`, by
        its metadata; None when there is none."""
        cursor: str | None = None
        for _ in range(HISTORY_PAGES):
            resp = await self._client.conversations_history(
                channel=channel,
                oldest=f"{since.timestamp():.6f}",
                include_all_metadata=True,
                limit=200,
                cursor=cursor,
            )
            for message in resp.get("messages") or []:
                meta = message.get("metadata") or {}
                payload = meta.get("event_payload") or {}
                if meta.get("event_type") == METADATA_EVENT and payload.get("group_id") == gid:
                    return str(message["ts"])
            cursor = (resp.get("response_metadata") or {}).get("next_cursor") or None
            if not resp.get("has_more") or cursor is None:
                return None
        return None
