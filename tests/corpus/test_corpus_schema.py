"""Every corpus case parses, looks like the real API's output, and can be scored.

A case that fails here would score a triage against evidence it never had: a fact that is
nowhere in the objects, logs or alert cannot be named; a planted secret that is not in the
evidence cannot leak; a timestamp after the alert cannot have been read when it fired.
The mix counts hold the corpus to the issue's shape (both KServe modes, every category,
distractors, drift, secrets). The promtool notation is checked by our parser and by the
real promtool on every case's series.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.corpus.schema import (
    Case,
    duration_seconds,
    expand_values,
    load_case,
    load_cases,
    parse_time,
)
from tests.manifests.conftest import require_tool

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
    return [obj for obj in case.objects if obj.get("kind") == kind]


def named(case: Case, kinds: set[str]) -> set[str]:
    return {obj["metadata"]["name"] for obj in case.objects if obj.get("kind") in kinds}


def is_raw(case: Case) -> bool:
    for isvc in objects_of(case, "InferenceService"):
        mode = isvc["metadata"].get("annotations", {}).get("serving.kserve.io/deploymentMode")
        if mode == "RawDeployment":
            return True
    return False


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
    """The labels lead to the model: its InferenceService, its Deployment, or one of its pods."""
    case = CASES[slug]
    labels = case.alert.labels
    isvcs = named(case, {"InferenceService"})
    targets = [
        labels.get("inferenceservice") in isvcs,
        labels.get("deployment") in named(case, {"Deployment"}),
        labels.get("pod") in named(case, {"Pod"}),
    ]
    assert any(targets), f"no object answers to the alert's labels {labels}"
    assert labels.get("namespace") == "models"


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


# --- the mix --------------------------------------------------------------------------------


def test_both_kserve_modes_are_well_represented() -> None:
    raw = sum(is_raw(case) for case in CASES.values())
    assert raw >= 15
    assert len(CASES) - raw >= 15


def test_every_category_and_the_common_causes() -> None:
    categories = Counter(case.expect.category for case in CASES.values())
    assert set(categories) == {
        "infrastructure",
        "rollout",
        "data-drift",
        "concept-drift",
        "unknown",
    }
    assert categories["unknown"] >= 3
    causes = Counter(case.expect.cause for case in CASES.values())
    common = [
        "oom", "image-pull", "config", "mount", "scheduling", "eviction", "capacity",
        "dependency", "gpu-memory", "storage", "model-load", "probe", "crash", "code",
        "input-schema", "feature-drift", "accuracy-drop",
    ]  # fmt: skip
    assert {cause: causes[cause] for cause in common if causes[cause] < 2} == {}
    assert causes["node"] >= 1


def test_distractors_drift_and_secrets() -> None:
    with_distractors = [s for s, c in CASES.items() if c.distractors]
    assert len(with_distractors) >= 12
    kinds = {d for case in CASES.values() for d in case.distractors}
    assert len(kinds) == 8, f"distractor kinds used: {sorted(kinds)}"
    drift = [c for c in CASES.values() if c.drift or c.expect.category.endswith("drift")]
    assert len(drift) >= 8
    vias = {c.drift.via for c in drift if c.drift}
    assert vias == {"none", "data-dir", "prometheus"}
    planted = [s for s, c in CASES.items() if c.expect.secrets]
    assert len(planted) >= 10


def test_drift_with_a_concurrent_rollout_is_decided_both_ways() -> None:
    both = [
        case
        for case in CASES.values()
        if case.drift and case.drift.drifted_since and "rollout" in case.story.lower()
    ]
    assert {case.expect.category for case in both} >= {"rollout", "data-drift"}


def test_alert_names() -> None:
    names = {case.alert.labels["alertname"] for case in CASES.values()}
    wanted = {
        "HighErrorRate", "HighLatency", "KubePodCrashLooping", "ModelFeatureDrift",
        "ModelAccuracyDrop", "ModelThroughputDrop", "ModelCPUThrottled",
        "ModelMemoryNearLimit", "KubeDeploymentReplicasMismatch", "KServeModelNotReady",
    }  # fmt: skip
    assert wanted <= names, sorted(wanted - names)
    assert "PodRestarting" in names or "KubePodCrashLooping" in names


def test_the_readme_lists_every_case() -> None:
    readme = (Path(__file__).parent / "README.md").read_text(encoding="utf-8")
    listed = set(re.findall(r"^\| `([a-z0-9-]+)` \|", readme, flags=re.MULTILINE))
    assert listed == set(SLUGS)


def test_each_case_has_its_own_start() -> None:
    starts = Counter(case.alert.startsAt for case in CASES.values())
    assert max(starts.values()) == 1, [s for s, n in starts.items() if n > 1]


# --- the loader is strict -------------------------------------------------------------------


def test_unknown_keys_are_rejected(tmp_path: Path) -> None:
    path = sorted(Path(__file__).parent.joinpath("cases").glob("*.yaml"))[0]
    doc = yaml.safe_load(path.read_text())
    doc["expect"]["categroy"] = "rollout"
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(doc))
    with pytest.raises(ValueError, match="categroy"):
        load_case(bad)


# --- promtool notation ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1 2 3", [1.0, 2.0, 3.0]),
        ("0+10x3", [0.0, 10.0, 20.0, 30.0]),
        ("100-25x2", [100.0, 75.0, 50.0]),
        ("5x2", [5.0, 5.0, 5.0]),
        ("1.5e3+0.5x1", [1500.0, 1500.5]),
        ("-2+1x2", [-2.0, -1.0, 0.0]),
        ("_ 1 _x2 stale", ["_", 1.0, "_", "_", "stale"]),
        ("0+0x1 7+7x1", [0.0, 0.0, 7.0, 14.0]),
        ("Inf -Inf", [float("inf"), float("-inf")]),
    ],
)
def test_expand_values(text: str, expected: list[object]) -> None:
    assert expand_values(text) == expected


@pytest.mark.parametrize("text", ["", "1+x3", "abc", "1+2x", "1+2y3", "--1"])
def test_expand_values_rejects(text: str) -> None:
    with pytest.raises(ValueError):
        expand_values(text)


def test_durations() -> None:
    assert duration_seconds("1m") == 60
    assert duration_seconds("-1h30m") == -5400
    with pytest.raises(ValueError):
        duration_seconds("ten minutes")


def _promtool_tests() -> dict[str, Any]:
    """One promtool test group per case: our expansion predicts what Prometheus stores."""
    groups = []
    for slug, case in CASES.items():
        if not case.prometheus:
            continue
        checks = []
        step = duration_seconds(case.prometheus.interval)
        for series in case.prometheus.series:
            samples = expand_values(series.values)
            for index in sorted({0, len(samples) // 2, len(samples) - 1}):
                value = samples[index]
                if isinstance(value, str):
                    continue
                checks.append(
                    {
                        "expr": series.series,
                        "eval_time": f"{int(index * step)}s",
                        "exp_samples": [{"labels": series.series, "value": value}],
                    }
                )
        groups.append(
            {
                "name": slug,
                "interval": case.prometheus.interval,
                "input_series": [s.model_dump() for s in case.prometheus.series],
                "promql_expr_test": checks,
            }
        )
    return {"rule_files": [], "evaluation_interval": "1m", "tests": groups}


def test_promtool_reads_every_series_as_we_do(tmp_path: Path) -> None:
    promtool = require_tool("promtool", "`make system-deps` (Debian package prometheus)")
    tests = _promtool_tests()
    assert len(tests["tests"]) >= 10
    (tmp_path / "corpus_test.yml").write_text(yaml.safe_dump(tests, sort_keys=False))
    result = subprocess.run(
        [promtool, "test", "rules", "corpus_test.yml"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
