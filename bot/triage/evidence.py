"""The typed evidence that collectors hand to the verdict and the notifiers.

Collectors (`bot.cluster`, `bot.promql`, `bot.drift`) produce these frozen
dataclasses; `triage.verdict` reads them; `notify` and `slack.render` show them. Each kind
registers itself by its `kind` name so a stored report can be read back typed.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar

from pydantic import TypeAdapter

_KINDS: dict[str, type[Evidence]] = {}


@dataclass(frozen=True)
class Evidence:
    """Base of every evidence kind; subclasses set `kind` and list what they saw."""

    kind: ClassVar[str] = ""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.kind:
            _KINDS[cls.kind] = cls

    def lines(self) -> tuple[str, ...]:
        """Short human-readable lines, most important first."""
        return ()


_ADAPTERS: dict[str, TypeAdapter[Any]] = {}


def _adapter(cls: type[Evidence]) -> TypeAdapter[Any]:
    # Building an adapter costs milliseconds; reports are serialised on every triage.
    adapter = _ADAPTERS.get(cls.kind)
    if adapter is None:
        adapter = _ADAPTERS[cls.kind] = TypeAdapter(cls)
    return adapter


def evidence_to_dict(evidence: Evidence) -> dict[str, Any]:
    """JSON-ready dict of an evidence value, tagged with its kind."""
    data = _adapter(type(evidence)).dump_python(evidence, mode="json")
    return {"kind": evidence.kind, **data}


def evidence_from_dict(data: dict[str, Any]) -> Evidence | None:
    """The typed evidence back from `evidence_to_dict`; None for an unknown kind."""
    cls = _KINDS.get(str(data.get("kind", "")))
    if cls is None:
        return None
    fields = {f.name for f in dataclasses.fields(cls)}
    value: Evidence = _adapter(cls).validate_python({k: v for k, v in data.items() if k in fields})
    return value


# --- the target ------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """What an alert group is about, resolved from its labels."""

    namespace: str | None = None
    inference_service: str | None = None
    deployment: str | None = None
    pod: str | None = None
    model: str | None = None

    @property
    def names_workload(self) -> bool:
        """True when the labels name something in the cluster to look at."""
        return bool(self.inference_service or self.deployment or self.pod)

    def describe(self) -> str:
        """`namespace/name` of the most specific workload, or a plain note."""
        name = self.inference_service or self.deployment or self.pod or self.model
        if not name:
            return "no workload named in the alert labels"
        return f"{self.namespace or '?'}/{name}"


# --- Kubernetes evidence ----------------------------------------------------------------


@dataclass(frozen=True)
class Condition:
    """A status condition of a Kubernetes object."""

    type: str
    status: str
    reason: str = ""
    message: str = ""
    since: datetime | None = None  # lastTransitionTime


@dataclass(frozen=True)
class Revision:
    """A rollout step: a Knative Revision (serverless) or a ReplicaSet (raw mode)."""

    name: str
    created_at: datetime | None
    ready: bool | None = None
    storage_uri: str = ""
    image: str = ""
    conditions: tuple[Condition, ...] = ()
    # `NAME=<digest of the value>` per env var, so a change shows without its value.
    env: tuple[str, ...] = ()
    max_scale: int | None = None
    args: tuple[str, ...] = ()  # `--flag=<digest>` per argument, like `env`


@dataclass(frozen=True)
class ModelStatus:
    """KServe's `status.modelStatus`: the model's load state and its last failure."""

    active_state: str = ""  # e.g. Loaded, Pending, Loading, FailedToLoad
    target_state: str = ""
    transition_status: str = ""  # e.g. UpToDate, InProgress, BlockedByFailedLoad, InvalidSpec
    failure_reason: str = ""  # e.g. ModelLoadFailed, RuntimeUnhealthy, NoSupportingRuntime
    failure_message: str = ""
    failure_exit_code: int | None = None
    failure_at: datetime | None = None


@dataclass(frozen=True)
class TrafficTarget:
    """One line of the traffic split."""

    revision: str
    percent: int
    latest: bool = False
    tag: str = ""


RAW_MODES = ("RawDeployment", "Standard")  # KServe modes without Knative revisions


@dataclass(frozen=True)
class InferenceServiceEvidence(Evidence):
    """The KServe InferenceService and its rollout history."""

    kind: ClassVar[str] = "inference_service"
    name: str
    namespace: str
    ready: bool | None
    deployment_mode: str = "Serverless"
    conditions: tuple[Condition, ...] = ()
    latest_ready_revision: str = ""
    latest_created_revision: str = ""
    previous_rolledout_revision: str = ""
    canary_traffic_percent: int | None = None
    storage_uri: str = ""
    runtime: str = ""
    traffic: tuple[TrafficTarget, ...] = ()
    revisions: tuple[Revision, ...] = ()
    generation: int | None = None
    spec_changed_at: datetime | None = None
    notes: tuple[str, ...] = ()  # partial failures, e.g. revisions not readable
    model_status: ModelStatus | None = None
    observed_generation: int | None = None
    model_format: str = ""  # e.g. "xgboost 3"

    def lines(self) -> tuple[str, ...]:
        """Readiness, the serving and previous revisions, the traffic split, notes."""
        state = {True: "ready", False: "NOT ready", None: "readiness unknown"}[self.ready]
        out = [f"InferenceService {self.namespace}/{self.name} ({self.deployment_mode}): {state}"]
        failing = {c.message: c.type for c in self.conditions if c.status == "False" and c.message}
        out += [f"{kind}: {message}" for message, kind in failing.items()]
        if self.latest_ready_revision or self.previous_rolledout_revision:
            previous = self.previous_rolledout_revision or "none"
            out.append(f"latest ready {self.latest_ready_revision or 'none'}, previous {previous}")
        newest = self.revisions[-1] if self.revisions else None
        if newest is not None and newest.created_at is not None:
            out.append(f"newest revision {newest.name} created {newest.created_at:%Y-%m-%d %H:%M}Z")
        if len(self.traffic) > 1:
            out.append("traffic: " + ", ".join(f"{t.revision} {t.percent}%" for t in self.traffic))
        return (*out, *self.notes)


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


@dataclass(frozen=True)
class PodsEvidence(Evidence):
    """The model's pods."""

    kind: ClassVar[str] = "pods"
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

    kind: ClassVar[str] = "events"
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

    kind: ClassVar[str] = "logs"
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

    kind: ClassVar[str] = "nodes"
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

    kind: ClassVar[str] = "autoscaler"
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


