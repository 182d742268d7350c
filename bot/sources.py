"""The evidence sources the settings call for, assembled into a triage pipeline.

Called by `app` (the service, with the drift collector and test collectors as extras)
and `offline` (`triage-bot triage`). The Kubernetes client and the HTTP session are
entered on the caller's exit stack, so they close with whoever owns the pipeline.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AsyncExitStack

import aiohttp

from bot.config import Settings
from bot.promql.collector import prometheus_collectors
from bot.triage.collector import Collector
from bot.triage.pipeline import Pipeline
from bot.triage.verdict import decide


async def open_pipeline(
    settings: Settings, stack: AsyncExitStack, extra: Sequence[Collector] = ()
) -> Pipeline:
    """The pipeline with `extra` collectors, the cluster's and Prometheus's."""
    collectors = [*extra]
    if settings.cluster_configured:
        # Imported only when used: the Kubernetes client is a large import.
        from bot.cluster.factory import cluster_collectors

        collectors += await stack.enter_async_context(cluster_collectors(settings))
    session = await stack.enter_async_context(aiohttp.ClientSession())
    collectors += prometheus_collectors(settings, session)
    return Pipeline(
        collectors,
        decide,
        budget_seconds=settings.collectors.budget_seconds,
        labels=settings.target_labels,
    )
