"""What a shared window keeps, captures and deletes: the plans on a batch index, by table."""

from __future__ import annotations

import pytest

from bot.drift.pg_windows import BatchInfo
from bot.drift.shared_plan import CapturePlan, Part, plan_capture, plan_window


def _infos(*sizes: int, at: float = 100.0) -> list[BatchInfo]:
    return [BatchInfo(i + 1, at + i, ("a",), rows) for i, rows in enumerate(sizes)]


@pytest.mark.parametrize(
    ("sizes", "need", "expected"),
    [
        ((30, 30), 100, 60),  # still capturing: how many so far
        ((), 10, 0),
        ((50, 50, 20), 100, CapturePlan((Part(1, 0, 50), Part(2, 0, 50)), (1, 2), None)),
        (
            (30, 30, 30, 30),
            100,
            CapturePlan(
                (Part(1, 0, 30), Part(2, 0, 30), Part(3, 0, 30), Part(4, 0, 10)),
                (1, 2, 3),
                Part(4, 10, 30),  # the straddling batch keeps its last 20 rows
            ),
        ),
        ((500,), 200, CapturePlan((Part(1, 0, 200),), (), Part(1, 200, 500))),
    ],
)
def test_plan_capture(sizes: tuple[int, ...], need: int, expected: CapturePlan | int) -> None:
    assert plan_capture(_infos(*sizes), need) == expected


@pytest.mark.parametrize(
    ("sizes", "now", "rows", "seconds", "parts", "dropped"),
    [
        # all young, room for all
        ((40, 40), 105.0, 100, 60.0, [Part(1, 0, 40), Part(2, 0, 40)], []),
        # the newest 100 rows: batch 1 beyond the count, batch 3 cut to its last 20
        ((40, 40, 40, 40), 105.0, 100, 60.0, [Part(2, 20, 40), Part(3, 0, 40), Part(4, 0, 40)],
         [1]),
        # batches arrived at 100, 101, 102; the cutoff 161 - 60 = 101 expires only the first
        ((40, 40, 40), 161.0, 1000, 60.0, [Part(2, 0, 40), Part(3, 0, 40)], [1]),
        ((), 0.0, 10, 1.0, [], []),
    ],
)  # fmt: skip
def test_plan_window(
    sizes: tuple[int, ...],
    now: float,
    rows: int,
    seconds: float,
    parts: list[Part],
    dropped: list[int],
) -> None:
    assert plan_window(_infos(*sizes), now, rows, seconds) == (parts, dropped)
