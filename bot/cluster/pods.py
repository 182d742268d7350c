"""The model's pods: phase, readiness, restarts, waiting and termination reasons, limits.

`PodsCollector` is called by the triage pipeline; `find_pods` is shared with
`cluster.logs`, which needs the same pods to pick whose logs to read. Reads go through
`cluster.reader`; the result is a `PodsEvidence` (bot/model/evidence.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.cluster import parsing as p
from bot.cluster.reader import ISVC_LABEL, JSON, KubeReader
from bot.model.cluster_evidence import ContainerState, PodsEvidence, PodState
from bot.model.collector import TriageContext, workload_namespace
from bot.model.target import Target
from bot.redaction import redact


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


def _isvc_of(pod: JSON) -> str:
    return p.text(p.obj(p.obj(pod.get("metadata")).get("labels")).get(ISVC_LABEL))


def _predictor_isvc(deployment: str) -> str:
    """KServe names a raw-mode predictor Deployment `<isvc>-predictor[-default]`."""
    for suffix in ("-predictor-default", "-predictor"):
        if deployment.endswith(suffix):
            return deployment.removesuffix(suffix)
    return ""


async def inference_service_of(context: TriageContext, reader: KubeReader) -> str:
    """The alert's InferenceService: named in its labels, else the label of its pod.

    Alerts from kube-state-metrics name a pod or a Deployment, not the model; the pod's
    `serving.kserve.io/inferenceservice` label (read once per triage) says whose it is.
    """
    target = context.target
    if target.inference_service:
        return target.inference_service
    if target.pod and target.namespace:
        query = PodQuery(target.namespace, field_selector=f"metadata.name={target.pod}")
        pods = await context.shared.once(("pods", query), lambda: find_pods(reader, query))
        return next((name for pod in pods if (name := _isvc_of(pod))), "")
    if target.deployment:
        return _predictor_isvc(target.deployment)
    return ""


async def _parsed(pods: list[JSON]) -> list[PodState]:
    return [parse_pod(pod) for pod in pods]


async def model_pods(
    context: TriageContext, reader: KubeReader
) -> tuple[PodQuery, list[JSON], list[PodState]] | None:
    """The query for every pod of the alert's model, the pods and their parsed states.

    Read and parsed once per triage, whichever collector asks first.
    """
    query = pod_query(context.target)
    if query is None:
        return None
    isvc = await inference_service_of(context, reader)
    if isvc and not query.label_selector:
        # All the model's pods, not only the one alerted on: the others tell the scope.
        query = PodQuery(query.namespace, label_selector=f"{ISVC_LABEL}={isvc}")
    chosen = query
    pods = await context.shared.once(("pods", chosen), lambda: find_pods(reader, chosen))
    states = await context.shared.once(("pod states", chosen), lambda: _parsed(pods))
    return chosen, pods, states


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


KNATIVE_REVISION_LABEL = "serving.knative.dev/revision"


def pod_revision(pod: JSON) -> str:
    """The Knative Revision (label) or ReplicaSet (owner) a pod belongs to, else ""."""
    meta = p.obj(pod.get("metadata"))
    revision = p.text(p.obj(meta.get("labels")).get(KNATIVE_REVISION_LABEL))
    if revision:
        return revision
    owners = p.items(meta.get("ownerReferences"))
    return next((p.text(o.get("name")) for o in owners if o.get("kind") == "ReplicaSet"), "")


_PROBE_FIELDS = ("initialDelaySeconds", "periodSeconds", "timeoutSeconds", "failureThreshold")


def _probe(kind: str, probe: JSON) -> str:
    how = ""
    for handler in ("httpGet", "tcpSocket", "grpc"):
        spec = p.obj(probe.get(handler))
        if spec:
            how = f" {handler} :{p.text(spec.get('port'))}{p.text(spec.get('path'))}"
    if probe.get("exec"):
        how = " exec"
    timings = " ".join(f"{f}={probe[f]}" for f in _PROBE_FIELDS if f in probe)
    return f"{kind}{how} {timings}".strip()


def _probes(spec: JSON) -> dict[str, str]:
    """Each container's probes in one line, for findings about failing probes."""
    out = {}
    for c in p.items(spec.get("containers")):
        found = [
            _probe(kind, p.obj(c.get(f"{kind}Probe")))
            for kind in ("startup", "liveness", "readiness")
            if p.obj(c.get(f"{kind}Probe"))
        ]
        out[p.text(c.get("name"))] = "; ".join(found)
    return out


