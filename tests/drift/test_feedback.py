"""Feedback joins: regression errors, bounded pending maps, the derived baseline."""

from __future__ import annotations

import math

import pytest

from bot.drift.ingest.feedback import Feedback


def test_regression_mae_and_rmse() -> None:
    feedback = Feedback("regression", rows=10, pending=10)
    feedback.add_predictions("a", (1.0, 2.0))
    assert feedback.add_labels("a", (2.0, 2.0)) == 2
    feedback.add_labels("b", (0.0,))
    feedback.add_predictions("b", (3.0,))
    quality = feedback.quality()
    assert quality.labelled == 3 and quality.accuracy is None
    assert quality.mae == pytest.approx(4 / 3)
    assert quality.rmse == pytest.approx(math.sqrt(10 / 3))


def test_pending_ids_are_bounded_and_baseline_is_derived() -> None:
    feedback = Feedback("classification", rows=100, pending=2, baseline_rows=4)
    for i in range(3):
        feedback.add_predictions(str(i), ("x",))
    assert feedback.add_labels("0", ("x",)) == 0  # the oldest was forgotten
    for i in range(1, 3):
        feedback.add_labels(str(i), ("x",))
    for i in range(3, 5):
        feedback.add_predictions(str(i), ("x",))
        feedback.add_labels(str(i), ("y",))
    assert feedback.baseline == 0.5 and feedback.quality().accuracy == 0.5
    restored = Feedback("classification", rows=100, pending=2, baseline_rows=4)
    restored.load(feedback.state())
    assert restored.quality() == feedback.quality()
