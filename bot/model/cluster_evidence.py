"""What the Kubernetes collectors saw of the workload: pods, events, logs, nodes, scalers.

Produced by `bot.cluster`; read by the detectors (`triage.detect_pods`, `detect_events`,
`detect_logs`) and shown by the notifiers. The InferenceService is in
`model.kserve_evidence`. Frozen dataclasses, each evidence kind tagged by its `kind` field
(the union in `model.results`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from bot.model.evidence import Evidence


@dataclass(frozen=True)
class Condition:
    """A status condition of a Kubernetes object."""

    type: str
    status: str
    reason: str = ""
    message: str = ""
    since: datetime | None = None  # lastTransitionTime


@dataclass(frozen=True)
class ContainerState:
    """What one container of a pod is doing and how it last ended."""

    name: str
    ready: bool
    restart_count: int = 0
    waiting_reason: str = ""
    waiting_message: str = ""
    last_terminated_reason: str = ""
    last_exit_code: int | None = None
    last_terminated_message: str = ""
    last_terminated_at: datetime | None = None
    memory_limit_bytes: int | None = None
    cpu_limit_cores: float | None = None
    init: bool = False  # an init container (the storage-initializer): runs before the model
    running_since: datetime | None = None
    image: str = ""
    probes: str = ""  # e.g. "liveness httpGet :8080/health initialDelaySeconds=30 ..."


@dataclass(frozen=True)
class PodState:
    """One pod of the model."""

    name: str
    phase: str
    ready: bool
    node: str = ""
    started_at: datetime | None = None
    containers: tuple[ContainerState, ...] = ()
    conditions: tuple[Condition, ...] = ()
    reason: str = ""  # status.reason, e.g. Evicted
    message: str = ""  # status.message, e.g. "The node was low on resource: memory."
    revision: str = ""  # the Knative Revision or ReplicaSet the pod belongs to
    created_at: datetime | None = None
    claims: tuple[str, ...] = ()  # PersistentVolumeClaims the pod mounts
    # `volume: configmap NAME` / `secret NAME` / `pvc NAME`: what a failed mount points at.
    volumes: tuple[str, ...] = ()


@dataclass(frozen=True)
class PodsEvidence(Evidence):
    """The model's pods."""

    kind: Literal["pods"] = field(default="pods", init=False)
    pods: tuple[PodState, ...] = ()
    selector: str = ""

    def lines(self) -> tuple[str, ...]:
        """How many pods are ready, then each unready or restarted pod in one line."""
        ready = sum(1 for p in self.pods if p.ready)
        out = [f"{ready}/{len(self.pods)} pods ready ({self.selector})"]
        for pod in self.pods:
            trouble = [
                f"{c.name}: {c.restart_count} restarts"
                + (f", {c.waiting_reason}" if c.waiting_reason else "")
                + (f", last {c.last_terminated_reason}" if c.last_terminated_reason else "")
                for c in pod.containers
                if c.restart_count or c.waiting_reason
            ]
            if pod.reason:
                trouble.insert(0, pod.reason)
            if trouble or not pod.ready:
                out.append(f"{pod.name} {pod.phase}: " + ("; ".join(trouble) or "not ready"))
        return tuple(out[:6])


@dataclass(frozen=True)
class KubeEvent:
    """A warning event about the model's objects, repeats already counted."""

    reason: str
    message: str
    object_kind: str
    object_name: str
    count: int = 1
    last_seen: datetime | None = None
    type: str = "Warning"


@dataclass(frozen=True)
class EventsEvidence(Evidence):
    """Warning events about the pods, the InferenceService and its revisions."""

    kind: Literal["events"] = field(default="events", init=False)
    events: tuple[KubeEvent, ...] = ()

    def lines(self) -> tuple[str, ...]:
        """The newest warning events, repeats counted."""
        return tuple(
            f"{e.reason} x{e.count} on {e.object_kind} {e.object_name}: {e.message}"
            for e in self.events[:5]
        )


@dataclass(frozen=True)
class LogExcerpt:
    """Error lines and tracebacks of one container, redacted, repeats collapsed."""

    pod: str
    container: str
    previous: bool
    lines: tuple[str, ...] = ()
    error_count: int = 0
    has_traceback: bool = False


@dataclass(frozen=True)
class LogsEvidence(Evidence):
    """Log excerpts of the model containers."""

    kind: Literal["logs"] = field(default="logs", init=False)
    excerpts: tuple[LogExcerpt, ...] = ()

    def lines(self) -> tuple[str, ...]:
        """The first excerpt lines of each container, marked when from a crashed instance."""
        seen: dict[str, list[str]] = {}  # the same line from many pods reads once
        for x in self.excerpts:
            which = " (previous instance)" if x.previous else ""
            for line in x.lines[:3]:
                seen.setdefault(f"{x.container}{which}: {line}", []).append(x.pod)
        return tuple(
            f"{pods[0] if len(pods) == 1 else f'{len(pods)} pods'}/{line}"
            for line, pods in seen.items()
        )


@dataclass(frozen=True)
class NodeState:
    """A node that runs the model's pods, with the conditions that are not as they should be."""

    name: str
    ready: bool | None
    problems: tuple[Condition, ...] = ()  # Ready not True, or a pressure condition True
    unschedulable: bool = False


@dataclass(frozen=True)
class NodesEvidence(Evidence):
    """The nodes of the model's pods."""

    kind: Literal["nodes"] = field(default="nodes", init=False)
    nodes: tuple[NodeState, ...] = ()

    def lines(self) -> tuple[str, ...]:
        """Each node with a problem, or that all are healthy."""
        bad = [n for n in self.nodes if n.problems or n.unschedulable]
        if not bad:
            return (f"{len(self.nodes)} nodes of the model's pods healthy",) if self.nodes else ()
        return tuple(
            f"node {n.name}: "
            + ", ".join(
                f"{c.type}={c.status}" + (f" ({c.reason})" if c.reason else "") for c in n.problems
            )
            + (", cordoned" if n.unschedulable else "")
            for n in bad
        )


@dataclass(frozen=True)
class Scaler:
    """One autoscaler of the model: a HorizontalPodAutoscaler or a Knative PodAutoscaler."""

    kind: str  # HorizontalPodAutoscaler | PodAutoscaler
    name: str
    min_replicas: int | None = None
    max_replicas: int | None = None
    current_replicas: int | None = None
    desired_replicas: int | None = None
    conditions: tuple[Condition, ...] = ()


@dataclass(frozen=True)
class AutoscalerEvidence(Evidence):
    """The autoscalers of the model's workload and whether they are at their bounds."""

    kind: Literal["autoscaler"] = field(default="autoscaler", init=False)
    scalers: tuple[Scaler, ...] = ()

    def lines(self) -> tuple[str, ...]:
        """Each scaler's replicas against its bounds."""
        out = []
        for s in self.scalers:
            bounds = f"min {s.min_replicas if s.min_replicas is not None else '?'}, max "
            bounds += f"{s.max_replicas if s.max_replicas is not None else '?'}"
            out.append(
                f"{s.kind} {s.name}: {s.current_replicas} replicas, desired "
                f"{s.desired_replicas} ({bounds})"
            )
        return tuple(out)
