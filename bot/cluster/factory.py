"""The cluster collectors, ready to hand to the triage pipeline.

Called by `sources.open_pipeline` (the service and `triage-bot triage`) when a cluster is
configured (`Settings.cluster_configured`). Opens one `ApiClient` for all collectors (via
`cluster.client`) and closes it on exit. Given only what it reads: the kubeconfig (None:
in-cluster) and the collectors' limits.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

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
        reader = KubeReader(api)
        timeout = limits.kubernetes_timeout_seconds
        yield [
            InferenceServiceCollector(reader, timeout),
            PodsCollector(reader, timeout),
            EventsCollector(reader, timeout),
            LogsCollector(reader, timeout, tail_lines=limits.log_lines),
            AutoscalerCollector(reader, timeout),
            NodesCollector(reader, timeout),
        ]
    finally:
        await api.close()
