"""The verdict rules as tables: evidence in, category, confidence, reasons and action out."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.model.alert import Notification
from bot.model.cluster_evidence import (
    Condition,
    ContainerState,
    EventsEvidence,
    KubeEvent,
    LogExcerpt,
    LogsEvidence,
    PodsEvidence,
    PodState,
)
from bot.model.evidence import Evidence
from bot.model.kserve_evidence import InferenceServiceEvidence, Revision
from bot.model.signal_evidence import DriftEvidence, FeatureDrift, MetricsEvidence, ResourceUse
from bot.model.target import Target
from bot.triage.verdict import decide

START = datetime(2026, 11, 24, 19, 0, tzinfo=UTC)
TARGET = Target(namespace="models", inference_service="wine", model="wine")
MI = 2**20
R1, R2, R3 = "wine-predictor-00001", "wine-predictor-00002", "wine-predictor-00003"


def notification(start: datetime = START) -> Notification:
    return Notification.model_validate(
        {
            "version": "4",
            "groupKey": "g",
            "status": "firing",
            "receiver": "r",
            "commonLabels": {"namespace": "models", "inferenceservice": "wine"},
            "alerts": [{"status": "firing", "labels": {"a": "b"}, "startsAt": start.isoformat()}],
        }
    )


def container(**kw: Any) -> ContainerState:
    return ContainerState(**{"name": "kserve-container", "ready": True, **kw})


def pods(*states: ContainerState, ready: bool | None = None, **pod: Any) -> PodsEvidence:
    all_ready = all(s.ready for s in states) if ready is None else ready
    return PodsEvidence(
        pods=tuple(
            PodState(name=f"{R2}-deployment-abc-{i}", phase="Running", ready=all_ready,
                     containers=(s,), **pod)
            for i, s in enumerate(states)
        )
    )  # fmt: skip


HEALTHY = pods(container(), container())


def isvc(
    *ages: float, mode: str = "Serverless", previous: str = "", **kw: Any
) -> InferenceServiceEvidence:
    """Revisions 00001.. created `ages` minutes before START (negative: after)."""
    revisions = tuple(
        Revision(f"wine-predictor-{i + 1:05d}", START - timedelta(minutes=age), ready=True)
        for i, age in enumerate(ages)
    )
    return InferenceServiceEvidence(
        name="wine", namespace="models", ready=True, deployment_mode=mode, revisions=revisions,
        previous_rolledout_revision=previous, **kw,
    )  # fmt: skip


def logs(pod: str, *lines: str, traceback: bool = True) -> LogsEvidence:
    excerpt = LogExcerpt(pod, "kserve-container", False, lines, len(lines), traceback)
    return LogsEvidence(excerpts=(excerpt,))


def drift(*drifted: tuple[str, float], stable: int = 3, **kw: Any) -> DriftEvidence:
    features = tuple(
        FeatureDrift(name, "ks", 0.3, 1e-9, True, 0.3, START - timedelta(minutes=ago))
        for name, ago in drifted
    ) + tuple(FeatureDrift(f"f{i}", "ks", 0.01, 0.7, False) for i in range(stable))
    share = len(drifted) / len(features)
    return DriftEvidence(model="wine", drift_share=share, features=features, **kw)


OOM = container(
    ready=False,
    restart_count=7,
    waiting_reason="CrashLoopBackOff",
    last_terminated_reason="OOMKilled",
    last_exit_code=137,
    memory_limit_bytes=512 * MI,
)
CRASH = container(
    ready=False, restart_count=4, waiting_reason="CrashLoopBackOff",
    last_terminated_reason="Error", last_exit_code=1,
)  # fmt: skip
PULL = container(
    ready=False,
    waiting_reason="ImagePullBackOff",
    waiting_message='Back-off pulling image "registry.example/wine:v3-typo"',
)
TRACE = "KeyError: 'fixed_acidity' (traceback at File \"/app/model.py\", line 41, in predict)"


@dataclass(frozen=True)
class Case:
    id: str
    evidence: tuple[Evidence, ...]
    category: str
    action_kind: str
    min_confidence: float = 0.0
    max_confidence: float = 1.0
    reason: str = ""  # a substring one of the reasons must contain
    action: str = ""  # a substring of the action
    details: dict[str, str] = field(default_factory=dict)
    target: Target = TARGET


CASES = [
    Case(
        "oom",
        (pods(OOM),),
        "infrastructure",
        "raise-memory",
        0.9,
        0.9,
        reason="OOMKilled (exit 137), 7 restarts; limit 512Mi",
        action="from 512Mi to 1Gi",
        details={
            "memory_limit": "512Mi",
            "suggested_memory_limit": "1Gi",
            "container": "kserve-container",
        },
    ),
    Case(
        "oom-without-limit",
        (pods(container(ready=False, last_terminated_reason="OOMKilled")),),
        "infrastructure",
        "raise-memory",
        action="Set a memory limit",
    ),
    Case(
        "image-pull",
        (pods(PULL),),
        "infrastructure",
        "fix-image",
        0.95,
        reason="cannot pull its image registry.example/wine:v3-typo: ImagePullBackOff",
        details={"image": "registry.example/wine:v3-typo"},
    ),
    Case(
        "config-error",
        (
            pods(
                container(
                    ready=False,
                    waiting_reason="CreateContainerConfigError",
                    waiting_message='secret "wine-s3" not found',
                )
            ),
        ),
        "infrastructure",
        "fix-config",
        0.9,
        reason='secret "wine-s3" not found',
    ),
    Case(
        "failed-scheduling",
        (
            pods(container(ready=False), ready=False),
            EventsEvidence(
                (
                    KubeEvent(
                        "FailedScheduling",
                        "0/3 nodes are available: 3 Insufficient memory.",
                        "Pod",
                        f"{R2}-x",
                        3,
                    ),
                )
            ),
        ),
        "infrastructure",
        "fix-scheduling",
        0.85,
        reason="Insufficient memory",
    ),
    Case(
        "unschedulable-condition",
        (
            pods(
                container(ready=False),
                ready=False,
                conditions=(
                    Condition("PodScheduled", "False", "Unschedulable", "0/3 nodes: taints"),
                ),
            ),
        ),
        "infrastructure",
        "fix-scheduling",
        reason="cannot be scheduled: 0/3 nodes: taints",
    ),
    Case(
        "evicted",
        (
            pods(
                container(ready=False),
                ready=False,
                reason="Evicted",
                message="The node was low on resource: memory.",
            ),
        ),
        "infrastructure",
        "investigate",
        0.8,
        reason="evicted: The node was low on resource",
    ),
    Case(
        "failed-mount",
        (
            HEALTHY,
            EventsEvidence(
                (KubeEvent("FailedMount", 'configmap "wine-cfg" not found', "Pod", "p"),)
            ),
        ),
        "infrastructure",
        "fix-config",
        0.8,
        reason='FailedMount on pod p (x1): configmap "wine-cfg"',
    ),
    Case(
        "memory-near-limit",
        (
            HEALTHY,
            MetricsEvidence(resources=(ResourceUse("p", "kserve-container", 495 * MI, 512 * MI),)),
        ),
        "infrastructure",
        "raise-memory",
        0.65,
        0.65,
        reason="used 97% of its 512Mi memory limit",
        details={"suggested_memory_limit": "1Gi"},
    ),
    Case(
        "crash-loop-alone",
        (pods(CRASH),),
        "infrastructure",
        "investigate",
        0.6,
        0.6,
        reason="CrashLoopBackOff, 4 restarts, last exit code 1 (Error)",
    ),
    Case(
        "rollout-with-traceback",
        (isvc(4000, 3000, 8, previous=R2), HEALTHY, logs(f"{R3}-deployment-x-1", TRACE)),
        "rollout",
        "rollback",
        0.8,
        reason=f"revision {R3} rolled out 8 minutes before the alert",
        action=f"Roll back to {R2}: set canaryTrafficPercent: 0",
        details={
            "rollback_to": R2,
            "bad_revision": R3,
            "inference_service": "wine",
            "namespace": "models",
            "deployment_mode": "Serverless",
        },
    ),
    Case(
        "rollout-crash-loop-beats-crash-loop",
        (isvc(4000, 12, previous=R1), pods(CRASH), logs(f"{R2}-deployment-abc-0", TRACE)),
        "rollout",
        "rollback",
        0.75,
        reason="KeyError: 'fixed_acidity'",
        details={"rollback_to": R1},
    ),
    Case(
        "rollout-without-errors",
        (isvc(4000, 30), HEALTHY),
        "rollout",
        "rollback",
        0.45,
        0.55,
        details={"rollback_to": R1},
    ),
    Case(
        "rollout-hours-ago-is-not-recent",
        (isvc(4000, 180), HEALTHY),
        "unknown",
        "investigate",
        reason="no revision or spec change in the 60 minutes before the alert",
    ),
    Case(
        "revision-after-the-alert-is-not-the-cause",
        (isvc(4000, -20), HEALTHY),
        "unknown",
        "investigate",
    ),
    Case(
        "rollout-raw-mode",
        (isvc(4000, 10, mode="RawDeployment"), HEALTHY),
        "rollout",
        "rollback",
        action="restore the previous predictor spec",
        details={"rollback_to": R1},
    ),
    Case(
        "spec-change-without-new-revision",
        (
            isvc(4000, spec_changed_at=START - timedelta(minutes=3), latest_created_revision=R1),
            HEALTHY,
        ),
        "rollout",
        "investigate",
        reason="the spec of wine changed 3 minutes before the alert",
    ),
    Case(
        "single-revision-has-nothing-to-roll-back-to",
        (isvc(10), HEALTHY),
        "rollout",
        "investigate",
        action="no earlier revision is known",
    ),
    Case(
        "oom-confined-to-a-new-revision-is-the-rollout",
        (isvc(4000, 8, previous=R1), pods(OOM)),
        "rollout",
        "rollback",
        0.9,
        reason="rolled out 8 minutes before the alert",
        action=f"Roll back to {R1}",
        details={"rollback_to": R1},
    ),
    Case(
        "data-drift-healthy-pods",
        (HEALTHY, drift(("alcohol", 40), ("sulphates", 20))),
        "data-drift",
        "retrain",
        0.75,
        reason="2 of 5 features drifted (40%): alcohol, sulphates",
        details={"drifted_features": "alcohol,sulphates", "model": "wine"},
    ),
    Case(
        "dataset-drift-flag",
        (HEALTHY, drift(("a", 5), dataset_drift=True)),
        "data-drift",
        "retrain",
        0.7,
        reason="drift began 5 minutes before the alert",
    ),
    Case(
        "drift-after-the-alert-is-weak",
        (HEALTHY, drift(("alcohol", -30))),
        "data-drift",
        "retrain",
        0.4,
        0.5,
        reason="drift began 30 minutes after the alert started",
    ),
    Case(
        "drift-loses-to-a-crash",
        (pods(OOM), drift(("alcohol", 40))),
        "infrastructure",
        "raise-memory",
    ),
    Case(
        "drift-loses-to-a-bad-rollout",
        (isvc(4000, 8), HEALTHY, logs(f"{R2}-deployment-x-1", TRACE), drift(("alcohol", 40))),
        "rollout",
        "rollback",
    ),
    Case(
        "concept-drift",
        (HEALTHY, drift(accuracy=0.71, accuracy_baseline=0.86)),
        "concept-drift",
        "retrain",
        0.7,
        reason="accuracy fell to 0.71 from a baseline of 0.86",
    ),
    Case(
        "small-accuracy-dip-is-nothing",
        (HEALTHY, drift(accuracy=0.84, accuracy_baseline=0.86)),
        "unknown",
        "investigate",
        reason="no drifted features",
    ),
    Case(
        "accuracy-down-with-drifted-inputs-is-data-drift",
        (HEALTHY, drift(("alcohol", 40), accuracy=0.7, accuracy_baseline=0.86)),
        "data-drift",
        "retrain",
        reason="accuracy 0.7 against a baseline of 0.86",
    ),
    Case(
        "failing-probes",
        (
            pods(container(ready=False), ready=False),
            EventsEvidence(
                (KubeEvent("Unhealthy", "Readiness probe failed: HTTP 503", "Pod", "p", 9),)
            ),
        ),
        "infrastructure",
        "investigate",
        0.5,
        0.5,
        reason="Unhealthy on pod p (x9): Readiness probe failed: HTTP 503",
    ),
    Case(
        "failing-probes-after-a-rollout-is-the-rollout",
        (
            isvc(4000, 8),
            pods(container(ready=False), ready=False),
            EventsEvidence((KubeEvent("Unhealthy", "Readiness probe failed", "Pod", "p", 9),)),
            logs(f"{R2}-deployment-x-1", TRACE),
        ),
        "rollout",
        "rollback",
        0.75,
    ),
    Case(
        "nothing-wrong",
        (HEALTHY,),
        "unknown",
        "investigate",
        0.0,
        0.0,
        reason="pods healthy: 2/2 ready",
    ),
    Case(
        "no-workload",
        (),
        "unknown",
        "investigate",
        reason="the alert labels name no workload",
        target=Target(),
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_rule_table(case: Case) -> None:
    verdict = decide(case.target, case.evidence, notification())
    assert verdict.category == case.category, verdict
    assert verdict.action_kind == case.action_kind, verdict
    assert case.min_confidence <= verdict.confidence <= case.max_confidence, verdict
    if case.reason:
        assert any(case.reason in r for r in verdict.reasons), verdict.reasons
    if case.action:
        assert case.action in verdict.action, verdict.action
    for key, value in case.details.items():
        assert verdict.details.get(key) == value, verdict.details
    assert verdict.summary and verdict.reasons and verdict.action


waiting = st.sampled_from(
    ["", "CrashLoopBackOff", "ImagePullBackOff", "ErrImagePull", "CreateContainerConfigError", "X"]
)
terminated = st.sampled_from(["", "OOMKilled", "Error", "Completed"])
containers = st.builds(
    ContainerState,
    name=st.sampled_from(["kserve-container", "queue-proxy"]),
    ready=st.booleans(),
    restart_count=st.integers(0, 50),
    waiting_reason=waiting,
    waiting_message=st.text(max_size=40),
    last_terminated_reason=terminated,
    last_exit_code=st.none() | st.integers(0, 255),
    memory_limit_bytes=st.none() | st.integers(1, 2**36),
)
pod_states = st.builds(
    PodState, name=st.text(min_size=1, max_size=30), phase=st.just("Running"), ready=st.booleans(),
    containers=st.lists(containers, max_size=3).map(tuple), reason=st.sampled_from(["", "Evicted"]),
)  # fmt: skip
ages = st.lists(st.floats(-120, 10000, allow_nan=False), max_size=4)


@settings(max_examples=150, deadline=None)
@given(
    pod_list=st.lists(pod_states, max_size=4),
    revision_ages=ages,
    accuracy=st.none() | st.floats(0, 1),
    drifted=st.lists(st.tuples(st.text(min_size=1, max_size=8), st.floats(-100, 100)), max_size=3),
)
def test_decide_always_answers_sensibly(
    pod_list: list[PodState],
    revision_ages: list[float],
    accuracy: float | None,
    drifted: list[tuple[str, float]],
) -> None:
    evidence: list[Evidence] = [
        PodsEvidence(pods=tuple(pod_list)),
        isvc(*revision_ages),
        drift(*drifted, accuracy=accuracy, accuracy_baseline=0.9 if accuracy is not None else None),
    ]
    verdict = decide(TARGET, evidence, notification())
    assert verdict.category in {
        "infrastructure",
        "rollout",
        "data-drift",
        "concept-drift",
        "unknown",
    }
    assert 0.0 <= verdict.confidence <= 1.0
    assert verdict.reasons and verdict.action
    if verdict.action_kind == "rollback":
        assert verdict.details["rollback_to"].startswith("wine-predictor-")
        # Never back to the revision that is failing.
        assert verdict.details["rollback_to"] != verdict.details["bad_revision"]
