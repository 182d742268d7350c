"""KServe and batch objects for the action tests, in the API's JSON shapes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from bot.actions.base import ActionRequest
from bot.model.actions import ActionName
from tests.slack.reports import T0, drift, report

JSON = dict[str, Any]
NS, NAME = "models", "wine"
ISVC = ("serving.kserve.io/v1beta1", "inferenceservices", NS, NAME)
LABEL = "serving.kserve.io/inferenceservice"


def request(
    action: ActionName, arg: str = "", user: str = "U1", now: datetime | None = None
) -> ActionRequest:
    """A request from a click on the standard test report (with drift evidence)."""
    moment = now or datetime(2026, 11, 24, 20, 0, tzinfo=UTC)
    return ActionRequest(action, "0123456789abcdef", NS, NAME, arg, user, report(drift()), moment)


def serverless_isvc(previous: str = "wine-predictor-00001") -> JSON:
    """Mid-rollout: latest 00002 is failing, 00001 was the last fully rolled out."""
    predictor: JSON = {
        "latestCreatedRevision": "wine-predictor-00002",
        "latestReadyRevision": "wine-predictor-00002",
        "latestRolledoutRevision": "wine-predictor-00002",
        "traffic": [{"revisionName": "wine-predictor-00002", "percent": 100}],
    }
    if previous:
        predictor["previousRolledoutRevision"] = previous
    return {
        "apiVersion": "serving.kserve.io/v1beta1",
        "kind": "InferenceService",
        "metadata": {"name": NAME, "namespace": NS},
        "spec": {"predictor": {"model": {"modelFormat": {"name": "sklearn"},
                                         "storageUri": "gs://models/wine/v2"}}},
        "status": {
            "components": {"predictor": predictor},
            "conditions": [{"type": "Ready", "status": "False", "reason": "RevisionFailed"}],
        },
    }  # fmt: skip


def raw_isvc() -> JSON:
    """RawDeployment mode: no revisions, the spec names v2 and runtime 1.3."""
    isvc = serverless_isvc(previous="")
    isvc["metadata"]["annotations"] = {"serving.kserve.io/deploymentMode": "RawDeployment"}
    isvc["spec"]["predictor"]["model"]["runtimeVersion"] = "1.3"
    isvc["status"] = {"conditions": [{"type": "Ready", "status": "False"}]}
    return isvc


def replica_set(revision: int, storage_uri: str, tag: str) -> JSON:
    """A ReplicaSet of the raw-mode predictor Deployment."""
    created = T0 - timedelta(days=3 - revision)
    return {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": {
            "name": f"wine-predictor-{revision}abc",
            "namespace": NS,
            "labels": {LABEL: NAME},
            "creationTimestamp": created.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "annotations": {"deployment.kubernetes.io/revision": str(revision)},
        },
        "spec": {
            "replicas": 1,
            "template": {
                "metadata": {"annotations": {
                    "serving.kserve.io/storage-initializer-sourceuri": storage_uri}},
                "spec": {"containers": [{"name": "kserve-container",
                                         "image": f"kserve/sklearnserver:{tag}"}]},
            },
        },
        "status": {"replicas": 1, "readyReplicas": 1},
    }  # fmt: skip


JOB_TEMPLATE: JSON = {
    "apiVersion": "batch/v1",
    "kind": "Job",
    "metadata": {"labels": {"team": "ml"}},
    "spec": {
        "backoffLimit": 0,
        "template": {"spec": {"containers": [{"name": "train", "image": "trainer:1",
                                              "env": [{"name": "MODEL", "value": "stale"},
                                                      {"name": "KEEP", "value": "1"}]}]}},
    },
}  # fmt: skip
