"""What an alert group is about (`Target`), and which labels say so (`TargetLabels`).

`TargetLabels` is configured (`config`); `triage.target` resolves a `Target` from an
alert group's labels with it; collectors read the `Target` to know where to look.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict


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


class TargetLabels(BaseModel):
    """Label names that carry each part of the target, first match wins."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    namespace: tuple[str, ...] = ("namespace", "exported_namespace", "kubernetes_namespace")
    inference_service: tuple[str, ...] = (
        "inferenceservice",
        "inference_service",
        "isvc",
        "label_serving_kserve_io_inferenceservice",  # kube_pod_labels
        "serving_kserve_io_inferenceservice",
    )
    # Knative's queue-proxy series name the revision's Service, `<isvc>-predictor`.
    knative_service: tuple[str, ...] = ("service_name", "configuration_name", "revision_name")
    deployment: tuple[str, ...] = ("deployment",)
    pod: tuple[str, ...] = ("pod", "pod_name", "kubernetes_pod_name")
    model: tuple[str, ...] = ("model", "model_name")
