"""Back-pressure through HTTP: bounded by the memory of the in-flight queue and the free
disk, never by how many notifications wait in the store."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path
from typing import Any

from bot.model.collector import TriageContext
from bot.model.results import AnyEvidence

from .conftest import AUTH, AppFactory, load_fixture

BURST = 20_000


class _Held:
    """A collector that holds every triage until the test ends: the backlog only grows."""

    name = "Held"
    timeout = 60.0

    def __init__(self) -> None:
        self.entered = asyncio.Event()

    async def collect(self, context: TriageContext) -> AnyEvidence | None:
        self.entered.set()
        await asyncio.Event().wait()
        return None


def _notification(n: int) -> dict[str, Any]:
    body = load_fixture("high-error-rate-firing.json")
    body["groupKey"] = f'{{}}:{{alertname="Burst{n}"}}'
    body["alerts"][0]["fingerprint"] = f"{n:016x}"
    return body


def _rows(data_dir: Path) -> int:
    with sqlite3.connect(data_dir / "triage-bot.sqlite3") as db:
        (count,) = db.execute("SELECT COUNT(*) FROM notifications").fetchone()
    return int(count)


async def test_a_burst_of_20000_distinct_notifications_is_accepted(
    service: AppFactory, tmp_path: Path
) -> None:
    held = _Held()
    # Defaults for the bounds (64 MiB of queue, 100 MiB of disk); the triages stay held, so
    # every notification is still waiting when the burst ends (the former count bound, 1000,
    # answered 503 from the 1001st on).
    client, _ = await service(collectors=(held,), triage_workers=1, shutdown_timeout_seconds=0)
    bodies = [_notification(n) for n in range(BURST)]
    statuses: dict[int, int] = {}

    async def send(start: int) -> None:
        for n in range(start, BURST, 64):
            response = await client.post("/alertmanager", json=bodies[n], headers=AUTH)
            statuses[response.status] = statuses.get(response.status, 0) + 1

    await asyncio.gather(*(send(i) for i in range(64)))
    assert statuses == {200: BURST}
    assert held.entered.is_set()
    metrics = await (await client.get("/metrics")).text()
    (depth,) = [line for line in metrics.splitlines() if line.startswith("triage_bot_queue_depth ")]
    # Held triages give up after the collectors' budget (8 s): a few may be done by now.
    assert float(depth.split()[1]) > BURST - 100
    assert f'triage_bot_webhooks_total{{outcome="accepted"}} {float(BURST)}' in metrics
    assert _rows(tmp_path) == BURST


async def test_a_nearly_full_disk_is_503_naming_it_and_nothing_is_stored(
    service: AppFactory, tmp_path: Path
) -> None:
    # More free space asked for than any disk has: the receiver refuses before writing.
    client, _ = await service(min_free_disk_mib=2**40)
    response = await client.post("/alertmanager", json=_notification(1), headers=AUTH)
    assert response.status == 503
    assert response.headers["Retry-After"].isdigit()
    error = (await response.json())["error"]
    assert "disk nearly full" in error and "min_free_disk_mib" in error
    metrics = await (await client.get("/metrics")).text()
    assert 'triage_bot_webhooks_total{outcome="disk_full"} 1.0' in metrics
    assert _rows(tmp_path) == 0
