"""Every corpus case parses, looks like the real API's output, and can be scored.

A case that fails here would score a triage against evidence it never had: a fact that is
nowhere in the objects, logs or alert cannot be named; a planted secret that is not in the
evidence cannot leak; a timestamp after the alert cannot have been read when it fired.
The whole corpus's shape is checked in test_corpus_mix.py, the series notation in
test_series_notation.py.
"""

from __future__ import annotations

import re

import pytest

from tests.corpus.schema import parse_time
from tests.corpus.views import (
    CASES,
    CLUSTER_SCOPED,
    ISVC_LABEL,
    READ_WINDOW,
    SLUGS,
    TIME_KEYS,
    evidence_text,
    is_raw,
    named,
    objects_of,
    target_isvc,
    walk,
)
from tests.fakes.fake_kube import FakeKube, parse_path

# --- each case ------------------------------------------------------------------------------


def test_the_corpus_is_not_empty() -> None:
    assert len(CASES) >= 44


@pytest.mark.parametrize("slug", SLUGS)
def test_objects_look_like_the_api(slug: str) -> None:
    case = CASES[slug]
    assert case.objects, "a case without a cluster snapshot"
    for obj in case.objects:
        where = f"{obj.get('kind')}/{obj.get('metadata', {}).get('name')}"
        assert obj.get("apiVersion") and obj.get("kind"), where
        meta = obj.get("metadata", {})
        assert meta.get("name"), where
        if obj["kind"] not in CLUSTER_SCOPED:
            assert meta.get("namespace"), f"{where} has no namespace"
        parse_time(meta["creationTimestamp"])


@pytest.mark.parametrize("slug", SLUGS)
def test_times_are_rfc3339_and_not_after_the_alert(slug: str) -> None:
    case = CASES[slug]
    fired = parse_time(case.alert.startsAt)
    for path, key, value in walk(case.objects):
        if key not in TIME_KEYS or value is None:
            continue
        assert isinstance(value, str), f"{path}.{key}"
        moment = parse_time(value)
        assert moment <= fired + READ_WINDOW, f"{path}.{key}={value} is after the alert"


@pytest.mark.parametrize("slug", SLUGS)
def test_pods_name_their_containers_in_statuses(slug: str) -> None:
    case = CASES[slug]
    for pod in objects_of(case, "Pod"):
        name = pod["metadata"]["name"]
        assert ISVC_LABEL in pod["metadata"].get("labels", {}), f"{name} lacks the isvc label"
        spec, status = pod["spec"], pod["status"]
        declared = {c["name"] for c in spec["containers"]}
        declared_init = {c["name"] for c in spec.get("initContainers", [])}
        reported = {s["name"] for s in status.get("containerStatuses", [])}
        reported_init = {s["name"] for s in status.get("initContainerStatuses", [])}
        assert reported <= declared, name
        assert reported_init <= declared_init, name
        if status["phase"] == "Running":
            assert reported == declared, f"{name} runs without a status for every container"
        for entry in status.get("containerStatuses", []) + status.get("initContainerStatuses", []):
            assert set(entry["state"]) <= {"running", "waiting", "terminated"}, name
            for last in entry.get("lastState", {}).values():
                assert {"exitCode", "reason", "finishedAt"} <= set(last), name


@pytest.mark.parametrize("slug", SLUGS)
def test_events_point_at_objects(slug: str) -> None:
    case = CASES[slug]
    for event in objects_of(case, "Event"):
        involved = event["involvedObject"]
        assert involved["kind"] and involved["name"], event["metadata"]["name"]
        assert "eventTime" in event, "core/v1 events carry eventTime (null when unset)"
        # a core event has lastTimestamp, an events.k8s.io event has eventTime
        assert event.get("lastTimestamp") or event.get("eventTime"), event["metadata"]["name"]


@pytest.mark.parametrize("slug", SLUGS)
def test_logs_belong_to_pods_and_their_containers(slug: str) -> None:
    case = CASES[slug]
    pods = {(p["metadata"]["namespace"], p["metadata"]["name"]): p for p in objects_of(case, "Pod")}
    for log in case.logs:
        pod = pods.get((log.namespace, log.pod))
        assert pod is not None, f"log for a pod not in the snapshot: {log.pod}"
        containers = [c["name"] for c in pod["spec"]["containers"]]
        containers += [c["name"] for c in pod["spec"].get("initContainers", [])]
        assert log.container in containers, f"{log.pod} has no container {log.container}"


