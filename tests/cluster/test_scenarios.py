"""Triage scenarios end to end: real kubernetes-asyncio client -> fake API -> verdict."""

from __future__ import annotations

import json
from contextlib import AsyncExitStack
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.assembly import open_clients
from bot.cluster.factory import cluster_collectors
from bot.config import ConfigError, Settings
from bot.model.alert import Notification
from bot.model.cluster_evidence import EventsEvidence, LogsEvidence, PodsEvidence
from bot.model.kserve_evidence import InferenceServiceEvidence
from bot.model.report import TriageReport
from bot.model.signal_evidence import DriftEvidence, FeatureDrift
from bot.sources import build_pipeline
from tests.cluster.conftest import Triage, run_triage
from tests.fakes.fake_kube import FakeKube, unused_kubeconfig
from tests.fakes.kube_scenarios import (
    FIXTURE_ALERT_START,
    ISVC,
    NAMESPACE,
    SCENARIOS,
    alert_payload,
    revision_name,
)

OLD = revision_name(ISVC, 2)
NEW = revision_name(ISVC, 3)
RAW_OLD, RAW_NEW = f"{ISVC}-predictor-6d5f7c9b8", f"{ISVC}-predictor-7f8d9c6b5"


async def test_oom_crash_loop_is_infrastructure_with_memory_advice(
    kube: FakeKube, triage: Triage
) -> None:
    SCENARIOS["oom-crash-loop"](kube, FIXTURE_ALERT_START)
    report = await triage()
    verdict = report.verdict
    assert report.notes() == []
    assert verdict.category == "infrastructure"
    assert verdict.action_kind == "raise-memory"
    assert verdict.details["memory_limit"] == "512Mi"
    assert verdict.details["suggested_memory_limit"] == "1Gi"
    assert "from 512Mi to 1Gi" in verdict.action
    assert any("OOMKilled (exit 137), 7 restarts" in r for r in verdict.reasons)
    logs = report.find(LogsEvidence)
    assert isinstance(logs, LogsEvidence)
    # The crashed instance is read, not the fresh one that only says "Loading model".
    assert all(x.previous and x.container == "kserve-container" for x in logs.excerpts)
    assert any("Killed" in line for x in logs.excerpts for line in x.lines)
    assert kube.calls("GET", "/log$")[0].query["previous"] == "True"
    assert len(kube.calls("GET", "/pods$")) == 1  # listed once, for both collectors
    events = report.find(EventsEvidence)
    assert isinstance(events, EventsEvidence)
    assert {e.reason for e in events.events} == {"BackOff"}  # the other model's event is gone
    assert all(e.count == 31 for e in events.events)


@pytest.mark.parametrize(
    ("scenario", "new", "old", "mode", "how"),
    [
        (
            "bad-rollout",
            NEW,
            OLD,
            "Serverless",
            "set canaryTrafficPercent: 0 so KServe sends all traffic to it",
        ),
        (
            "raw-bad-rollout",
            RAW_NEW,
            RAW_OLD,
            "RawDeployment",
            "restore the previous predictor spec",
        ),
    ],
)
async def test_rollout_names_the_revision_and_the_rollback(
    kube: FakeKube, triage: Triage, scenario: str, new: str, old: str, mode: str, how: str
) -> None:
    SCENARIOS[scenario](kube, FIXTURE_ALERT_START)
    report = await triage()
    verdict = report.verdict
    assert report.notes() == []
    assert verdict.category == "rollout"
    assert verdict.confidence >= 0.8
    assert verdict.reasons[0] == f"revision {new} rolled out 8 minutes before the alert"
    assert any("KeyError: 'fixed_acidity'" in r for r in verdict.reasons)
    assert verdict.action_kind == "rollback"
    assert verdict.action.startswith(f"Roll back to {old}: {how}.")
    assert verdict.details["rollback_to"] == old
    assert verdict.details["inference_service"] == ISVC
    assert verdict.details["deployment_mode"] == mode
    # Revisions come from the API of the mode: ReplicaSets (raw) or Knative (serverless).
    raw = mode == "RawDeployment"
    assert bool(kube.calls("GET", "/apis/apps/v1/namespaces/models/replicasets$")) is raw
    assert bool(kube.calls("GET", "/apis/serving.knative.dev/")) is not raw


