"""The Slack notifier: one living message per alert group, written to the outbox.

The worker calls `notify` (the `Notifier` protocol); `slack.dispatch` calls `refresh` and
`reply` after an action. Each call renders (`slack.render`) and writes the desired state
of the group's message (and any thread reply) to the outbox (`slack.outbox`) in one
commit, then wakes the sender (`slack.sender`) and returns: Slack's pace, 429s and
outages never hold back triage. A group whose channel cannot be chosen is still written
(without a channel) and delivered once the configuration names one.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from bot.config import Settings
from bot.model.change import Change
from bot.model.report import TriageReport
from bot.model.signal_evidence import MetricsEvidence
from bot.slack.buttons import group_id
from bot.slack.mrkdwn import escape, trusted_hosts
from bot.slack.render import render_message
from bot.slack.routing import choose_channel, mentions_for
from bot.slack.sender import Sender
from bot.slack.tables import GroupMessage, Op, SlackStore

log = logging.getLogger(__name__)

Chart = Callable[[MetricsEvidence, str], bytes]


class SlackNotifier:
    """Queues posts, updates and replies in Slack for each alert group."""

    def __init__(
        self,
        client: AsyncWebClient,
        tables: SlackStore,
        settings: Settings,
        chart: Chart | None = None,
        sender: Sender | None = None,
    ) -> None:
        self._tables = tables
        self._settings = settings
        self._chart = chart
        self._locks: dict[str, asyncio.Lock] = {}
        self.sender = sender or Sender(client, tables, settings.slack, settings.slack_channel)

    # --- what callers use ----------------------------------------------------------------

    async def notify(self, report: TriageReport, change: Change) -> None:
        """Queue the group's message (and a thread reply when something changed)."""
        gid = group_id(report.group_key)
        async with self._lock(gid):
            stored = await self._tables.load(gid)
            channel = self._channel(report, stored)
            message = self.render(report, state_of=stored)
            ops = [Op("message", channel, message)]
            if stored is not None and change.kind != "new" and change.what:
                what = escape("; ".join(change.what))
                ops.append(Op("reply", channel, {"text": "Changed: " + what}))
            chart = await self._chart_op(report, channel) if stored is None else None
            if chart is not None:
                ops.append(chart)
            await self._tables.save_group(gid, report, channel, ops)
        if stored is None:
            self.sender.opened(channel, gid)
        self.sender.wake()

    async def refresh(self, gid: str) -> None:
        """Re-render the group's message from the stored report and state, and queue it."""
        async with self._lock(gid):
            stored = await self._tables.load(gid)
            if stored is None:
                return
            message = self.render(stored.report, state_of=stored)
            await self._tables.enqueue(gid, [Op("message", stored.channel, message)])
        self.sender.wake()

    async def reply(self, gid: str, text: str) -> None:
        """Queue `text` (already mrkdwn-safe) in the group's thread, after the message."""
        async with self._lock(gid):
            stored = await self._tables.load(gid)
            if stored is None:
                return
            await self._tables.enqueue(gid, [Op("reply", stored.channel, {"text": text})])
        self.sender.wake()

    def render(self, report: TriageReport, *, state_of: GroupMessage | None) -> dict[str, Any]:
        """The message for a report with the stored state and the configured mentions."""
        return render_message(
            report,
            state_of.state if state_of else None,
            mentions=mentions_for(report.severity, self._settings.slack.mentions),
            silence_durations=self._settings.actions.silence_durations,
            link_hosts=self.link_hosts(report),
        )

    def link_hosts(self, report: TriageReport) -> frozenset[str]:
        """Hosts whose URLs become links: Prometheus, Alertmanager (configured and the
        one that sent the group) and the configured allow-list."""
        s = self._settings
        own = (s.prometheus_url or "", s.alertmanager_url or "", report.external_url)
        return trusted_hosts(own, s.slack.link_hosts)

    async def start(self) -> None:
        """Start the sender (it resends what a previous run left pending first)."""
        self.sender.start()

    async def close(self) -> None:
        """Stop the sender (the service closes the HTTP session)."""
        await self.sender.close()

    # --- internals ---------------------------------------------------------------------

    def _lock(self, gid: str) -> asyncio.Lock:
        return self._locks.setdefault(gid, asyncio.Lock())

    def _channel(self, report: TriageReport, stored: GroupMessage | None) -> str:
        if stored is not None:
            return stored.channel
        slack = self._settings.slack
        channel = choose_channel(report.common_labels, slack.routes, self._settings.slack_channel)
        return channel or ""  # held in the outbox until a channel is configured

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
        # The picture shows the title as drawn; Slack's file title is parsed: escaped.
        return Op("chart", channel, {"title": escape(title), "filename": "alert.png"}, png)
