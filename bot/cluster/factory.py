"""The cluster collectors, ready to hand to the triage pipeline.

`collectors_over` builds them over a client the caller owns: `sources.build_pipeline`
(the service and `triage-bot triage`) passes the one `ApiClient` `assembly` opened.
`cluster_collectors` opens a client of its own and closes it on exit (tests, benches);
it yields no collectors when no cluster is configured.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from kubernetes_asyncio.client import ApiClient

from bot.cluster.autoscalers import AutoscalerCollector
from bot.cluster.client import open_api_client
from bot.cluster.events import EventsCollector
from bot.cluster.inference_services import InferenceServiceCollector
from bot.cluster.logs import LogsCollector
from bot.cluster.nodes import NodesCollector
from bot.cluster.pods import PodsCollector
from bot.cluster.reader import KubeReader
from bot.config import CollectorSettings, Settings
from bot.model.collector import Collector


@asynccontextmanager
async def cluster_collectors(settings: Settings) -> AsyncIterator[list[Collector]]:
    """The InferenceService, pods, events and logs collectors over one shared client."""
    if not settings.cluster_configured:
        yield []
        return
    api = await open_api_client(settings.kubeconfig)
    try:
        yield collectors_over(api, settings.collectors)
    finally:
        await api.close()


def collectors_over(api: ApiClient, settings: CollectorSettings) -> list[Collector]:
    """The InferenceService, pods, events, logs, autoscaler and node collectors over `api`."""
    reader = KubeReader(api)
    timeout = settings.kubernetes_timeout_seconds
    return [
        InferenceServiceCollector(reader, timeout),
        PodsCollector(reader, timeout),
        EventsCollector(reader, timeout),
        LogsCollector(reader, timeout, tail_lines=settings.log_lines),
        AutoscalerCollector(reader, timeout),
        NodesCollector(reader, timeout),
    ]