# --- Prometheus evidence ----------------------------------------------------------------


@dataclass(frozen=True)
class Series:
    """One series of a range query: labels and (unix time, value) points."""

    labels: dict[str, str]
    points: tuple[tuple[float, float], ...]


@dataclass(frozen=True)
class ResourceUse:
    """Peak use of one container against its limit over the window."""

    pod: str
    container: str
    memory_bytes: float | None = None
    memory_limit_bytes: float | None = None
    cpu_cores: float | None = None
    cpu_limit_cores: float | None = None
    cpu_throttled: float | None = None  # share of CFS periods throttled, 0..1


@dataclass(frozen=True)
class MetricsEvidence(Evidence):
    """The alert's own expression around its start, and resource use."""

    kind: ClassVar[str] = "metrics"
    expression: str = ""
    start: datetime | None = None
    end: datetime | None = None
    series: tuple[Series, ...] = ()
    resources: tuple[ResourceUse, ...] = ()
    # Added for bot.promql: the alert's threshold (split off the expression so the
    # chart shows values below it too), the alert start to mark, and partial failures.
    threshold: float | None = None
    comparison: str = ""
    alert_start: datetime | None = None
    notes: tuple[str, ...] = ()
    # Requests per second over 15 minutes at the alert, and at the same time a day earlier.
    traffic: float | None = None
    traffic_day_before: float | None = None

    def lines(self) -> tuple[str, ...]:
        """Peak of the alert's expression against its threshold, then resource pressure."""
        out: list[str] = []
        values = [v for s in self.series for _, v in s.points if v == v]  # NaN != NaN
        if values:
            shown = self.comparison and self.threshold is not None
            bound = f" (threshold {self.comparison} {self.threshold:g})" if shown else ""
            out.append(f"`{self.expression}` peaked at {max(values):.4g}{bound}")
        if self.traffic is not None and self.traffic_day_before:
            change = self.traffic / self.traffic_day_before - 1
            out.append(
                f"traffic {self.traffic:.3g} req/s at the alert, {self.traffic_day_before:.3g} "
                f"req/s a day earlier ({change:+.0%})"
            )
        for r in self.resources:
            if r.memory_bytes is not None and r.memory_limit_bytes:
                share = r.memory_bytes / r.memory_limit_bytes
                if share >= 0.8:
                    out.append(f"{r.pod}/{r.container}: memory at {share:.0%} of its limit")
            if r.cpu_cores is not None and r.cpu_limit_cores:
                share = r.cpu_cores / r.cpu_limit_cores
                if share >= 0.8:
                    out.append(f"{r.pod}/{r.container}: CPU at {share:.0%} of its limit")
        return (*out, *self.notes)


# --- data evidence ----------------------------------------------------------------------


@dataclass(frozen=True)
class FeatureDrift:
    """One feature's latest drift measure."""

    name: str
    test: str
    statistic: float
    p_value: float
    drifted: bool
    effect: float | None = None
    drifted_since: datetime | None = None


@dataclass(frozen=True)
class DriftEvidence(Evidence):
    """What the drift engine measured for the alert's model around the alert."""

    kind: ClassVar[str] = "drift"
    model: str
    evaluated_at: datetime | None = None
    window_rows: int = 0
    drift_share: float = 0.0
    dataset_drift: bool = False
    features: tuple[FeatureDrift, ...] = ()
    accuracy: float | None = None
    accuracy_baseline: float | None = None
    prediction_drift: bool = False


# --- results ----------------------------------------------------------------------------


@dataclass(frozen=True)
class CollectorResult:
    """What one collector returned: evidence, or a note saying why not."""

    collector: str
    evidence: Evidence | None = None
    note: str = ""
    seconds: float = 0.0


@dataclass(frozen=True)
class Verdict:
    """The decision: a category, how sure, why, and what to do."""

    category: str  # infrastructure | rollout | data-drift | concept-drift | unknown
    confidence: float
    summary: str
    reasons: tuple[str, ...] = ()
    action: str = ""
    # rollback | retrain | raise-memory | fix-image | fix-config | fix-scheduling
    # | investigate | none
    action_kind: str = ""
    details: dict[str, str] = field(default_factory=dict)
    cause: str = ""  # the mechanism: oom, image-pull, config, dependency, input-schema, ...
    # The strongest explanation of another category that lost, and why.
    considered: tuple[str, ...] = ()
