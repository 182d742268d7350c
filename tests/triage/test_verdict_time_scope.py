"""The verdict's weighing: time (old recovered failures), scope (confined to a new
revision), the alert as evidence, and advice that must never make things worse."""

from __future__ import annotations

from datetime import timedelta

from bot.model.alert import Notification
from bot.model.cluster_evidence import (
    Condition,
    ContainerState,
    LogExcerpt,
    LogsEvidence,
    PodsEvidence,
    PodState,
)
from bot.model.evidence import Evidence
from bot.model.kserve_evidence import InferenceServiceEvidence, ModelStatus, Revision, TrafficTarget
from bot.model.signal_evidence import MetricsEvidence
from bot.triage.verdict import decide
from tests.triage.test_verdict import START, TARGET, notification

R1, R2, R3 = "wine-predictor-00001", "wine-predictor-00002", "wine-predictor-00003"


def alert(name: str, **labels: str) -> Notification:
    return Notification.model_validate(
        {
            "version": "4",
            "groupKey": "g",
            "status": "firing",
            "receiver": "r",
            "commonLabels": {"namespace": "models", "inferenceservice": "wine", **labels},
            "alerts": [
                {
                    "status": "firing",
                    "labels": {"alertname": name, **labels},
                    "annotations": {"summary": f"{name} on wine"},
                    "startsAt": START.isoformat(),
                }
            ],
        }
    )


def service(*revisions: Revision, previous: str = "", **kw: object) -> InferenceServiceEvidence:
    return InferenceServiceEvidence(
        name="wine", namespace="models", ready=True, revisions=revisions,
        previous_rolledout_revision=previous, **kw,  # type: ignore[arg-type]
    )  # fmt: skip


def revision(name: str, minutes_ago: float, ready: bool | None = True) -> Revision:
    return Revision(name, START - timedelta(minutes=minutes_ago), ready=ready)


def pod(revision_name: str, i: int, *containers: ContainerState, ready: bool = True) -> PodState:
    return PodState(
        name=f"{revision_name}-deployment-abc-{i}", phase="Running", ready=ready,
        containers=containers or (ContainerState("kserve-container", ready=True),),
        revision=revision_name, node=f"node-{i}",
    )  # fmt: skip


OLD_OOM = ContainerState(
    "kserve-container", ready=True, restart_count=1, last_terminated_reason="OOMKilled",
    last_exit_code=137, last_terminated_at=START - timedelta(days=3),
    running_since=START - timedelta(days=3), memory_limit_bytes=2**30,
)  # fmt: skip
CRASHING = ContainerState(
    "kserve-container", ready=False, restart_count=6, waiting_reason="CrashLoopBackOff",
    last_terminated_reason="Error", last_exit_code=1,
)  # fmt: skip
KEYERROR = "KeyError: 'merchant_category_code' (traceback at File \"/app/model.py\", line 71)"


def logs(pod_name: str, line: str) -> LogsEvidence:
    return LogsEvidence((LogExcerpt(pod_name, "kserve-container", False, (line,), 1, True),))


def test_an_old_recovered_oom_does_not_outrank_a_fresh_rollout() -> None:
    evidence: list[Evidence] = [
        service(revision(R1, 60 * 24 * 10), revision(R2, 8), previous=R1),
        PodsEvidence((pod(R1, 0, OLD_OOM), pod(R2, 1))),
        logs(pod(R2, 1).name, KEYERROR),
    ]
    verdict = decide(TARGET, evidence, notification())
    assert (verdict.category, verdict.details["rollback_to"]) == ("rollout", R1)
    assert any("OOMKilled" in line and "healthy since" in line for line in verdict.considered)


def test_never_a_rollback_to_a_failing_or_unready_revision() -> None:
    # KServe still names R2 as the previous rollout, but R2 crash-loops and is not ready.
    evidence: list[Evidence] = [
        service(revision(R1, 9000), revision(R2, 3000, ready=False), revision(R3, 10),
                previous=R2),
        PodsEvidence((pod(R2, 0, CRASHING, ready=False), pod(R3, 1, CRASHING, ready=False))),
    ]  # fmt: skip
    verdict = decide(TARGET, evidence, notification())
    assert verdict.details.get("rollback_to") not in (R2, R3)
    evidence[0] = service(revision(R2, 3000, ready=False), revision(R3, 10), previous=R2)
    verdict = decide(TARGET, evidence, notification())
    assert "rollback_to" not in verdict.details and verdict.action_kind != "rollback"


def test_a_failure_on_old_and_new_revisions_is_not_the_rollout() -> None:
    refused = (
        "ConnectionError: Error 111 connecting to feast-redis.store.svc:6379. Connection refused."
    )
    evidence: list[Evidence] = [
        service(revision(R1, 9000), revision(R2, 20), previous=R1),
        PodsEvidence((pod(R1, 0), pod(R2, 1))),
        LogsEvidence(
            tuple(
                LogExcerpt(pod(r, i).name, "kserve-container", False, (refused,), 1, False)
                for i, r in enumerate((R1, R2))
            )
        ),
    ]
    verdict = decide(TARGET, evidence, notification())
    assert (verdict.category, verdict.cause) == ("infrastructure", "dependency")
    assert "feast-redis.store.svc:6379" in verdict.summary
    assert "rollback_to" not in verdict.details


