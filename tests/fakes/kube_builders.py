"""Builders of Kubernetes and KServe JSON objects and webhook bodies for the fake API.

Used by `tests.fakes.kube_scenarios`, and by any test that needs one more pod, revision or
event than a scenario gives. Shapes follow the real API (core/v1 events carry no
`eventTime`; Knative names revision pods `<revision>-deployment-<hash>-<hash>`).
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

from tests.fakes.kube_objects import JSON, rfc3339

NAMESPACE = "models"
ISVC = "wine-quality-model"
FIXTURE_ALERT_START = datetime(2026, 11, 24, 19, 0, 49, tzinfo=UTC)
ISVC_LABEL = "serving.kserve.io/inferenceservice"
IMAGE = "kserve/sklearnserver:v0.14.0"
MEMORY_LIMIT = "512Mi"

OOM_LOG = """\
INFO:kserve:Loading model from /mnt/models/model.joblib
INFO:kserve:Model size 1.9 GiB, building feature cache
Killed
"""

TRACEBACK_LOG = """\
2026-11-24 18:53:10,001 INFO kserve: Registering model: wine-quality-model
2026-11-24 18:53:10,020 INFO kserve: connecting to feature store postgresql://svc:hunter2@feast-db:5432/features
Traceback (most recent call last):
  File "/app/model.py", line 41, in predict
    row = [instance[name] for name in self.features]
  File "/app/model.py", line 41, in <listcomp>
    row = [instance[name] for name in self.features]
KeyError: 'fixed_acidity'
2026-11-24 18:53:12,400 ERROR kserve: request 8f3a2c1e failed: KeyError 'fixed_acidity'
"""


def revision_name(isvc: str, number: int) -> str:
    """The Knative Revision name KServe gives a predictor generation."""
    return f"{isvc}-predictor-{number:05d}"


def _hash(text: str, size: int) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:size]


def pod_name(revision: str, index: int) -> str:
    """`<revision>-deployment-<rs hash>-<pod hash>`, as Knative names revision pods."""
    return f"{revision}-deployment-{_hash(revision, 10)}-{_hash(f'{revision}{index}', 5)}"


def alert_payload(
    start: datetime = FIXTURE_ALERT_START, namespace: str = NAMESPACE, isvc: str = ISVC
) -> JSON:
    """An Alertmanager v4 webhook body for a firing HighErrorRate alert on the model."""
    labels = {
        "alertname": "HighErrorRate",
        "inferenceservice": isvc,
        "namespace": namespace,
        "model": isvc,
        "severity": "critical",
    }
    return {
        "version": "4",
        "groupKey": f'{{}}:{{alertname="HighErrorRate", inferenceservice="{isvc}"}}',
        "status": "firing",
        "receiver": "triage",
        "groupLabels": {"alertname": "HighErrorRate", "inferenceservice": isvc},
        "commonLabels": labels,
        "commonAnnotations": {"summary": f"Error rate above 5% for {isvc}"},
        "externalURL": "http://alertmanager:9093",
        "truncatedAlerts": 0,
        "alerts": [
            {
                "status": "firing",
                "labels": labels,
                "annotations": {"summary": f"Error rate above 5% for {isvc}"},
                "startsAt": start.isoformat().replace("+00:00", "Z"),
                "endsAt": "0001-01-01T00:00:00Z",
                "generatorURL": "http://prometheus:9090/graph",
                "fingerprint": _hash(isvc, 16),
            }
        ],
    }


# --- object builders ----------------------------------------------------------------------


def inference_service(
    *,
    latest: str,
    previous: str = "",
    ready: bool = True,
    message: str = "",
    traffic: list[tuple[str, int]] | None = None,
    namespace: str = NAMESPACE,
    name: str = ISVC,
    created: datetime,
) -> JSON:
    """A serverless InferenceService whose predictor's latest revision is `latest`."""
    component: JSON = {
        "latestCreatedRevision": latest,
        "latestReadyRevision": latest if ready else previous,
        "latestRolledoutRevision": latest if ready else previous,
        "traffic": [
            {"revisionName": rev, "percent": pct, "latestRevision": rev == latest}
            for rev, pct in (traffic or [(latest if ready else previous, 100)])
        ],
    }
    if previous:
        component["previousRolledoutRevision"] = previous
    state = "True" if ready else "False"
    conditions = [
        {"type": kind, "status": state, "lastTransitionTime": rfc3339(created)}
        for kind in ("IngressReady", "PredictorReady", "Ready")
    ]
    if message:
        for condition in conditions:
            condition |= {"reason": "RevisionFailed", "message": message}
    return {
        "apiVersion": "serving.kserve.io/v1beta1",
        "kind": "InferenceService",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "creationTimestamp": rfc3339(created),
            "annotations": {"serving.kserve.io/deploymentMode": "Serverless"},
        },
        "spec": {
            "predictor": {
                "model": {
                    "modelFormat": {"name": "sklearn"},
                    "storageUri": f"s3://models/{name}/v3",
                }
            }
        },
        "status": {"components": {"predictor": component}, "conditions": conditions},
    }