async def test_bad_rollout_log_is_collapsed_and_redacted(kube: FakeKube, triage: Triage) -> None:
    SCENARIOS["bad-rollout"](kube, FIXTURE_ALERT_START)
    report = await triage()
    logs = report.find(LogsEvidence)
    assert isinstance(logs, LogsEvidence)
    text = "\n".join(line for x in logs.excerpts for line in x.lines)
    assert "(x25)" in text  # 25 identical tracebacks collapse to one line
    assert "hunter2" not in text and "hunter2" not in str(report.to_dict())
    isvc = report.find(InferenceServiceEvidence)
    assert isinstance(isvc, InferenceServiceEvidence)
    assert [r.name for r in isvc.revisions][-1] == NEW
    assert isvc.previous_rolledout_revision == OLD
    assert isvc.storage_uri == f"s3://models/{ISVC}/v3"


async def test_image_pull_failure_says_fix_the_image(kube: FakeKube, triage: Triage) -> None:
    SCENARIOS["image-pull-failure"](kube, FIXTURE_ALERT_START)
    report = await triage()
    verdict = report.verdict
    # Confined to the revision that rolled out while the old one serves: the rollout's fault.
    assert verdict.category == "rollout"
    assert verdict.cause == "image-pull"
    assert verdict.action_kind == "rollback"
    assert verdict.details["image"] == "registry.example/wine:v3-typo"
    assert verdict.details["rollback_to"] == OLD
    assert verdict.action.startswith(f"Roll back to {OLD}")
    assert "Fix the image reference registry.example/wine:v3-typo" in verdict.action
    events = report.find(EventsEvidence)
    assert isinstance(events, EventsEvidence)
    assert {e.reason for e in events.events} == {"Failed", "BackOff"}
    # The waiting pod has no log yet (400 from the API); the healthy old pod still answers.
    assert report.notes() == []


async def test_healthy_pods_with_drifted_inputs_is_data_drift(
    kube: FakeKube, triage: Triage
) -> None:
    SCENARIOS["healthy"](kube, FIXTURE_ALERT_START)
    drift = DriftEvidence(
        model=ISVC,
        window_rows=5000,
        drift_share=2 / 11,
        dataset_drift=False,
        features=(
            FeatureDrift(
                "alcohol", "ks", 0.31, 1e-12, True, 0.4, datetime(2026, 11, 24, 18, 20, tzinfo=UTC)
            ),
            FeatureDrift(
                "sulphates", "ks", 0.12, 1e-5, True, 0.2, datetime(2026, 11, 24, 18, 40, tzinfo=UTC)
            ),
            FeatureDrift("ph", "ks", 0.01, 0.6, False),
        ),
    )
    report = await triage(extra=[drift])
    verdict = report.verdict
    assert verdict.category == "data-drift"
    assert verdict.confidence >= 0.7
    assert verdict.action_kind == "retrain"
    assert verdict.details["drifted_features"] == "alcohol,sulphates"
    assert "pods healthy: 2/2 ready" in verdict.reasons
    assert any("drift began 40 minutes before the alert" in r for r in verdict.reasons)


async def test_healthy_without_other_evidence_is_unknown_and_says_what_was_checked(
    kube: FakeKube, triage: Triage
) -> None:
    SCENARIOS["healthy"](kube, FIXTURE_ALERT_START)
    report = await triage()
    assert report.verdict.category == "unknown"
    assert "pods healthy: 2/2 ready" in report.verdict.reasons
    pods = report.find(PodsEvidence)
    assert isinstance(pods, PodsEvidence)
    assert len(pods.pods) == 2  # the other model's pod is not selected
    assert pods.selector == f"serving.kserve.io/inferenceservice={ISVC}"


