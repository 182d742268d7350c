"""Shared views of the corpus for its tests: the cases, and what a triage could read.

Used by test_corpus_schema.py (each case), test_corpus_mix.py (the whole) and
test_series_notation.py (the promtool notation).
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from tests.corpus.schema import Case, load_cases

CASES = load_cases()
SLUGS = sorted(CASES)
CLUSTER_SCOPED = {"Node", "Namespace", "PersistentVolume", "ClusterServingRuntime"}
TIME_KEYS = {
    "creationTimestamp",
    "deletionTimestamp",
    "lastTransitionTime",
    "lastUpdateTime",
    "lastHeartbeatTime",
    "lastProbeTime",
    "startTime",
    "startedAt",
    "finishedAt",
    "firstTimestamp",
    "lastTimestamp",
    "eventTime",
    "lastScaleTime",
    "lastObservedTime",
    "time",
}
ISVC_LABEL = "serving.kserve.io/inferenceservice"
# Anything in a snapshot is read at most a few minutes after the alert fired.
READ_WINDOW = timedelta(minutes=10)


def evidence_text(case: Case) -> str:
    """Everything a triage could read, lower-cased: objects, logs, the alert, series, drift."""
    parts = [json.dumps(case.objects), json.dumps(case.alert.model_dump())]
    parts += [log.text for log in case.logs]
    if case.prometheus:
        parts += [series.series for series in case.prometheus.series]
    if case.drift and case.drift.via != "none":
        parts.append(json.dumps(case.drift.model_dump()))
    return "\n".join(parts).lower()


def walk(node: Any, path: str = "") -> list[tuple[str, str, Any]]:
    """(path, key, value) for every mapping entry in a JSON tree."""
    found: list[tuple[str, str, Any]] = []
    if isinstance(node, dict):
        for key, value in node.items():
            found.append((path, key, value))
            found += walk(value, f"{path}.{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += walk(value, f"{path}[{index}]")
    return found


def objects_of(case: Case, kind: str) -> list[dict[str, Any]]:
    """The snapshot's objects of one kind."""
    return [obj for obj in case.objects if obj.get("kind") == kind]


def named(case: Case, kinds: set[str]) -> set[str]:
    """Names of the snapshot's objects of these kinds."""
    return {obj["metadata"]["name"] for obj in case.objects if obj.get("kind") in kinds}


def is_raw(case: Case) -> bool:
    """Whether the case's model runs in KServe's RawDeployment mode."""
    for isvc in objects_of(case, "InferenceService"):
        mode = isvc["metadata"].get("annotations", {}).get("serving.kserve.io/deploymentMode")
        if mode == "RawDeployment":
            return True
    return False


def target_isvc(case: Case) -> str:
    """The InferenceService an alert is about, through a pod or Deployment label if need be."""
    labels = case.alert.labels
    if "inferenceservice" in labels:
        return labels["inferenceservice"]
    if "model_name" in labels and labels["model_name"] in named(case, {"InferenceService"}):
        return labels["model_name"]
    # Knative's queue-proxy metrics name the revision and its Knative Service, not the model.
    for obj in objects_of(case, "Revision"):
        meta = obj["metadata"]
        if meta["name"] == labels.get("revision_name") or (
            "revision_name" not in labels
            and meta["labels"].get("serving.knative.dev/service") == labels.get("service_name")
        ):
            return str(meta["labels"][ISVC_LABEL])
    for obj in case.objects:
        if obj["kind"] in ("Pod", "Deployment") and obj["metadata"]["name"] in (
            labels.get("pod"),
            labels.get("deployment"),
        ):
            return str(obj["metadata"]["labels"][ISVC_LABEL])
    raise AssertionError(f"no target for {labels}")
