"""Two real `python -m bot serve` replicas on one PostgreSQL, payload-logger events split
between them: each interval is evaluated once between them, and both serve and export
the same evaluations (the composition root's wiring, the clock-aligned timers)."""

from __future__ import annotations

import json
import os
import re
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.drift.conftest import FEATURES, NAME, NAMESPACE, binary_headers, rows, v2_request
from tests.fakes.servers import wait_for
from tests.ha.replicas import Replica

MODEL = {
    "namespace": NAMESPACE,
    "name": NAME,
    "features": list(FEATURES),
    "categorical": ["color"],
    "capture_rows": 200,
}


def _environment(data_dir: Path, database_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TRIAGE_BOT_", "SLACK_"))}
    env.update(
        TRIAGE_BOT_DATA_DIR=str(data_dir),
        TRIAGE_BOT_DATABASE_URL=database_url,
        TRIAGE_BOT_API__PUBLIC="true",  # loopback only
        TRIAGE_BOT_DRIFT__MODELS=json.dumps([MODEL]),
        TRIAGE_BOT_DRIFT__MIN_ROWS="50",
        TRIAGE_BOT_DRIFT__INTERVAL_SECONDS="1",
        MPLCONFIGDIR=str(data_dir / "matplotlib"),
        PYTHONUNBUFFERED="1",
    )
    return env


@pytest.fixture
async def replicas(postgres_url: str, tmp_path: Path) -> AsyncIterator[list[Replica]]:
    started: list[Replica] = []
    async with aiohttp.ClientSession() as session:
        try:
            for name in ("a", "b"):
                replica = Replica(
                    name, tmp_path / name, _environment(tmp_path / name, postgres_url)
                )
                started.append(replica)
                await replica.start(session)
            yield started
        finally:
            for replica in started:
                await replica.stop()


async def _history(session: aiohttp.ClientSession, replica: Replica) -> list[dict[str, Any]]:
    async with session.get(f"{replica.url}/api/drift/{NAMESPACE}/{NAME}") as response:
        assert response.status == 200, await response.text()
        return list((await response.json())["history"])


def _drifted(metrics: str) -> dict[str, str]:
    pattern = r'triage_bot_drift_feature_drifted\{feature="(\w+)",[^}]*\} (\S+)'
    return dict(re.findall(pattern, metrics))


async def test_two_serving_replicas_evaluate_each_interval_once(replicas: list[Replica]) -> None:
    a, b = replicas
    async with aiohttp.ClientSession() as session:
        data = rows(200, 21) + rows(100, 22, shift=2.0)  # the reference, then a shift
        for i in range(0, 300, 30):
            replica = (a, b)[i // 30 % 2]
            async with session.post(
                f"{replica.url}/ingest/kserve",
                data=json.dumps(v2_request(data[i : i + 30])),
                headers=binary_headers(f"p{i}"),
            ) as response:
                assert response.status == 200, await response.text()

        async def evaluated() -> list[dict[str, Any]] | None:
            history = await _history(session, a)
            done = [e for e in history if e["inputs"] and e["inputs"]["window_rows"] == 100]
            return history if len(done) >= 3 else None

        history = await wait_for(evaluated, timeout=30, interval=0.2, what="three rounds")
        # One evaluation per 1-second interval between the two replicas, never two.
        slots = [int(_epoch(e["at"])) for e in history]
        assert len(slots) == len(set(slots)), slots
        # Both replicas serve the same history and export the same gauges.
        assert await wait_for(
            lambda: _same_latest(session, a, b), timeout=10, interval=0.2, what="b's refresh"
        )
        texts = []
        for replica in (a, b):
            async with session.get(f"{replica.url}/metrics") as response:
                texts.append(await response.text())
        assert _drifted(texts[0])["acidity"] == "1.0"
        assert _drifted(texts[0]) == _drifted(texts[1])


async def _same_latest(session: aiohttp.ClientSession, a: Replica, b: Replica) -> bool:
    first, second = await _history(session, a), await _history(session, b)
    return bool(first) and first[0] == second[0]


def _epoch(text: str) -> float:
    return datetime.fromisoformat(text).timestamp()
