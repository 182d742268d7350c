"""Cluster scenarios for the fake Kubernetes API: a KServe model in one failure state each.

Each scenario function fills a `FakeKube` with the InferenceService, its Knative
Revisions, pods, core events (read back with `eventTime: null`) and container logs of
one situation, timed relative to the alert start. Used by tests/cluster, the CLI test
(`triage-bot triage PAYLOAD.json --kubeconfig X`) and bench/triage.py::

    async with running_fake_kube() as kube:
        SCENARIOS["oom-crash-loop"](kube, FIXTURE_ALERT_START)
        kubeconfig = kube.write_kubeconfig(tmp_path / "kubeconfig")

The defaults match tests/fixtures/high-error-rate-firing.json (InferenceService
`wine-quality-model` in namespace `models`).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from tests.fakes.fake_kube import FakeKube
from tests.fakes.kube_builders import (
    FIXTURE_ALERT_START,
    ISVC,
    ISVC_LABEL,
    NAMESPACE,
    OOM_LOG,
    TRACEBACK_LOG,
    alert_payload,
    core_event,
    inference_service,
    knative_revision,
    model_pod,
    replica_set,
    revision_name,
)
from tests.fakes.kube_objects import rfc3339

__all__ = [
    "FIXTURE_ALERT_START",
    "ISVC",
    "ISVC_LABEL",
    "NAMESPACE",
    "OOM_LOG",
    "SCENARIOS",
    "TRACEBACK_LOG",
    "alert_payload",
    "revision_name",
]


# --- scenarios ----------------------------------------------------------------------------


def _history(kube: FakeKube, start: datetime) -> None:
    """Revisions 00001 (10 days old) and 00002 (3 days old) and a few unrelated objects."""
    kube.add(knative_revision(revision_name(ISVC, 1), start - timedelta(days=10)))
    kube.add(knative_revision(revision_name(ISVC, 2), start - timedelta(days=3)))
    # Noise the collectors must not pick up: another model and a Normal event.
    other = model_pod(revision_name("iris", 1), 0, start - timedelta(days=1), isvc="iris")
    kube.add(other)
    kube.add(
        core_event(other, "BackOff", "Back-off restarting failed container", start)
        | {"type": "Normal"}
    )


def healthy(kube: FakeKube, start: datetime, *, pods: int = 2) -> None:
    """Revision 00002 serving for three days, every pod ready, logs clean."""
    _history(kube, start)
    rev = revision_name(ISVC, 2)
    kube.add(
        inference_service(
            latest=rev, previous=revision_name(ISVC, 1), created=start - timedelta(days=10)
        )
    )
    for i in range(pods):
        pod = kube.add(model_pod(rev, i, start - timedelta(days=3)))
        kube.set_log(NAMESPACE, pod["metadata"]["name"], "kserve-container", "INFO:kserve:ready\n")


def oom_crash_loop(kube: FakeKube, start: datetime) -> None:
    """Revision 00002's model container is OOMKilled over and over (512Mi limit)."""
    _history(kube, start)
    rev = revision_name(ISVC, 2)
    kube.add(
        inference_service(
            latest=rev,
            previous=revision_name(ISVC, 1),
            ready=False,
            message="Revision not ready: container kserve-container is in CrashLoopBackOff",
            traffic=[(rev, 100)],
            created=start - timedelta(days=10),
        )
    )
    crashed = {
        "ready": False,
        "restartCount": 7,
        "state": {
            "waiting": {
                "reason": "CrashLoopBackOff",
                "message": "back-off 5m0s restarting failed container=kserve-container",
            }
        },
        "lastState": {
            "terminated": {
                "reason": "OOMKilled",
                "exitCode": 137,
                "finishedAt": rfc3339(start - timedelta(minutes=1)),
            }
        },
    }
    for i in range(2):
        pod = kube.add(model_pod(rev, i, start - timedelta(days=3), model_status=crashed))
        name = pod["metadata"]["name"]
        kube.set_log(NAMESPACE, name, "kserve-container", OOM_LOG, previous=True)
        kube.set_log(NAMESPACE, name, "kserve-container", "INFO:kserve:Loading model\n")
        kube.add(
            core_event(
                pod,
                "BackOff",
                "Back-off restarting failed container kserve-container",
                start,
                count=31,
            )
        )


def bad_rollout(kube: FakeKube, start: datetime) -> None:
    """Revision 00003 rolled out 8 minutes before the alert; its pods throw KeyError."""
    _history(kube, start)
    old, new = revision_name(ISVC, 2), revision_name(ISVC, 3)
    rolled = start - timedelta(minutes=8)
    kube.add(knative_revision(new, rolled, image="registry.example/wine:v3"))
    kube.add(inference_service(latest=new, previous=old, created=start - timedelta(days=10)))
    log = TRACEBACK_LOG * 25
    for i in range(2):
        pod = kube.add(model_pod(new, i, rolled))
        kube.set_log(NAMESPACE, pod["metadata"]["name"], "kserve-container", log)


def image_pull_failure(kube: FakeKube, start: datetime) -> None:
    """Revision 00003 points at an image tag that does not exist; 00002 still serves."""
    _history(kube, start)
    old, new = revision_name(ISVC, 2), revision_name(ISVC, 3)
    rolled = start - timedelta(minutes=5)
    image = "registry.example/wine:v3-typo"
    kube.add(knative_revision(new, rolled, ready=False, image=image))
    kube.add(
        inference_service(
            latest=new,
            previous=old,
            ready=False,
            message=f"Revision {new} failed: image pull back-off",
            created=start - timedelta(days=10),
        )
    )
    kube.add(model_pod(old, 0, start - timedelta(days=3)))
    waiting = {
        "ready": False,
        "restartCount": 0,
        "state": {
            "waiting": {
                "reason": "ImagePullBackOff",
                "message": f'Back-off pulling image "{image}"',
            }
        },
    }
    pod = kube.add(model_pod(new, 0, rolled, model_status=waiting, phase="Pending"))
    kube.add(
        core_event(pod, "Failed", f'Failed to pull image "{image}": not found', start, count=4)
    )
    kube.add(core_event(pod, "BackOff", f'Back-off pulling image "{image}"', start, count=12))


def raw_bad_rollout(kube: FakeKube, start: datetime) -> None:
    """Raw deployment mode: a new ReplicaSet 8 minutes before the alert throws KeyError."""
    old, new = f"{ISVC}-predictor-6d5f7c9b8", f"{ISVC}-predictor-7f8d9c6b5"
    rolled = start - timedelta(minutes=8)
    kube.add(replica_set(old, start - timedelta(days=3), replicas=0, number=1))
    kube.add(replica_set(new, rolled, replicas=1, number=2))
    isvc = inference_service(latest="", created=start - timedelta(days=10))
    isvc["metadata"]["annotations"] = {"serving.kserve.io/deploymentMode": "RawDeployment"}
    isvc["status"] = {
        "deploymentMode": "RawDeployment",
        "conditions": [{"type": "Ready", "status": "True"}],
    }
    kube.add(isvc)
    pod = kube.add(model_pod(new, 0, rolled, name=f"{new}-x7k2p"))
    kube.set_log(NAMESPACE, pod["metadata"]["name"], "kserve-container", TRACEBACK_LOG * 3)


SCENARIOS: dict[str, Callable[[FakeKube, datetime], None]] = {
    "raw-bad-rollout": raw_bad_rollout,
    "healthy": healthy,
    "oom-crash-loop": oom_crash_loop,
    "bad-rollout": bad_rollout,
    "image-pull-failure": image_pull_failure,
}
