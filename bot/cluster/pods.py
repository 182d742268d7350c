"""The model's pods: phase, readiness, restarts, waiting and termination reasons, limits.

`PodsCollector` is called by the triage pipeline; `find_pods` is shared with
`cluster.logs`, which needs the same pods to pick whose logs to read. Reads go through
`cluster.reader`; the result is a `PodsEvidence` (bot/triage/evidence.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.cluster import parsing as p
from bot.cluster.reader import ISVC_LABEL, JSON, KubeReader
from bot.redaction import redact
from bot.triage.collector import TriageContext, workload_namespace
from bot.triage.evidence import ContainerState, PodsEvidence, PodState, Target


@dataclass(frozen=True)
class PodQuery:
    """How to find a target's pods: selectors for the API, a name prefix to filter after."""

    namespace: str
    label_selector: str = ""
    field_selector: str = ""
    name_prefix: str = ""

    def describe(self) -> str:
        """Shown with the evidence, e.g. `serving.kserve.io/inferenceservice=wine`."""
        return self.label_selector or self.field_selector or f"name starts with {self.name_prefix}"


def pod_query(target: Target) -> PodQuery | None:
    """The query for the target's pods; None when the alert names no workload.

    Deployments are matched by name prefix (`<deployment>-<hash>-<hash>`) so the bot
    needs no read access to Deployments.
    """
    namespace = workload_namespace(target)
    if namespace is None:
        return None
    if target.pod:
        return PodQuery(namespace, field_selector=f"metadata.name={target.pod}")
    if target.inference_service:
        return PodQuery(namespace, label_selector=f"{ISVC_LABEL}={target.inference_service}")
    return PodQuery(namespace, name_prefix=f"{target.deployment}-")


async def find_pods(reader: KubeReader, query: PodQuery) -> list[JSON]:
    """The raw pods the query selects, newest first."""
    pods = await reader.pods(
        query.namespace,
        label_selector=query.label_selector or None,
        field_selector=query.field_selector or None,
    )
    if query.name_prefix:
        pods = [pod for pod in pods if _name(pod).startswith(query.name_prefix)]
    return sorted(
        pods,
        key=lambda pod: p.text(p.obj(pod.get("metadata")).get("creationTimestamp")),
        reverse=True,
    )


def _name(pod: JSON) -> str:
    return p.text(p.obj(pod.get("metadata")).get("name"))


def _limits(spec: JSON) -> dict[str, tuple[float | None, float | None]]:
    out: dict[str, tuple[float | None, float | None]] = {}
    for container in p.items(spec.get("containers")):
        limits = p.obj(p.obj(container.get("resources")).get("limits"))
        memory = p.quantity(limits.get("memory"))
        cpu = p.quantity(limits.get("cpu"))
        out[p.text(container.get("name"))] = (memory, cpu)
    return out


def _container(
    status: JSON, limits: dict[str, tuple[float | None, float | None]]
) -> ContainerState:
    name = p.text(status.get("name"))
    state = p.obj(status.get("state"))
    waiting = p.obj(state.get("waiting"))
    # A container that is terminated right now (not yet restarted) tells the same story.
    ended = p.obj(p.obj(status.get("lastState")).get("terminated")) or p.obj(
        state.get("terminated")
    )
    memory, cpu = limits.get(name, (None, None))
    exit_code: Any = ended.get("exitCode")
    return ContainerState(
        name=name,
        ready=bool(status.get("ready")),
        restart_count=int(status.get("restartCount") or 0),
        waiting_reason=p.text(waiting.get("reason")),
        # Redacted before the cut: half a secret has no shape left to recognise.
        waiting_message=redact(p.text(waiting.get("message")))[:300],
        last_terminated_reason=p.text(ended.get("reason")),
        last_exit_code=int(exit_code) if isinstance(exit_code, int) else None,
        last_terminated_message=redact(p.text(ended.get("message")))[:300],
        last_terminated_at=p.timestamp(ended.get("finishedAt")),
        memory_limit_bytes=int(memory) if memory is not None else None,
        cpu_limit_cores=cpu,
    )


def parse_pod(pod: JSON) -> PodState:
    """A `PodState` from a pod's JSON; unknown fields read as empty."""
    spec = p.obj(pod.get("spec"))
    status = p.obj(pod.get("status"))
    limits = _limits(spec)
    statuses = p.items(status.get("initContainerStatuses")) + p.items(
        status.get("containerStatuses")
    )
    return PodState(
        name=_name(pod),
        phase=p.text(status.get("phase")) or "Unknown",
        ready=p.condition_true(status, "Ready") is True,
        node=p.text(spec.get("nodeName")),
        started_at=p.timestamp(status.get("startTime")),
        containers=tuple(_container(s, limits) for s in statuses),
        conditions=p.conditions(status),
        reason=p.text(status.get("reason")),
        message=redact(p.text(status.get("message")))[:300],
    )


class PodsCollector:
    """Collects `PodsEvidence` for the alert's workload."""

    name = "Kubernetes pods"

    def __init__(self, reader: KubeReader, timeout: float) -> None:
        self._reader = reader
        self.timeout = timeout

    async def collect(self, context: TriageContext) -> PodsEvidence | None:
        """The target's pods; None when the alert names no workload."""
        query = pod_query(context.target)
        if query is None:
            return None
        pods = await context.shared.once(("pods", query), lambda: find_pods(self._reader, query))
        return PodsEvidence(pods=tuple(parse_pod(pod) for pod in pods), selector=query.describe())
