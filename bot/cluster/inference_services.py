"""The KServe InferenceService and its rollout history.

`InferenceServiceCollector` is called by the triage pipeline. It reads the
InferenceService (serving.kserve.io/v1beta1), then its revisions: Knative Revisions in
serverless mode, ReplicaSets in raw deployment mode (both labelled
`serving.kserve.io/inferenceservice=<name>`). The result is an
`InferenceServiceEvidence`; `triage.verdict` reads the revision times from it.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import datetime

from bot.cluster import parsing as p
from bot.cluster.pods import inference_service_of
from bot.cluster.reader import JSON, KubeReader, NotFound
from bot.model.collector import CollectorError, TriageContext
from bot.model.kserve_evidence import (
    RAW_MODES,
    InferenceServiceEvidence,
    ModelStatus,
    Revision,
    TrafficTarget,
)
from bot.redaction import redact

MODE_ANNOTATION = "serving.kserve.io/deploymentMode"
_SOURCE_URI_ANNOTATIONS = (
    "internal.serving.kserve.io/storage-initializer-sourceuri",
    "serving.kserve.io/storage-initializer-sourceuri",
)
# Model frameworks of the older predictor spec (`predictor.sklearn.storageUri`, ...).
_FRAMEWORKS = (
    "model",
    "sklearn",
    "xgboost",
    "lightgbm",
    "pytorch",
    "tensorflow",
    "onnx",
    "triton",
    "pmml",
    "paddle",
    "huggingface",
)


def deployment_mode(isvc: JSON) -> str:
    """`Serverless` or `RawDeployment`, from the status or the annotation."""
    meta = p.obj(isvc.get("metadata"))
    mode = p.text(p.obj(isvc.get("status")).get("deploymentMode"))
    mode = mode or p.text(p.obj(meta.get("annotations")).get(MODE_ANNOTATION))
    return mode or "Serverless"


def _model_format(predictor: JSON) -> str:
    """`xgboost 3`: the model format and version the predictor asks a runtime for."""
    for framework in _FRAMEWORKS:
        spec = p.obj(predictor.get(framework))
        if spec:
            fmt = p.obj(spec.get("modelFormat"))
            name = p.text(fmt.get("name")) or (framework if framework != "model" else "")
            return f"{name} {p.text(fmt.get('version'))}".strip()
    return ""


def _predictor_model(predictor: JSON) -> tuple[str, str]:
    for framework in _FRAMEWORKS:
        spec = p.obj(predictor.get(framework))
        if spec:
            runtime = p.text(spec.get("runtime")) or p.text(
                p.obj(spec.get("modelFormat")).get("name")
            )
            return p.text(spec.get("storageUri")), runtime or framework
    return "", ""


def spec_changed_at(isvc: JSON) -> datetime | None:
    """When a client last wrote the spec, from `managedFields` (status writes excluded)."""
    times = []
    for entry in p.items(p.obj(isvc.get("metadata")).get("managedFields")):
        if entry.get("subresource"):
            continue
        if "f:spec" in p.obj(entry.get("fieldsV1")):
            moment = p.timestamp(entry.get("time"))
            if moment is not None:
                times.append(moment)
    return max(times, default=None)


def _model_container(pod_spec: JSON) -> JSON:
    containers = p.items(pod_spec.get("containers"))
    model = next((c for c in containers if c.get("name") == "kserve-container"), None)
    return model or (containers[0] if containers else {})


def _first_image(pod_spec: JSON) -> str:
    return p.text(_model_container(pod_spec).get("image"))


def _env(pod_spec: JSON) -> tuple[str, ...]:
    """`NAME=<digest>` of the model container's env: enough to see a change, no value."""
    out = []
    for var in p.items(_model_container(pod_spec).get("env")):
        value = var.get("value")
        source = json.dumps(value if value is not None else var.get("valueFrom"), sort_keys=True)
        digest = hashlib.sha256(source.encode()).hexdigest()[:8]
        out.append(f"{p.text(var.get('name'))}={digest}")
    return tuple(out)