def knative_revision(
    name: str, created: datetime, *, ready: bool = True, image: str = IMAGE, isvc: str = ISVC
) -> JSON:
    """A Knative Revision of the predictor, labelled with its InferenceService."""
    status = "True" if ready else "False"
    return {
        "apiVersion": "serving.knative.dev/v1",
        "kind": "Revision",
        "metadata": {
            "name": name,
            "namespace": NAMESPACE,
            "creationTimestamp": rfc3339(created),
            "labels": {ISVC_LABEL: isvc, "component": "predictor"},
        },
        "spec": {"containers": [{"name": "kserve-container", "image": image}]},
        "status": {"conditions": [{"type": "Ready", "status": status}]},
    }


def model_pod(
    revision: str,
    index: int,
    created: datetime,
    *,
    model_status: JSON | None = None,
    phase: str = "Running",
    isvc: str = ISVC,
    name: str = "",
) -> JSON:
    """A predictor pod: storage-initializer, kserve-container and the queue-proxy sidecar."""
    model_status = model_status or {"ready": True, "restartCount": 0, "state": {"running": {}}}
    ready = bool(model_status.get("ready"))
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name or pod_name(revision, index),
            "namespace": NAMESPACE,
            "creationTimestamp": rfc3339(created),
            "labels": {
                ISVC_LABEL: isvc,
                "serving.knative.dev/revision": revision,
                "component": "predictor",
            },
        },
        "spec": {
            "nodeName": f"node-{index % 3}",
            "initContainers": [
                {"name": "storage-initializer", "image": "kserve/storage-initializer"}
            ],
            "containers": [
                {
                    "name": "kserve-container",
                    "image": IMAGE,
                    "resources": {"limits": {"memory": MEMORY_LIMIT, "cpu": "1"}},
                },
                {"name": "queue-proxy", "image": "knative/queue"},
            ],
        },
        "status": {
            "phase": phase,
            "startTime": rfc3339(created),
            "conditions": [
                {"type": "PodScheduled", "status": "True"},
                {"type": "Ready", "status": "True" if ready else "False"},
            ],
            "initContainerStatuses": [
                {
                    "name": "storage-initializer",
                    "ready": True,
                    "restartCount": 0,
                    "state": {"terminated": {"reason": "Completed", "exitCode": 0}},
                }
            ],
            "containerStatuses": [
                {"name": "kserve-container", **model_status},
                {"name": "queue-proxy", "ready": True, "restartCount": 0, "state": {"running": {}}},
            ],
        },
    }


def core_event(about: JSON, reason: str, message: str, last: datetime, *, count: int = 1) -> JSON:
    """A core/v1 Warning event as the kubelet writes it: no `eventTime`."""
    meta = about["metadata"]
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {
            "name": f"{meta['name']}.{_hash(reason + message, 16)}",
            "namespace": meta["namespace"],
            "creationTimestamp": rfc3339(last - timedelta(minutes=5)),
        },
        "involvedObject": {
            "apiVersion": about["apiVersion"],
            "kind": about["kind"],
            "name": meta["name"],
            "namespace": meta["namespace"],
        },
        "reason": reason,
        "message": message,
        "type": "Warning",
        "count": count,
        "firstTimestamp": rfc3339(last - timedelta(minutes=5)),
        "lastTimestamp": rfc3339(last),
        "source": {"component": "kubelet"},
        "eventTime": None,
    }


def replica_set(name: str, created: datetime, *, replicas: int, number: int) -> JSON:
    """A ReplicaSet of a raw-mode predictor Deployment (one per rollout)."""
    return {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": {
            "name": name,
            "namespace": NAMESPACE,
            "creationTimestamp": rfc3339(created),
            "labels": {ISVC_LABEL: ISVC, "component": "predictor"},
            "annotations": {"deployment.kubernetes.io/revision": str(number)},
        },
        "spec": {
            "replicas": replicas,
            "template": {"spec": {"containers": [{"name": "kserve-container", "image": IMAGE}]}},
        },
        "status": {"replicas": replicas, "readyReplicas": replicas},
    }
