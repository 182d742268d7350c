"""Which workload an alert group is about, read from its labels.

Called by the pipeline before any collector runs; the label names come from the config
(`TargetLabels`) because every team names them differently.
"""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import BaseModel, ConfigDict

from bot.triage.evidence import Target


class TargetLabels(BaseModel):
    """Label names that carry each part of the target, first match wins."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    namespace: tuple[str, ...] = ("namespace", "exported_namespace", "kubernetes_namespace")
    inference_service: tuple[str, ...] = ("inferenceservice", "inference_service", "isvc")
    deployment: tuple[str, ...] = ("deployment",)
    pod: tuple[str, ...] = ("pod", "pod_name", "kubernetes_pod_name")
    model: tuple[str, ...] = ("model", "model_name")


def _first(labels: Mapping[str, str], names: tuple[str, ...]) -> str | None:
    return next((labels[n] for n in names if labels.get(n)), None)


def resolve_target(labels: Mapping[str, str], names: TargetLabels | None = None) -> Target:
    """The target named by a label set (usually the group's common labels)."""
    names = names or TargetLabels()
    return Target(
        namespace=_first(labels, names.namespace),
        inference_service=_first(labels, names.inference_service),
        deployment=_first(labels, names.deployment),
        pod=_first(labels, names.pod),
        model=_first(labels, names.model) or _first(labels, names.inference_service),
    )
