"""The cluster collectors, ready to hand to the triage pipeline.

`collectors_over` builds them over a client the caller owns: `sources.build_pipeline`
(the service and `triage-bot triage`) passes the one `ApiClient` `assembly` opened.
`cluster_collectors` opens a client of its own and closes it on exit (tests, benches).
Given only what it reads: the kubeconfig (None: in-cluster) and the collectors' limits.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from kubernetes_asyncio.client import ApiClient

from bot.cluster.autoscalers import AutoscalerCollector
from bot.cluster.client import open_api_client
from bot.cluster.events import EventsCollector
from bot.cluster.inference_services import InferenceServiceCollector
from bot.cluster.logs import LogsCollector
from bot.cluster.nodes import NodesCollector
from bot.cluster.pods import PodsCollector
from bot.cluster.reader import KubeReader
from bot.config_sections.triage import CollectorSettings
from bot.model.collector import Collector


@asynccontextmanager
async def cluster_collectors(
    kubeconfig: Path | None, limits: CollectorSettings
) -> AsyncIterator[list[Collector]]:
    """The Kubernetes collectors (InferenceService, pods, events, logs, autoscalers, nodes)
    over one shared client."""
    api = await open_api_client(kubeconfig)
    try:
        yield collectors_over(api, limits)
    finally:
        await api.close()


def collectors_over(api: ApiClient, limits: CollectorSettings) -> list[Collector]:
    """The InferenceService, pods, events, logs, autoscaler and node collectors over `api`."""
    reader = KubeReader(api)
    timeout = limits.kubernetes_timeout_seconds
    return [
        InferenceServiceCollector(reader, timeout),
        PodsCollector(reader, timeout),
        EventsCollector(reader, timeout),
        LogsCollector(reader, timeout, tail_lines=limits.log_lines),
        AutoscalerCollector(reader, timeout),
        NodesCollector(reader, timeout),
    ]
