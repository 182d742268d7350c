"""The engine's decisions: corrected false-alarm rate, detection, effect floor, min rows."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from bot.drift.stats.correction import reject
from bot.drift.stats.engine import Reference
from bot.drift.stats.results import DriftOptions


def _columns(matrix: np.ndarray) -> dict[str, np.ndarray]:
    return {f"f{i}": matrix[:, i] for i in range(matrix.shape[1])}


def test_bonferroni_keeps_false_alarms_near_alpha_with_50_features() -> None:
    rng = np.random.default_rng(20240601)
    reference = Reference(_columns(rng.normal(size=(2_000, 50))))
    windows, alarms, uncorrected = 200, 0, 0
    for _ in range(windows):
        report = reference.evaluate(_columns(rng.normal(size=(300, 50))))
        alarms += report.drift
        uncorrected += any(f.p_value < 0.05 for f in report.features)
    # Bonferroni bounds the family-wise rate by alpha; the seed's rule alarms nearly always.
    assert alarms / windows <= 0.09
    assert uncorrected / windows > 0.8


def test_benjamini_hochberg_also_quiet_on_same_distribution() -> None:
    rng = np.random.default_rng(7)
    reference = Reference(_columns(rng.normal(size=(2_000, 50))))
    options = DriftOptions(correction="bh")
    alarms = sum(
        reference.evaluate(_columns(rng.normal(size=(300, 50))), options).drift for _ in range(100)
    )
    assert alarms / 100 <= 0.1


def test_detects_the_shifted_feature_only() -> None:
    rng = np.random.default_rng(3)
    reference = Reference(_columns(rng.normal(size=(5_000, 50))))
    window = rng.normal(size=(1_000, 50))
    window[:, 17] += 0.5
    report = reference.evaluate(_columns(window))
    assert report.drifted() == ("f17",)
    f17 = report.features[17]
    assert f17.test == "ks" and f17.significant and f17.effect is not None
    assert f17.effect == pytest.approx(0.5, abs=0.1)  # normed Wasserstein of a 0.5 sd shift
    assert report.drift_share == pytest.approx(1 / 50)
    assert not report.dataset_drift


def test_tiny_significant_shift_stays_below_the_effect_floor() -> None:
    rng = np.random.default_rng(11)
    reference = Reference({"x": rng.normal(size=60_000)})
    report = reference.evaluate({"x": rng.normal(0.05, 1.0, 60_000)})
    (feature,) = report.features
    assert feature.significant and not feature.drift and feature.effect is not None
    assert feature.effect < 0.1
    flagged = reference.evaluate(
        {"x": rng.normal(0.05, 1.0, 60_000)}, DriftOptions(wasserstein_floor=0.0)
    )
    assert flagged.drift


def test_too_few_rows_gives_no_verdict() -> None:
    rng = np.random.default_rng(5)
    reference = Reference({"x": rng.normal(size=1_000)})
    report = reference.evaluate({"x": rng.normal(5.0, 1.0, 10)})
    assert not report.enough_rows and not report.drift
    assert reference.evaluate({"x": rng.normal(5.0, 1.0, 40)}).drift


def test_categorical_feature_uses_chi_square_and_js() -> None:
    rng = np.random.default_rng(9)
    reference = Reference(
        {"city": rng.choice(["a", "b", "c"], 3_000), "x": rng.normal(size=3_000)},
        categorical={"city"},
    )
    same = reference.evaluate({"city": rng.choice(["a", "b", "c"], 800), "x": rng.normal(size=800)})
    assert not same.drift
    moved = reference.evaluate(
        {"city": rng.choice(["a", "b", "d"], 800, p=[0.7, 0.2, 0.1]), "x": rng.normal(size=800)}
    )
    city = moved.features[0]
    assert city.test == "chi2" and city.drift and city.effect is not None and city.effect > 0.1


def test_missing_values_are_dropped_per_feature() -> None:
    rng = np.random.default_rng(1)
    ref_x = rng.normal(size=500)
    ref_x[::7] = np.nan
    win_x = rng.normal(size=400)
    win_x[::5] = np.nan
    reference = Reference({"x": ref_x, "y": rng.normal(size=500)})
    report = reference.evaluate({"x": win_x, "y": rng.normal(size=400)})
    expected = stats.ks_2samp(ref_x[~np.isnan(ref_x)], win_x[~np.isnan(win_x)])
    assert report.features[0].statistic == expected.statistic
    assert report.features[0].p_value == pytest.approx(expected.pvalue, rel=1e-9)


@pytest.mark.parametrize(
    ("p", "correction", "expected"),
    [
        ([0.001, 0.02, 0.03, 0.5], "bonferroni", [True, False, False, False]),
        ([0.001, 0.02, 0.03, 0.5], "bh", [True, True, True, False]),
        ([0.001, 0.02, 0.03, 0.5], "none", [True, True, True, False]),
        ([0.04, 0.01, 0.9], "bh", [False, True, False]),
    ],
)
def test_corrections(p: list[float], correction: str, expected: list[bool]) -> None:
    assert reject(np.array(p), 0.05, correction).tolist() == expected  # type: ignore[arg-type]
