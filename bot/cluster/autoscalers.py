"""The autoscalers of the model: HorizontalPodAutoscalers (raw mode), Knative PodAutoscalers.

`AutoscalerCollector` is called by the triage pipeline when the alert names an
InferenceService or a Deployment. A scaler at its maximum while the model is slow or
failing says the load outgrew the replicas: capacity, not code. Reads go through
`cluster.reader`; the result is an `AutoscalerEvidence`.
"""

from __future__ import annotations

import asyncio

from bot.cluster import parsing as p
from bot.cluster.pods import inference_service_of
from bot.cluster.reader import JSON, KubeReader
from bot.model.cluster_evidence import AutoscalerEvidence, Scaler
from bot.model.collector import CollectorError, TriageContext, workload_namespace


def _int(value: object) -> int | None:
    return value if isinstance(value, int) else None


def parse_hpa(hpa: JSON) -> Scaler:
    """A `Scaler` from an autoscaling/v2 HorizontalPodAutoscaler."""
    spec, status = p.obj(hpa.get("spec")), p.obj(hpa.get("status"))
    return Scaler(
        kind="HorizontalPodAutoscaler",
        name=p.text(p.obj(hpa.get("metadata")).get("name")),
        min_replicas=_int(spec.get("minReplicas")) or 1,
        max_replicas=_int(spec.get("maxReplicas")),
        current_replicas=_int(status.get("currentReplicas")),
        desired_replicas=_int(status.get("desiredReplicas")),
        conditions=p.conditions(status),
    )


def parse_pod_autoscaler(pa: JSON) -> Scaler:
    """A `Scaler` from a Knative PodAutoscaler; its bounds live in annotations."""
    meta, status = p.obj(pa.get("metadata")), p.obj(pa.get("status"))
    annotations = p.obj(meta.get("annotations"))

    def bound(*keys: str) -> int | None:
        raw = next((p.text(annotations[k]) for k in keys if k in annotations), "")
        return int(raw) if raw.isdigit() else None

    return Scaler(
        kind="PodAutoscaler",
        name=p.text(meta.get("name")),
        min_replicas=bound("autoscaling.knative.dev/min-scale", "autoscaling.knative.dev/minScale"),
        max_replicas=bound("autoscaling.knative.dev/max-scale", "autoscaling.knative.dev/maxScale"),
        current_replicas=_int(status.get("actualScale")),
        desired_replicas=_int(status.get("desiredScale")),
        conditions=p.conditions(status),
    )


def _scale_target(hpa: JSON) -> str:
    return p.text(p.obj(p.obj(hpa.get("spec")).get("scaleTargetRef")).get("name"))


class AutoscalerCollector:
    """Collects `AutoscalerEvidence` for the alert's InferenceService or Deployment."""

    name = "Kubernetes autoscalers"

    def __init__(self, reader: KubeReader, timeout: float) -> None:
        self._reader = reader
        self.timeout = timeout

    async def collect(self, context: TriageContext) -> AutoscalerEvidence | None:
        """The scalers of the workload; None when the alert names none."""
        target = context.target
        namespace = workload_namespace(target)
        isvc = await inference_service_of(context, self._reader) if namespace else ""
        workload = isvc or target.deployment
        if not workload or namespace is None:
            return None
        reads = [self._reader.autoscalers(namespace)]
        if isvc:
            reads.append(self._reader.pod_autoscalers(namespace, isvc))
        results = await asyncio.gather(*reads, return_exceptions=True)
        scalers: list[Scaler] = []
        errors = [r for r in results if isinstance(r, BaseException)]
        if isinstance(results[0], list):
            # KServe names the predictor's HPA and Deployment `<isvc>-predictor`.
            mine = [h for h in results[0] if _scale_target(h).startswith(workload)]
            scalers += [parse_hpa(h) for h in mine]
        if len(results) > 1 and isinstance(results[1], list):
            scalers += [parse_pod_autoscaler(pa) for pa in results[1]]
        if errors and len(errors) == len(results):
            first = errors[0]
            if isinstance(first, CollectorError):
                raise first
            raise CollectorError(f"reading autoscalers failed: {type(first).__name__}: {first}")
        return AutoscalerEvidence(scalers=tuple(scalers))
