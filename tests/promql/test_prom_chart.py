"""The PNG chart of metrics evidence."""

from __future__ import annotations

import struct
from datetime import UTC, datetime, timedelta

from bot.model.signal_evidence import MetricsEvidence, ResourceUse, Series
from bot.promql.chart import render_chart

T0 = datetime(2026, 11, 24, 19, 0, tzinfo=UTC)


def _size(png: bytes) -> tuple[int, int]:
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert png[12:16] == b"IHDR"
    width, height = struct.unpack(">II", png[16:24])
    return width, height


def _evidence(**changes: object) -> MetricsEvidence:
    points = tuple((T0.timestamp() + 10 * i, 0.3 if i > 30 else 0.01) for i in range(60))
    base = {
        "expression": "sum(rate(request_error_count[5m])) / sum(rate(request_count[5m]))",
        "start": T0,
        "end": T0 + timedelta(minutes=10),
        "series": (Series({"model": "wine"}, points), Series({"model": "x"}, ())),
        "threshold": 0.05,
        "comparison": ">",
        "alert_start": T0 + timedelta(minutes=5),
    }
    base.update(changes)
    return MetricsEvidence(**base)  # type: ignore[arg-type]


def test_chart_is_a_png_of_the_expected_size() -> None:
    assert _size(render_chart(_evidence(), "HighErrorRate models/wine")) == (800, 450)


def test_resource_panel_makes_the_chart_taller() -> None:
    use = ResourceUse("wine-predictor-1", "kserve-container", 9e8, 1e9, 0.5, 1.0)
    assert _size(render_chart(_evidence(resources=(use,)), "t")) == (800, 650)


def test_chart_of_nothing_still_renders() -> None:
    png = render_chart(MetricsEvidence(), "")
    assert _size(png) == (800, 450)


def test_nan_points_and_long_titles_do_not_break_the_chart() -> None:
    nan = float("nan")
    points = ((T0.timestamp(), nan), (T0.timestamp() + 60, 1.0))
    evidence = _evidence(series=(Series({}, points),), threshold=None, comparison="")
    assert _size(render_chart(evidence, "x" * 500))[0] == 800