_SECRET_FLAG = re.compile(r"pass|secret|token|key|cred|auth|cert", re.IGNORECASE)


def _args(pod_spec: JSON) -> tuple[str, ...]:
    """`--flag=<digest>` of the model container's flags: a changed flag shows, its value not."""
    out = []
    raw_args = _model_container(pod_spec).get("args")
    args = [str(a) for a in raw_args] if isinstance(raw_args, list) else []
    for i, text in enumerate(args):
        if not text.startswith("-"):
            continue
        flag, eq, value = text.partition("=")
        if not eq and i + 1 < len(args) and not args[i + 1].startswith("-"):
            value = args[i + 1]  # `--max-model-len 32768` as two items
        # A flag's value is shown when short and not secret-named (`--max-model-len=32768`
        # tells what changed); others only by digest. The redaction boundary runs after.
        plain = len(value) <= 40 and not _SECRET_FLAG.search(flag)
        shown = value if plain else "#" + hashlib.sha256(value.encode()).hexdigest()[:8]
        out.append(f"{flag}={shown}")
    return tuple(out)


def _max_scale(meta: JSON) -> int | None:
    annotations = p.obj(meta.get("annotations"))
    raw = p.text(annotations.get("autoscaling.knative.dev/max-scale")) or p.text(
        annotations.get("autoscaling.knative.dev/maxScale")
    )
    return int(raw) if raw.isdigit() else None


def _generation(value: object) -> int | None:
    return value if isinstance(value, int) else None


def model_status(status: JSON) -> ModelStatus | None:
    """KServe's `status.modelStatus`, when the controller has written one."""
    raw = p.obj(status.get("modelStatus"))
    if not raw:
        return None
    states = p.obj(raw.get("states"))
    failure = p.obj(raw.get("lastFailureInfo"))
    code = failure.get("exitCode")
    return ModelStatus(
        active_state=p.text(states.get("activeModelState")),
        target_state=p.text(states.get("targetModelState")),
        transition_status=p.text(raw.get("transitionStatus")),
        failure_reason=p.text(failure.get("reason")),
        # Redacted before the cut: half a secret has no shape left to recognise.
        failure_message=redact(p.text(failure.get("message")))[:500],
        failure_exit_code=code if isinstance(code, int) else None,
        failure_at=p.timestamp(failure.get("time")),
    )


def _source_uri(meta: JSON) -> str:
    """The model URI the storage initializer was given, from the object's annotations."""
    annotations = p.obj(meta.get("annotations"))
    return next((p.text(annotations[a]) for a in _SOURCE_URI_ANNOTATIONS if a in annotations), "")


def knative_revision(revision: JSON) -> Revision:
    """A `Revision` from a Knative Revision object."""
    meta = p.obj(revision.get("metadata"))
    return Revision(
        name=p.text(meta.get("name")),
        created_at=p.timestamp(meta.get("creationTimestamp")),
        ready=p.condition_true(p.obj(revision.get("status")), "Ready"),
        storage_uri=_source_uri(meta),
        image=_first_image(p.obj(revision.get("spec"))),
        conditions=p.conditions(p.obj(revision.get("status"))),
        env=_env(p.obj(revision.get("spec"))),
        max_scale=_max_scale(meta),
        args=_args(p.obj(revision.get("spec"))),
    )


def replica_set_revision(replica_set: JSON) -> Revision:
    """A `Revision` from a ReplicaSet of a raw-mode predictor Deployment."""
    meta = p.obj(replica_set.get("metadata"))
    spec = p.obj(replica_set.get("spec"))
    status = p.obj(replica_set.get("status"))
    wanted = int(spec.get("replicas") or 0)
    ready = int(status.get("readyReplicas") or 0) >= wanted if wanted else None
    template = p.obj(spec.get("template"))
    return Revision(
        name=p.text(meta.get("name")),
        created_at=p.timestamp(meta.get("creationTimestamp")),
        ready=ready,
        storage_uri=_source_uri(p.obj(template.get("metadata"))),
        image=_first_image(p.obj(template.get("spec"))),
        env=_env(p.obj(template.get("spec"))),
        args=_args(p.obj(template.get("spec"))),
    )


