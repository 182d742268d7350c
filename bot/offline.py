"""One triage without the service: the `triage-bot triage` command's engine.

Builds the same collectors and verdict as the service, runs them once on a saved
notification and closes everything again. No store, no notifier.
"""

from __future__ import annotations

from contextlib import AsyncExitStack

import aiohttp

from bot.alerts.models import Notification
from bot.cluster.factory import cluster_collectors
from bot.config import Settings
from bot.promql.collector import prometheus_collectors
from bot.triage.collector import Collector
from bot.triage.pipeline import Pipeline
from bot.triage.report import TriageReport
from bot.triage.verdict import decide


async def triage_offline(settings: Settings, notification: Notification) -> TriageReport:
    """The report the service would make for this notification now."""
    async with AsyncExitStack() as stack:
        collectors: list[Collector] = []
        collectors += await stack.enter_async_context(cluster_collectors(settings))
        session = await stack.enter_async_context(aiohttp.ClientSession())
        collectors += prometheus_collectors(settings, session)
        pipeline = Pipeline(
            collectors,
            decide,
            budget_seconds=settings.collectors.budget_seconds,
            labels=settings.target_labels,
        )
        return await pipeline.run(notification)
