"""The Slack notifier: one living message per alert group, sent through the outbox.

The worker calls `notify` (the `Notifier` protocol); `slack.dispatch` calls `refresh` and
`reply` after an action. Each call renders (`slack.render`), writes the sends to the
outbox (`slack.outbox`) and then flushes the group's queue in order under a per-group lock.
A send that fails for a transient reason (rate limit beyond the retries, 5xx, network)
stays pending and is retried by the background loop and at the next start; nothing the
worker handed over is lost. Permanent Slack errors mark the send dead, with the reason.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.config import Settings
from bot.model.change import Change
from bot.model.report import TriageReport
from bot.model.signal_evidence import MetricsEvidence
from bot.slack.buttons import group_id
from bot.slack.limits import violations
from bot.slack.outbox import GroupMessage, Op, SlackTables
from bot.slack.render import render_message
from bot.slack.routing import choose_channel, mentions_for

log = logging.getLogger(__name__)

Chart = Callable[[MetricsEvidence, str], bytes]
TRANSIENT = frozenset(
    {"ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout"}
)


class NoChannel(Exception):
    """Neither a route nor the default channel names where a group goes."""


class ParentMissing(Exception):
    """A thread reply whose group message could not be posted (a permanent failure)."""


def _transient(exc: Exception) -> bool:
    if isinstance(exc, SlackApiError):
        status = exc.response.status_code
        return status == 429 or status >= 500 or exc.response.get("error") in TRANSIENT
    return isinstance(exc, aiohttp.ClientError | TimeoutError)


def _error(exc: Exception) -> str:
    if isinstance(exc, SlackApiError):
        return str(exc.response.get("error") or exc.response.status_code)
    return f"{type(exc).__name__}: {exc}"


class SlackNotifier:
    """Posts, updates and replies in Slack for each alert group."""

    def __init__(
        self,
        client: AsyncWebClient,
        tables: SlackTables,
        settings: Settings,
        chart: Chart | None = None,
    ) -> None:
        self._client = client
        self._tables = tables
        self._settings = settings
        self._chart = chart
        self._locks: dict[str, asyncio.Lock] = {}
        self._loop_task: asyncio.Task[None] | None = None

    # --- what callers use ----------------------------------------------------------------

    async def notify(self, report: TriageReport, change: Change) -> None:
        """Queue and send the group's message (and a thread reply when something changed)."""
        gid = group_id(report.group_key)
        async with self._lock(gid):
            stored = await self._tables.load(gid)
            channel = self._channel(report, stored)
            message = self.render(report, state_of=stored)
            ops = [Op("message", channel, message)]
            if stored is not None and change.kind != "new" and change.what:
                ops.append(Op("reply", channel, {"text": "Changed: " + "; ".join(change.what)}))
            chart = await self._chart_op(report, channel) if stored is None else None
            if chart is not None:
                ops.append(chart)
            await self._tables.save_group(gid, report, channel, ops)
            await self._flush_locked(gid)

    async def refresh(self, gid: str) -> None:
        """Re-render the group's message from the stored report and state, and send it."""
        async with self._lock(gid):
            stored = await self._tables.load(gid)
            if stored is None:
                return
            message = self.render(stored.report, state_of=stored)
            await self._tables.enqueue(gid, [Op("message", stored.channel, message)])
            await self._flush_locked(gid)

    async def reply(self, gid: str, text: str) -> None:
        """Post `text` in the group's thread (after the message itself is out)."""
        async with self._lock(gid):
            stored = await self._tables.load(gid)
            if stored is None:
                return
            await self._tables.enqueue(gid, [Op("reply", stored.channel, {"text": text})])
            await self._flush_locked(gid)

    def render(self, report: TriageReport, *, state_of: GroupMessage | None) -> dict[str, Any]:
        """The message for a report with the stored state and the configured mentions."""
        return render_message(
            report,
            state_of.state if state_of else None,
            mentions=mentions_for(report.severity, self._settings.slack.mentions),
            silence_durations=self._settings.actions.silence_durations,
        )

    async def start(self) -> None:
        """Resend what a previous run left pending, then keep retrying in the background."""
        await self.flush_all()
        self._loop_task = asyncio.create_task(self._retry_loop(), name="slack-outbox")

    async def close(self) -> None:
        """Stop the retry loop (the service closes the HTTP session)."""
        if self._loop_task is not None:
            self._loop_task.cancel()
            await asyncio.gather(self._loop_task, return_exceptions=True)
            self._loop_task = None

    async def flush_all(self) -> None:
        """Try every group with pending sends."""
        for gid in await self._tables.pending_groups():
            async with self._lock(gid):
                await self._flush_locked(gid)

    # --- internals ---------------------------------------------------------------------

    def _lock(self, gid: str) -> asyncio.Lock:
        return self._locks.setdefault(gid, asyncio.Lock())

    def _channel(self, report: TriageReport, stored: GroupMessage | None) -> str:
        if stored is not None:
            return stored.channel
        slack = self._settings.slack
        channel = choose_channel(report.common_labels, slack.routes, self._settings.slack_channel)
        if channel is None:
            raise NoChannel(f"no Slack channel for group {report.group_key}: set a default")
        return channel

    async def _chart_op(self, report: TriageReport, channel: str) -> Op | None:
        if self._chart is None or not self._settings.slack.charts:
            return None
        metrics = report.find(MetricsEvidence)
        if not isinstance(metrics, MetricsEvidence) or not metrics.series:
            return None
        title = f"{report.alertname} · {report.target.describe()}"
        try:
            png = await asyncio.to_thread(self._chart, metrics, title)
        except Exception:  # a chart is a nicety; the message must still go out
            log.exception("chart failed", extra={"group_key": report.group_key})
            return None
        return Op("chart", channel, {"title": title, "filename": "alert.png"}, png)

    async def _retry_loop(self) -> None:
        while True:
            await asyncio.sleep(self._settings.slack.outbox_retry_seconds)
            try:
                await self.flush_all()
            except Exception:
                log.exception("outbox flush failed")

    async def _flush_locked(self, gid: str) -> None:
        # Read the group's row once; posting the message is the only send that moves it.
        stored = await self._tables.load(gid)
        channel, ts = (stored.channel, stored.ts) if stored else (None, None)
        for op in await self._tables.pending(gid):
            try:
                channel, ts = await self._send(gid, op, channel or op.channel, ts)
            except Exception as exc:
                if _transient(exc):
                    log.warning("slack send deferred", extra={"group": gid, "error": _error(exc)})
                    await self._tables.finish(op.id, "pending", _error(exc))
                    return  # keep the group's order: later sends wait for this one
                log.error("slack send failed", extra={"group": gid, "error": _error(exc)})
                await self._tables.finish(op.id, "dead", _error(exc))
            else:
                await self._tables.finish(op.id, "sent")

    async def _send(self, gid: str, op: Op, channel: str, ts: str | None) -> tuple[str, str | None]:
        """Send one op; where the group's message is afterwards (channel, ts)."""
        if op.kind == "message":
            return await self._send_message(gid, op, channel, ts)
        if ts is None:
            raise ParentMissing("the group's message was never posted")
        if op.kind == "reply":
            await self._client.chat_postMessage(channel=channel, thread_ts=ts, text=op.body["text"])
        else:
            await self._client.files_upload_v2(
                channel=channel,
                thread_ts=ts,
                file=op.data or b"",
                filename=str(op.body.get("filename", "chart.png")),
                title=str(op.body.get("title", "chart")),
            )
        return channel, ts

    async def _send_message(
        self, gid: str, op: Op, channel: str, ts: str | None
    ) -> tuple[str, str | None]:
        body = op.body
        broken = violations(body)
        if broken:  # render guarantees this; a guard so Slack never sees a bad message
            raise ValueError("message breaks Slack limits: " + "; ".join(broken[:3]))
        common = {
            "text": body["text"],
            "blocks": body["blocks"],
            "attachments": body["attachments"],
        }
        if ts is not None:
            try:
                await self._client.chat_update(channel=channel, ts=ts, **common)
                return channel, ts
            except SlackApiError as exc:
                if exc.response.get("error") != "message_not_found":
                    raise
                log.warning("message gone; posting a new one", extra={"group": gid})
        resp = await self._client.chat_postMessage(
            channel=channel, unfurl_links=False, unfurl_media=False, **common
        )
        ref = str(resp["channel"]), str(resp["ts"])
        await self._tables.set_ref(gid, *ref)
        return ref