def parse_inference_service(
    isvc: JSON, revisions: tuple[Revision, ...] = (), notes: tuple[str, ...] = ()
) -> InferenceServiceEvidence:
    """An `InferenceServiceEvidence` from the object and its revisions (oldest first)."""
    meta = p.obj(isvc.get("metadata"))
    spec_predictor = p.obj(p.obj(isvc.get("spec")).get("predictor"))
    status = p.obj(isvc.get("status"))
    component = p.obj(p.obj(status.get("components")).get("predictor"))
    storage_uri, runtime = _predictor_model(spec_predictor)
    canary = spec_predictor.get("canaryTrafficPercent")
    generation = meta.get("generation")
    return InferenceServiceEvidence(
        name=p.text(meta.get("name")),
        namespace=p.text(meta.get("namespace")),
        ready=p.condition_true(status, "Ready"),
        deployment_mode=deployment_mode(isvc),
        conditions=p.conditions(status),
        latest_ready_revision=p.text(component.get("latestReadyRevision")),
        latest_created_revision=p.text(component.get("latestCreatedRevision")),
        previous_rolledout_revision=p.text(component.get("previousRolledoutRevision")),
        canary_traffic_percent=int(canary) if isinstance(canary, int) else None,
        storage_uri=storage_uri,
        runtime=runtime,
        traffic=tuple(
            TrafficTarget(
                revision=p.text(t.get("revisionName")),
                percent=int(t.get("percent") or 0),
                latest=bool(t.get("latestRevision")),
                tag=p.text(t.get("tag")),
            )
            for t in p.items(component.get("traffic"))
        ),
        revisions=tuple(
            sorted(revisions, key=lambda r: (r.created_at is None, r.created_at, r.name))
        ),
        generation=generation if isinstance(generation, int) else None,
        spec_changed_at=spec_changed_at(isvc),
        notes=notes,
        model_status=model_status(status),
        observed_generation=_generation(status.get("observedGeneration")),
        model_format=_model_format(spec_predictor),
    )


class InferenceServiceCollector:
    """Collects `InferenceServiceEvidence` when the alert names an InferenceService."""

    name = "KServe InferenceService"

    def __init__(self, reader: KubeReader, timeout: float) -> None:
        self._reader = reader
        self.timeout = timeout

    async def collect(self, context: TriageContext) -> InferenceServiceEvidence | None:
        """The InferenceService and its revisions; None when the alert names none."""
        target = context.target
        if target.names_workload and not target.namespace:
            raise CollectorError(f"the alert names {target.describe()} but no namespace")
        name = await inference_service_of(context, self._reader)
        if not name or not target.namespace:
            return None
        namespace = target.namespace
        try:
            isvc = await self._reader.inference_service(namespace, name)
        except NotFound as exc:
            message = f"InferenceService {namespace}/{name} not found (Kubernetes API: 404)"
            raise CollectorError(message) from exc
        revisions: tuple[Revision, ...] = ()
        notes: tuple[str, ...] = ()
        try:
            if deployment_mode(isvc) in RAW_MODES:
                found = await self._reader.replica_sets(namespace, name)
                revisions = tuple(replica_set_revision(r) for r in found)
            else:
                found = await self._reader.knative_revisions(namespace, name)
                revisions = tuple(knative_revision(r) for r in found)
        except CollectorError as exc:  # the InferenceService alone is still worth showing
            notes = (f"revisions unavailable: {exc}",)
        return parse_inference_service(isvc, revisions, notes)
