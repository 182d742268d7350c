"""The `drift_evaluations` table on a real store: pruning per model, bad rows, a closed store."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.drift.evaluation import Evaluation
from bot.drift.history_table import HistoryTable
from bot.drift.ingest.feedback import Quality
from bot.store.sqlite import Store


def _evaluation(minute: int, accuracy: float | None = None) -> Evaluation:
    at = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=minute)
    return Evaluation("ns/m", at, None, None, Quality(labelled=10, accuracy=accuracy))


async def test_prunes_per_model_and_skips_unreadable_rows(tmp_path: Path) -> None:
    store = Store(tmp_path / "x.sqlite3", synchronous="normal")
    await store.open()
    try:
        table = HistoryTable(store, keep=2)
        await table.ensure()
        for minute in range(3):
            assert await table.record("ns", "m", _evaluation(minute, accuracy=0.5 + minute / 10))
        assert await table.record("ns", "other", _evaluation(9))
        loaded = await table.load("ns", "m")
        assert [e.at.minute for e in loaded] == [1, 2]  # oldest first, the first one pruned
        assert [e.at.minute for e in await table.load("ns", "other")] == [9]
        async with store.connection.execute(
            "SELECT accuracy, drift_share FROM drift_evaluations WHERE model = 'm' ORDER BY id"
        ) as cur:
            assert [tuple(row) for row in await cur.fetchall()] == [(0.6, None), (0.7, None)]
        await store.write(
            ("UPDATE drift_evaluations SET evaluation = '{\"at\": 1' WHERE id = 2", ())
        )
        await store.write(("UPDATE drift_evaluations SET evaluation = '{}' WHERE id = 3", ()))
        assert await table.load("ns", "m") == []  # neither row reads back: both skipped
    finally:
        await store.close()
    assert not await table.record("ns", "m", _evaluation(5))  # closed store: refused, no raise
