"""The drift history on a real PostgreSQL: the same contract as the SQLite table, shared."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest

from bot.drift.evaluation import Evaluation
from bot.drift.history_table import HistoryUnavailable
from bot.drift.ingest.feedback import Quality
from bot.drift.pg_history import PostgresHistory
from bot.store.postgres.store import PostgresStore


def _evaluation(minute: int, accuracy: float | None = None) -> Evaluation:
    at = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=minute)
    return Evaluation("ns/m", at, None, None, Quality(labelled=10, accuracy=accuracy))


async def test_prunes_per_model_reads_newer_rows_and_skips_unreadable_ones(
    postgres_url: str,
) -> None:
    store = PostgresStore(postgres_url)
    await store.open()
    other_replica = PostgresStore(postgres_url)
    await other_replica.open()
    try:
        table = PostgresHistory(store, keep=2)
        reader = PostgresHistory(other_replica, keep=2)
        await table.ensure()
        for minute in range(3):
            assert await table.record("ns", "m", _evaluation(minute, accuracy=0.5 + minute / 10))
        assert await table.record("ns", "other", _evaluation(9))
        # the other replica reads what this one wrote: oldest first, the first one pruned
        assert [e.at.minute for e in await reader.load("ns", "m")] == [1, 2]
        assert [e.at.minute for e in await reader.load("ns", "other")] == [9]
        assert [d["quality"]["accuracy"] for d in await reader.recent("ns", "m")] == [0.7, 0.6]
        last, newer = await reader.newer("ns", "m", 0)
        assert [e.at.minute for e in newer] == [1, 2]
        assert await reader.newer("ns", "m", last) == (last, [])
        assert await table.record("ns", "m", _evaluation(4))
        last2, newer = await reader.newer("ns", "m", last)
        assert last2 > last and [e.at.minute for e in newer] == [4]
        rows = await store.pool.fetch(
            "SELECT accuracy, evaluated_at FROM drift_evaluations WHERE model = 'm' ORDER BY id"
        )
        assert [(r[0], r[1].minute) for r in rows] == [(0.7, 2), (None, 4)]
        await store.pool.execute(
            "UPDATE drift_evaluations SET evaluation = '{\"at\": 1}' WHERE model = 'm'"
        )
        assert await reader.load("ns", "m") == []  # neither row reads back: both skipped
    finally:
        await store.close()
        await other_replica.close()
    assert not await table.record("ns", "m", _evaluation(5))  # closed store: refused, no raise
    with pytest.raises(HistoryUnavailable):
        await table.recent("ns", "m")


def _heavy_after_building(models: str) -> str:
    probe = (
        "import sys\n"
        "from pathlib import Path\n"
        "from prometheus_client import CollectorRegistry\n"
        "from bot.config_sections.drift import DriftSettings\n"
        "from bot.drift.service import DriftService\n"
        "from bot.store.postgres.store import PostgresStore\n"
        f"settings = DriftSettings.model_validate({{'models': {models}}})\n"
        "store = PostgresStore('postgresql://127.0.0.1:1/unused')\n"
        "DriftService(settings, CollectorRegistry(), store, data_dir=Path('.'))\n"
        "print(sorted(m for m in ('numpy', 'scipy') if m in sys.modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )
    return done.stdout.strip()


def test_a_postgres_service_without_models_loads_no_numpy() -> None:
    """Start-up stays light on PostgreSQL too: the shared windows load with the first model."""
    assert _heavy_after_building("[]") == "[]"
    model = "[{'namespace': 'ns', 'name': 'm'}]"
    assert "numpy" in _heavy_after_building(model)
