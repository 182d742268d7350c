"""promtool's series notation: our expander in a table, then against the real promtool.

The cross-check writes one `promtool test rules` group per case and expects, at a few
sample times, the value our expansion predicts; a deliberately wrong prediction must fail
it, so the check can fail.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.corpus.schema import duration_seconds, expand_values
from tests.corpus.views import CASES
from tests.manifests.conftest import require_tool

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


def _promtool(tests: dict[str, Any], directory: Path) -> subprocess.CompletedProcess[str]:
    promtool = require_tool("promtool", "`make system-deps` (Debian package prometheus)")
    (directory / "corpus_test.yml").write_text(yaml.safe_dump(tests, sort_keys=False))
    return subprocess.run(
        [promtool, "test", "rules", "corpus_test.yml"],
        capture_output=True,
        text=True,
        cwd=directory,
        timeout=120,
    )


def test_promtool_reads_every_series_as_we_do(tmp_path: Path) -> None:
    tests = _promtool_tests()
    assert len(tests["tests"]) >= 10
    result = _promtool(tests, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_promtool_check_can_fail(tmp_path: Path) -> None:
    tests = _promtool_tests()
    check = tests["tests"][0]["promql_expr_test"][-1]
    check["exp_samples"][0]["value"] += 1
    result = _promtool(tests, tmp_path)
    assert result.returncode != 0
    assert "FAILED" in result.stdout + result.stderr