@pytest.mark.parametrize("slug", SLUGS)
def test_the_alert_names_a_target_in_the_snapshot(slug: str) -> None:
    """The labels lead to the model: its InferenceService, Deployment, Revision, or a pod.

    Exporters label differently: kube-state-metrics a `pod` or `deployment`, Knative's
    queue-proxy a `revision_name`/`service_name`, TorchServe and Triton a model name.
    """
    case = CASES[slug]
    labels = case.alert.labels
    isvcs = named(case, {"InferenceService"})
    services = {
        rev["metadata"]["labels"].get("serving.knative.dev/service")
        for rev in objects_of(case, "Revision")
    }
    targets = [
        labels.get("inferenceservice") in isvcs,
        labels.get("model_name") in isvcs,
        labels.get("deployment") in named(case, {"Deployment"}),
        labels.get("pod") in named(case, {"Pod"}),
        labels.get("revision_name") in named(case, {"Revision"}),
        labels.get("service_name") in services,
    ]
    assert any(targets), f"no object answers to the alert's labels {labels}"
    assert labels.get("namespace") == "models"


@pytest.mark.parametrize("slug", SLUGS)
def test_the_fake_api_serves_the_model_by_its_label(slug: str) -> None:
    """The wire-level fake stores every object, and the isvc label selects the model's pods."""
    case = CASES[slug]
    kube = FakeKube()
    for obj in case.objects:
        kube.add(obj)
    selector = {"labelSelector": f"{ISVC_LABEL}={target_isvc(case)}"}
    pods = parse_path("/api/v1/namespaces/models/pods")
    revisions = parse_path("/apis/serving.knative.dev/v1/namespaces/models/revisions")
    assert pods is not None and revisions is not None
    assert kube.matching(pods, selector), "no pod carries the model's label"
    if not is_raw(case):
        assert kube.matching(revisions, selector), "a serverless model without revisions"


# Paths a triage reads; every injected fault must hit at least one of them.
READ_PATHS = [
    "/api/v1/namespaces/models/pods",
    "/api/v1/namespaces/models/pods/p/log",
    "/api/v1/namespaces/models/events",
    "/apis/events.k8s.io/v1/namespaces/models/events",
    "/apis/serving.kserve.io/v1beta1/namespaces/models/inferenceservices/m",
    "/apis/serving.knative.dev/v1/namespaces/models/revisions",
    "/apis/apps/v1/namespaces/models/replicasets",
]


@pytest.mark.parametrize("slug", [s for s in SLUGS if CASES[s].faults])
def test_faults_hit_a_read(slug: str) -> None:
    for fault in CASES[slug].faults:
        assert any(re.search(fault.path, path) for path in READ_PATHS), fault.path


@pytest.mark.parametrize("slug", SLUGS)
def test_facts_and_secrets_are_in_the_evidence(slug: str) -> None:
    case = CASES[slug]
    text = evidence_text(case)
    missing = [fact for fact in case.expect.facts if fact.lower() not in text]
    assert not missing, f"facts a triage could never name: {missing}"
    unplanted = [secret for secret in case.expect.secrets if secret.lower() not in text]
    assert not unplanted, f"secrets listed but not planted: {unplanted}"


@pytest.mark.parametrize("slug", SLUGS)
def test_rollback_targets_exist(slug: str) -> None:
    """Rollback targets name a Revision or ReplicaSet of the snapshot; forbidden ones too."""
    case = CASES[slug]
    targets = named(case, {"Revision", "ReplicaSet"})
    if case.expect.rollback_to:
        assert case.expect.rollback_to in targets
        assert case.expect.category == "rollout", "only a rollout is undone by rolling back"
    for forbidden in case.expect.forbid.rollback_to:
        assert forbidden in targets, forbidden


@pytest.mark.parametrize("slug", SLUGS)
def test_series_and_drift_agree(slug: str) -> None:
    case = CASES[slug]
    selector = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*(\{[^{}]*\})?$")
    names = set()
    if case.prometheus:
        for series in case.prometheus.series:
            assert selector.match(series.series), series.series
            names.add(series.series.split("{")[0])
    drift = case.drift
    if drift and drift.via == "prometheus":
        assert any(name.startswith("triage_bot_drift_") for name in names)
        assert case.prometheus is not None
        text = " ".join(s.series for s in case.prometheus.series)
        assert f'model="{drift.model}"' in text
        for feature in drift.features:
            if feature.drifted:
                assert f'feature="{feature.name}"' in text, feature.name
    if drift and drift.drifted_since:
        assert any(f.drifted for f in drift.features) or drift.accuracy is not None