async def test_api_server_down_leaves_notes_and_still_decides(tmp_path: Path) -> None:
    report = await run_triage(unused_kubeconfig(tmp_path / "kubeconfig"))
    notes = report.notes()
    assert len(notes) == 5  # one per Kubernetes collector but nodes (no pods, no nodes)
    assert all("Kubernetes API unreachable" in n for n in notes), notes
    assert report.verdict.category == "unknown"


async def test_slow_api_times_out_one_collector_only(kube: FakeKube, triage: Triage) -> None:
    SCENARIOS["bad-rollout"](kube, FIXTURE_ALERT_START)
    kube.fault("/events$", delay=5)
    report = await triage(timeout=0.5)
    assert report.notes() == ["Kubernetes events: timeout after 0.5 s"]
    assert report.verdict.category == "rollout"  # the rest of the evidence still decides


async def test_forbidden_names_the_resource_and_namespace(kube: FakeKube, triage: Triage) -> None:
    SCENARIOS["oom-crash-loop"](kube, FIXTURE_ALERT_START)
    kube.fault(r"/namespaces/models/pods$", status=403)
    report = await triage()
    notes = report.notes()
    assert "Kubernetes pods: Kubernetes API: 403 forbidden listing pods in models" in notes[0]
    assert 'cannot list resource "pods"' in notes[0]
    assert len(notes) == 2  # pods and logs; the InferenceService and events still arrive
    # Events alone still show the crash loop.
    assert report.find(EventsEvidence) is not None


async def test_missing_inference_service_is_a_note(kube: FakeKube, triage: Triage) -> None:
    report = await triage()
    assert (
        f"KServe InferenceService: InferenceService {NAMESPACE}/{ISVC} not found"
        in (report.notes()[0])
    )
    pods = report.find(PodsEvidence)
    assert isinstance(pods, PodsEvidence) and pods.pods == ()


async def test_internal_error_and_dropped_connection_are_notes(
    kube: FakeKube, triage: Triage
) -> None:
    SCENARIOS["healthy"](kube, FIXTURE_ALERT_START)
    kube.fault("/inferenceservices/", status=500, message="etcdserver: request timed out")
    kube.fault("/events$", drop=True)
    report = await triage()
    notes = report.notes()
    assert any("500 internal server error getting inferenceservice" in n for n in notes)
    assert any("etcdserver: request timed out" in n for n in notes)
    assert any(n.startswith("Kubernetes events: Kubernetes API connection failed") for n in notes)


async def test_no_workload_in_labels_reads_nothing(kube: FakeKube, triage: Triage) -> None:
    payload = {
        "version": "4",
        "groupKey": '{}:{alertname="Watchdog"}',
        "status": "firing",
        "receiver": "triage",
        "alerts": [
            {
                "status": "firing",
                "labels": {"alertname": "Watchdog"},
                "startsAt": "2026-11-24T19:00:00Z",
            }
        ],
    }
    report = await triage(payload=payload)
    assert kube.requests == []
    assert report.verdict.category == "unknown"
    assert report.verdict.reasons == (
        "nothing was gathered: the alert labels name no workload to inspect",
    )


async def test_no_cluster_configured_means_no_kubernetes_collectors(tmp_path: Path) -> None:
    # `assembly.open_clients` asks `Settings.cluster_configured`; the factory only builds.
    settings = Settings(in_cluster=False, data_dir=tmp_path)
    async with AsyncExitStack() as stack:
        clients = await open_clients(settings, stack)
        assert clients.kube is None
        pipeline = build_pipeline(settings, clients)
        report = await pipeline.run(Notification.model_validate(alert_payload(FIXTURE_ALERT_START)))
    assert [r.collector for r in report.results] == []


