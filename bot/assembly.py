"""The clients every part shares, opened once, and the actions built over them.

Called by `app` (the service) and `offline` (`triage-bot triage`): both open their
clients here and build the pipeline with `sources.build_pipeline`, so the offline triage
is assembled exactly as the service's. One aiohttp `ClientSession` (Prometheus, Slack,
Alertmanager silences) and at most one Kubernetes `ApiClient` (the collectors and the
rollback and retrain actions) per process, entered on the caller's exit stack so they
close with it, in reverse order.
"""

from __future__ import annotations

from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import TYPE_CHECKING

import aiohttp

from bot.config import Settings

if TYPE_CHECKING:  # the Kubernetes client only with a cluster: a large import
    from kubernetes_asyncio.client import ApiClient

    from bot.actions.base import Action


@dataclass(frozen=True)
class Clients:
    """The process's outbound clients."""

    session: aiohttp.ClientSession
    kube: ApiClient | None  # None: no cluster configured


async def open_clients(settings: Settings, stack: AsyncExitStack) -> Clients:
    """The HTTP session, and the Kubernetes client when a cluster is configured."""
    session = await stack.enter_async_context(aiohttp.ClientSession())
    kube = None
    if settings.cluster_configured:
        from bot.cluster.client import open_api_client

        kube = await open_api_client(settings.kubeconfig)
        stack.push_async_callback(kube.close)
    return Clients(session, kube)


def build_actions(settings: Settings, clients: Clients) -> dict[str, Action]:
    """The buttons' actions: ack and silence always, rollback and retrain with a cluster.

    Imported here, not at the top: only a service with Slack has buttons.
    """
    from bot.actions.acknowledge import AcknowledgeAction
    from bot.actions.silence import SilenceAction

    actions: dict[str, Action] = {
        "ack": AcknowledgeAction(),
        "silence": SilenceAction(
            clients.session, settings.alertmanager_url, settings.actions.silence_durations
        ),
    }
    if clients.kube is not None:
        from bot.actions.kube import KubeWriter
        from bot.actions.retrain import RetrainAction
        from bot.actions.rollback import RollbackAction
        from bot.cluster.reader import KubeReader

        reader, writer = KubeReader(clients.kube), KubeWriter(clients.kube)
        poll = settings.actions.poll_seconds
        actions["rollback"] = RollbackAction(
            reader, writer, timeout=settings.actions.rollback_timeout_seconds, poll=poll
        )
        actions["retrain"] = RetrainAction(reader, writer, settings.actions.retrain, poll=poll)
    return actions