def test_an_input_schema_error_with_nothing_rolled_out_is_a_data_problem() -> None:
    evidence: list[Evidence] = [
        service(revision(R1, 9000)),
        PodsEvidence((pod(R1, 0),)),
        logs(pod(R1, 0).name, KEYERROR),
    ]
    verdict = decide(TARGET, evidence, notification())
    assert (verdict.category, verdict.cause) == ("data-drift", "input-schema")
    assert "do not roll back" in verdict.action


def test_the_alert_itself_is_evidence() -> None:
    healthy: list[Evidence] = [service(revision(R1, 9000)), PodsEvidence((pod(R1, 0),))]
    cases = {
        "ModelFeatureDrift": ("data-drift", "feature-drift"),
        "ModelAccuracyDrop": ("concept-drift", "accuracy-drop"),
        "ModelCPUThrottled": ("infrastructure", "capacity"),
        "ModelMemoryNearLimit": ("infrastructure", "oom"),
    }
    for name, expected in cases.items():
        verdict = decide(TARGET, healthy, alert(name, model="wine", feature="alcohol"))
        assert (verdict.category, verdict.cause) == expected, name
    verdict = decide(TARGET, [], alert("ModelFeatureDrift", model="wine"))
    assert verdict.category == "data-drift"  # no cluster, no drift engine: the alert alone


def test_a_spec_kserve_refused_is_reverted_not_rolled_back() -> None:
    status = ModelStatus(
        transition_status="InvalidSpec", failure_reason="NoSupportingRuntime",
        failure_message="Specified runtime does not support specified framework/version",
    )  # fmt: skip
    evidence: list[Evidence] = [
        service(revision(R1, 9000), previous="", generation=6, observed_generation=5,
                model_status=status, model_format="xgboost 3", latest_ready_revision=R1),
        PodsEvidence((pod(R1, 0),)),
    ]  # fmt: skip
    verdict = decide(TARGET, evidence, notification())
    assert (verdict.category, verdict.cause) == ("rollout", "config")
    assert "rollback_to" not in verdict.details
    assert "revert the spec change" in verdict.action
    assert any("xgboost 3" in r for r in verdict.reasons)


def test_unknown_says_what_was_and_was_not_gathered() -> None:
    verdict = decide(TARGET, [], notification())
    assert verdict.category == "unknown"
    assert verdict.reasons[0].startswith("nothing was gathered")
    verdict = decide(TARGET, [PodsEvidence((pod(R1, 0),))], notification())
    assert any(r.startswith("gathered: pods; not gathered:") for r in verdict.reasons)


def test_a_traffic_drop_on_a_healthy_model_is_said_in_the_unknown() -> None:
    evidence: list[Evidence] = [
        PodsEvidence((pod(R1, 0),)),
        MetricsEvidence(traffic=0.5, traffic_day_before=40.0),
    ]
    verdict = decide(TARGET, evidence, alert("ModelThroughputDrop", model="wine"))
    assert verdict.category == "unknown"
    assert "traffic 0.5 req/s at the alert, 40 req/s a day earlier (-99%)" in verdict.reasons


def test_a_canary_still_splitting_traffic_is_a_rollout_in_progress() -> None:
    traffic = (TrafficTarget(R1, 90), TrafficTarget(R2, 10, latest=True))
    evidence: list[Evidence] = [
        service(revision(R1, 9000), revision(R2, 180), previous=R1, traffic=traffic),
        PodsEvidence((pod(R1, 0), pod(R2, 1, CRASHING, ready=False))),
    ]
    verdict = decide(TARGET, evidence, notification())
    assert (verdict.category, verdict.details["rollback_to"]) == ("rollout", R1)
    assert any("canary revision" in r and "10% of traffic" in r for r in verdict.reasons)
    # A healthy canary beside a failure everywhere else is not to blame.
    evidence[1] = PodsEvidence((pod(R1, 0, CRASHING, ready=False), pod(R2, 1)))
    verdict = decide(TARGET, evidence, notification())
    assert verdict.category == "infrastructure" and "rollback_to" not in verdict.details


def test_an_unbound_volume_claim_is_a_volume_problem_not_capacity() -> None:
    pending = PodState(
        name=f"{R1}-deployment-abc-0", phase="Pending", ready=False, revision=R1,
        claims=("whisper-models",),
        conditions=(Condition("PodScheduled", "False", "Unschedulable",
                              "0/3 nodes are available: pod has unbound immediate "
                              "PersistentVolumeClaims."),),
    )  # fmt: skip
    evidence: list[Evidence] = [service(revision(R1, 9000)), PodsEvidence((pending,))]
    verdict = decide(TARGET, evidence, notification())
    assert (verdict.category, verdict.cause) == ("infrastructure", "mount")
    assert any("whisper-models" in r for r in verdict.reasons)
