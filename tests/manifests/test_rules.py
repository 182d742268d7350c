"""The PrometheusRule through the real promtool: it parses, and every alert is unit-tested.

The rules are taken from the PrometheusRule's spec (the same text the operator loads) and
run against tests/manifests/rules_test.yml.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import yaml

from tests.fakes.servers import rules_from_prometheus_rule
from tests.manifests.conftest import prometheus_rule, require_tool

TEST_FILE = Path(__file__).with_name("rules_test.yml")


def _promtool(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    promtool = require_tool("promtool", "`make system-deps` (Debian package prometheus)")
    return subprocess.run([promtool, *args], capture_output=True, text=True, cwd=cwd, timeout=120)


def _write_rules(directory: Path, rules: dict[str, Any]) -> None:
    (directory / "rules.yml").write_text(yaml.safe_dump(rules, sort_keys=False))
    shutil.copy(TEST_FILE, directory / "rules_test.yml")


def test_promtool_check_rules(tmp_path: Path) -> None:
    _write_rules(tmp_path, rules_from_prometheus_rule(prometheus_rule()))
    result = _promtool("check", "rules", "rules.yml", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS: 13 rules found" in result.stdout


def test_promtool_test_rules(tmp_path: Path) -> None:
    _write_rules(tmp_path, rules_from_prometheus_rule(prometheus_rule()))
    result = _promtool("test", "rules", "rules_test.yml", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_seed_rule_would_fail_the_same_tests(tmp_path: Path) -> None:
    """The tests can fail: the seed's per-second error rule fires on the busy model."""
    rules = rules_from_prometheus_rule(prometheus_rule())
    high = next(r for g in rules["groups"] for r in g["rules"] if r.get("alert") == "HighErrorRate")
    high["expr"] = (
        "sum by (namespace, inferenceservice, model) (rate(request_error_count[5m])) > 0.05"
    )
    _write_rules(tmp_path, rules)
    result = _promtool("test", "rules", "rules_test.yml", cwd=tmp_path)
    assert result.returncode != 0
    assert 'model="busier"' in result.stdout + result.stderr


def test_every_alert_is_tested_firing_and_quiet() -> None:
    alerts = {
        r["alert"] for g in prometheus_rule()["spec"]["groups"] for r in g["rules"] if "alert" in r
    }
    fires: set[str] = set()
    quiet: set[str] = set()
    for case in yaml.safe_load(TEST_FILE.read_text())["tests"]:
        for check in case.get("alert_rule_test", []):
            (fires if check.get("exp_alerts") else quiet).add(check["alertname"])
    assert alerts - fires == set(), "alerts never tested firing"
    assert alerts - quiet == set(), "alerts never tested quiet"


def test_short_for_override_for_end_to_end_runs() -> None:
    rules = rules_from_prometheus_rule(prometheus_rule(), for_override="2s")
    durations = {r["for"] for g in rules["groups"] for r in g["rules"] if "for" in r}
    assert durations == {"2s"}
    quick = rules_from_prometheus_rule(prometheus_rule(), range_override="5s")
    exprs = [r["expr"] for g in quick["groups"] for r in g["rules"]]
    assert all("[5m]" not in e and "[15m]" not in e for e in exprs)
    assert any("rate(request_error_count[5s])" in e for e in exprs)


def test_drift_rules_counting_each_replica_would_fail_the_same_tests(tmp_path: Path) -> None:
    """The two-replica case can fail: counting without folding the replicas gives 2."""
    rules = rules_from_prometheus_rule(prometheus_rule())
    drift = next(
        r for g in rules["groups"] for r in g["rules"] if r.get("alert") == "ModelFeatureDrift"
    )
    drift["expr"] = (
        "label_replace(count by (namespace, model) (triage_bot_drift_feature_drifted == 1) > 0,"
        ' "inferenceservice", "$1", "model", "(.+)")'
    )
    _write_rules(tmp_path, rules)
    result = _promtool("test", "rules", "rules_test.yml", cwd=tmp_path)
    assert result.returncode != 0
    assert "models/fraud: 2 input features drifted" in result.stdout + result.stderr
