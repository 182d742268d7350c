"""The corpus as a whole has the issue's shape, and its loader is strict.

Both KServe modes, every category, the common causes at least twice, distractors of every
kind, drift found every way (and beside a rollout, decided both ways), planted secrets,
the alert names we and others use, one start time per case, a README that lists them all.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest
import yaml

from tests.corpus.schema import load_case
from tests.corpus.views import CASES, SLUGS, is_raw

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
    causes: Counter[str] = Counter(case.expect.cause for case in CASES.values())
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


def test_slugs_start_with_their_category() -> None:
    prefixes = {
        "rollout-": "rollout",
        "infra-": "infrastructure",
        "data-": "data-drift",
        "drift-": "data-drift",
        "concept-": "concept-drift",
        "unknown-": "unknown",
    }
    wrong = {
        slug: case.expect.category
        for slug, case in CASES.items()
        if prefixes.get(slug.split("-")[0] + "-") != case.expect.category
    }
    assert wrong == {}
