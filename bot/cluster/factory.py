"""The cluster collectors, ready to hand to the triage pipeline.

Called by `app` (the service) and `cli triage` (offline). Opens one `ApiClient` for all
collectors (via `cluster.client`) and closes it on exit; yields no collectors when no
cluster is configured, so a triage without Kubernetes still goes out.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from bot.cluster.autoscalers import AutoscalerCollector
from bot.cluster.client import open_api_client
from bot.cluster.events import EventsCollector
from bot.cluster.inference_services import InferenceServiceCollector
from bot.cluster.logs import LogsCollector
from bot.cluster.nodes import NodesCollector
from bot.cluster.pods import PodsCollector
from bot.cluster.reader import KubeReader
from bot.config import Settings
from bot.model.collector import Collector


@asynccontextmanager
async def cluster_collectors(settings: Settings) -> AsyncIterator[list[Collector]]:
    """The InferenceService, pods, events and logs collectors over one shared client."""
    if not settings.cluster_configured:
        yield []
        return
    api = await open_api_client(settings.kubeconfig)
    try:
        reader = KubeReader(api)
        timeout = settings.collectors.kubernetes_timeout_seconds
        yield [
            InferenceServiceCollector(reader, timeout),
            PodsCollector(reader, timeout),
            EventsCollector(reader, timeout),
            LogsCollector(reader, timeout, tail_lines=settings.collectors.log_lines),
            AutoscalerCollector(reader, timeout),
            NodesCollector(reader, timeout),
        ]
    finally:
        await api.close()