async def test_a_pod_list_that_times_out_for_one_collector_still_serves_the_other(
    kube: FakeKube, triage: Triage
) -> None:
    """The pods and logs collectors share one LIST; a slow one fails both, then a fast
    triage lists afresh (nothing is kept between triages)."""
    SCENARIOS["bad-rollout"](kube, FIXTURE_ALERT_START)
    kube.fault("/pods$", delay=5)
    slow = await triage(timeout=0.5)
    assert sorted(slow.notes()) == [
        "Kubernetes logs: timeout after 0.5 s",
        "Kubernetes nodes: timeout after 0.5 s",
        "Kubernetes pods: timeout after 0.5 s",
    ]
    kube.faults.clear()
    fast = await triage()
    assert fast.notes() == [] and fast.verdict.category == "rollout"


async def test_collectors_run_concurrently(kube: FakeKube, triage: Triage) -> None:
    SCENARIOS["bad-rollout"](kube, FIXTURE_ALERT_START)
    kube.latency = 0.1  # the longest chain is 2 calls (0.2 s); all calls in a row take 0.6 s
    report = await triage()
    assert report.notes() == []
    assert (report.finished_at - report.started_at).total_seconds() < 0.45


async def test_evidence_reads_at_a_glance_and_survives_the_store(
    kube: FakeKube, triage: Triage
) -> None:
    SCENARIOS["oom-crash-loop"](kube, FIXTURE_ALERT_START)
    report = await triage()
    lines = [line for e in report.evidence() for line in e.lines()]
    assert f"InferenceService {NAMESPACE}/{ISVC} (Serverless): NOT ready" in lines
    assert f"0/2 pods ready (serving.kserve.io/inferenceservice={ISVC})" in lines
    assert "2 pods/kserve-container (previous instance): Killed" in lines
    assert any(line.startswith("BackOff x31 on Pod ") for line in lines)
    again = TriageReport.from_dict(json.loads(json.dumps(report.to_dict())))
    assert again.evidence() == report.evidence()


async def test_missing_kubeconfig_is_a_config_error(tmp_path: Path) -> None:
    # Settings refuse a missing file; this is the file vanishing after validation.
    (tmp_path / "nope").write_text("")
    settings = Settings(kubeconfig=tmp_path / "nope", in_cluster=False)
    (tmp_path / "nope").unlink()
    with pytest.raises(ConfigError, match="kubeconfig .*nope does not exist"):
        async with cluster_collectors(settings.kubeconfig, settings.collectors):
            pass


async def test_deployment_and_pod_targets_find_their_inference_service(
    kube: FakeKube, triage: Triage
) -> None:
    """kube-state-metrics alerts name a Deployment or a pod; the model is found from them."""
    SCENARIOS["raw-bad-rollout"](kube, FIXTURE_ALERT_START)
    payload = alert_payload(FIXTURE_ALERT_START)
    labels = {"alertname": "HighErrorRate", "namespace": NAMESPACE}
    payload["groupLabels"] = {"alertname": "HighErrorRate"}
    for named in ({"deployment": f"{ISVC}-predictor"}, {"pod": f"{RAW_NEW}-x7k2p"}):
        payload["commonLabels"] = {**labels, **named}
        report = await triage(payload=payload)
        pods = report.find(PodsEvidence)
        assert isinstance(pods, PodsEvidence)
        assert f"{RAW_NEW}-x7k2p" in [p.name for p in pods.pods]
        assert pods.selector == f"serving.kserve.io/inferenceservice={ISVC}"
        isvc = report.find(InferenceServiceEvidence)
        assert isinstance(isvc, InferenceServiceEvidence) and isvc.name == ISVC
        assert report.verdict.category == "rollout", report.verdict
        assert report.verdict.details["rollback_to"] == RAW_OLD
        logs = report.find(LogsEvidence)
        assert isinstance(logs, LogsEvidence) and any(x.has_traceback for x in logs.excerpts)
    # The pod was read once by name to learn its model, then the model's pods by label.
    selectors = [c.query.get("fieldSelector", "") for c in kube.calls("GET", "/pods$")]
    assert f"metadata.name={RAW_NEW}-x7k2p" in selectors
