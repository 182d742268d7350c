"""Tolerant readers of Kubernetes JSON values."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.cluster.parsing import condition_true, quantity, timestamp


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("512Mi", 512 * 2**20),
        ("1.5Gi", 1.5 * 2**30),
        ("500m", 0.5),
        ("2", 2.0),
        ("1e3", 1000.0),
        ("128M", 128e6),
        (3, 3.0),
        ("lots", None),
        ("5Qi", None),
        (None, None),
    ],
)
def test_quantity(text: object, value: float | None) -> None:
    assert quantity(text) == value


def test_timestamp_tolerates_null_and_fractions() -> None:
    assert timestamp(None) is None
    assert timestamp("") is None
    assert timestamp("not a time") is None
    assert timestamp("2026-11-24T19:00:49Z") == datetime(2026, 11, 24, 19, 0, 49, tzinfo=UTC)
    assert timestamp("2026-11-24T19:00:49.123456Z") == datetime(
        2026, 11, 24, 19, 0, 49, 123456, tzinfo=UTC
    )


def test_condition_true() -> None:
    status = {
        "conditions": [{"type": "Ready", "status": "False"}, {"type": "X", "status": "Unknown"}]
    }
    assert condition_true(status, "Ready") is False
    assert condition_true(status, "X") is None
    assert condition_true(status, "Missing") is None
    assert condition_true({"conditions": None}, "Ready") is None