def _images(spec: JSON) -> dict[str, str]:
    containers = p.items(spec.get("initContainers")) + p.items(spec.get("containers"))
    return {p.text(c.get("name")): p.text(c.get("image")) for c in containers}


def _limits(spec: JSON) -> dict[str, tuple[float | None, float | None]]:
    out: dict[str, tuple[float | None, float | None]] = {}
    for container in p.items(spec.get("initContainers")) + p.items(spec.get("containers")):
        limits = p.obj(p.obj(container.get("resources")).get("limits"))
        memory = p.quantity(limits.get("memory"))
        cpu = p.quantity(limits.get("cpu"))
        out[p.text(container.get("name"))] = (memory, cpu)
    return out


def _container(
    status: JSON,
    limits: dict[str, tuple[float | None, float | None]],
    images: dict[str, str],
    *,
    init: bool = False,
    probes: dict[str, str] | None = None,
) -> ContainerState:
    name = p.text(status.get("name"))
    state = p.obj(status.get("state"))
    running = p.obj(state.get("running"))
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
        waiting_message=redact(p.text(waiting.get("message")))[:2000],
        last_terminated_reason=p.text(ended.get("reason")),
        last_exit_code=int(exit_code) if isinstance(exit_code, int) else None,
        last_terminated_message=redact(p.text(ended.get("message")))[:2000],
        last_terminated_at=p.timestamp(ended.get("finishedAt")),
        memory_limit_bytes=int(memory) if memory is not None else None,
        cpu_limit_cores=cpu,
        init=init,
        running_since=p.timestamp(running.get("startedAt")),
        image=images.get(name, "") or p.text(status.get("image")),
        probes=(probes or {}).get(name, ""),
    )


_VOLUME_SOURCES = (
    ("configMap", "name", "configmap"),
    ("secret", "secretName", "secret"),
    ("persistentVolumeClaim", "claimName", "pvc"),
)


def _volumes(spec: JSON) -> tuple[str, ...]:
    """`thresholds: configmap fraud-thresholds`: each volume and what it reads."""
    out = []
    for volume in p.items(spec.get("volumes")):
        for key, field, kind in _VOLUME_SOURCES:
            name = p.text(p.obj(volume.get(key)).get(field))
            if name:
                out.append(f"{p.text(volume.get('name'))}: {kind} {name}")
    return tuple(out)


def parse_pod(pod: JSON) -> PodState:
    """A `PodState` from a pod's JSON; unknown fields read as empty."""
    spec = p.obj(pod.get("spec"))
    status = p.obj(pod.get("status"))
    limits, images, probes = _limits(spec), _images(spec), _probes(spec)
    containers = [
        _container(s, limits, images, init=True)
        for s in p.items(status.get("initContainerStatuses"))
    ] + [
        _container(s, limits, images, probes=probes)
        for s in p.items(status.get("containerStatuses"))
    ]
    return PodState(
        name=_name(pod),
        phase=p.text(status.get("phase")) or "Unknown",
        ready=p.condition_true(status, "Ready") is True,
        node=p.text(spec.get("nodeName")),
        started_at=p.timestamp(status.get("startTime")),
        containers=tuple(containers),
        conditions=p.conditions(status),
        reason=p.text(status.get("reason")),
        message=redact(p.text(status.get("message")))[:1000],
        revision=pod_revision(pod),
        claims=tuple(
            name
            for v in p.items(spec.get("volumes"))
            if (name := p.text(p.obj(v.get("persistentVolumeClaim")).get("claimName")))
        ),
        created_at=p.timestamp(p.obj(pod.get("metadata")).get("creationTimestamp")),
        volumes=_volumes(spec),
    )


class PodsCollector:
    """Collects `PodsEvidence` for the alert's workload."""

    name = "Kubernetes pods"

    def __init__(self, reader: KubeReader, timeout: float) -> None:
        self._reader = reader
        self.timeout = timeout

    async def collect(self, context: TriageContext) -> PodsEvidence | None:
        """The target's pods; None when the alert names no workload."""
        found = await model_pods(context, self._reader)
        if found is None:
            return None
        query, _, states = found
        return PodsEvidence(pods=tuple(states), selector=query.describe())
