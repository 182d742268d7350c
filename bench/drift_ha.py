"""Drift with several replicas: the cost of shared windows on PostgreSQL against SQLite.

In one run, `--rounds` times in turn (median and range printed, ratios to SQLite):
- ingest, sqlite (baseline): `POST /ingest/kserve` into one service whose windows are in
  memory (the single-replica install, store on SQLite);
- ingest, postgres x1: the same into one service on PostgreSQL, each event's rows
  appended as one batch row (`bot/drift/pg_windows.py`);
- ingest, postgres x2: two services (two pools, two HTTP servers), the events split
  between them, as two replicas behind one Service;
- evaluation rounds: the first, with every row ingested waiting (in memory: a full
  window; PostgreSQL: reading the index of every batch, the rows of the newest 10,000,
  deleting the rest), and a steady one after 10,000 new rows (what each interval costs).
Events are v2, 100 rows x 50 features (one FP64 [100, 50] tensor, ~60 KB of JSON), sent by
`--senders` concurrent clients in the same process. PostgreSQL is a throwaway cluster
(tests/store/postgres_server.py) with fsync on, as in production.

    .venv/bin/python bench/drift_ha.py --rounds 5 --events 1000
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import aiohttp  # noqa: E402
import numpy as np  # noqa: E402
from aiohttp import web  # noqa: E402
from prometheus_client import CollectorRegistry  # noqa: E402

from bot.config import Settings  # noqa: E402
from bot.config_sections.drift import DriftModelSettings, DriftSettings  # noqa: E402
from bot.drift.service import DriftService  # noqa: E402
from bot.store.postgres.store import PostgresStore  # noqa: E402
from bot.store.sqlite import Store  # noqa: E402
from tests.store.postgres_server import (
    fresh_database,
    remove_server,
    start_server,
)  # noqa: E402

FEATURES = 50


def _event_body(rng: np.random.Generator) -> bytes:
    """A v2 request of 100 rows (one FP64 [100, 50] tensor), as bench/drift.py sends."""
    data = rng.normal(size=(100, FEATURES)).round(6)
    body = {"inputs": [{"name": "x", "shape": [100, FEATURES], "datatype": "FP64",
                        "data": data.ravel().tolist()}]}  # fmt: skip
    return json.dumps(body).encode()


def _settings(root: Path) -> Settings:
    model = DriftModelSettings(namespace="ml", name="m", capture_rows=1_000)
    # The services' own timers never fire during a run: the rounds timed are the bench's.
    drift = DriftSettings(window_rows=10_000, interval_seconds=1e7, models=(model,))
    return Settings(data_dir=root, drift=drift)


def _headers(i: int) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "ce-specversion": "1.0",
        "ce-id": f"id-{i}",
        "ce-type": "org.kubeflow.serving.inference.request",
        "ce-source": "bench",
        "ce-inferenceservicename": "m",
        "ce-namespace": "ml",
    }


@asynccontextmanager
async def _replica(
    store: Store | PostgresStore, root: Path
) -> AsyncIterator[tuple[DriftService, str]]:
    """A started drift service behind a local HTTP server: (service, ingest URL)."""
    await store.open()
    settings = _settings(root)
    service = DriftService(settings.drift, CollectorRegistry(), store, data_dir=root)
    await service.start()
    app = web.Application()
    app.add_routes(service.routes())
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield service, f"http://127.0.0.1:{runner.addresses[0][1]}/ingest/kserve"
    finally:
        await runner.cleanup()
        await service.close()
        await store.close()


async def _send(
    urls: list[str], events: int, senders: int, bodies: list[bytes], first_id: int
) -> float:
    """Rows accepted per second, events spread over `urls` in turn."""
    queue = iter(range(first_id, first_id + events))
    async with aiohttp.ClientSession() as session:

        async def sender() -> None:
            for i in queue:
                url = urls[i % len(urls)]
                body = bodies[i % len(bodies)]
                async with session.post(url, data=body, headers=_headers(i)) as response:
                    assert response.status == 200, await response.text()

        began = time.perf_counter()
        await asyncio.gather(*(sender() for _ in range(senders)))
        return events * 100 / (time.perf_counter() - began)


async def _measure(
    stores: list[Store | PostgresStore], events: int, senders: int, bodies: list[bytes]
) -> tuple[float, float, float]:
    """(ingest rows/s; seconds of the first evaluation round, with `events` x 100 rows
    waiting; seconds of a steady round: a window of new rows since the last)."""
    with tempfile.TemporaryDirectory() as tmp:
        async with AsyncExitStack() as stack:
            replicas = [
                await stack.enter_async_context(_replica(store, Path(tmp) / f"r{i}"))
                for i, store in enumerate(stores)
            ]
            urls = [url for _, url in replicas]
            rate = await _send(urls, events, senders, bodies, 0)
            service = replicas[0][0]
            began = time.perf_counter()
            await service.evaluate_all()
            first = time.perf_counter() - began
            await _send(urls, 100, senders, bodies, events)  # 10,000 new rows
            if isinstance(stores[0], PostgresStore):  # the next interval: its round is free
                await stores[0].pool.execute("DELETE FROM drift_rounds")
            began = time.perf_counter()
            await service.evaluate_all()
            steady = time.perf_counter() - began
            (monitor,) = service.monitors.values()
            latest = monitor.latest
            assert latest is not None and latest.inputs is not None
            assert latest.inputs.window_rows == 10_000, latest.inputs.window_rows
            return rate, first, steady


def _summary(values: list[float], unit: str, scale: float = 1.0) -> str:
    shown = [v * scale for v in values]
    return f"{statistics.median(shown):9,.1f} {unit}  (range {min(shown):,.1f}-{max(shown):,.1f})"


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--events", type=int, default=1_000)
    parser.add_argument("--senders", type=int, default=8)
    args = parser.parse_args()
    rng = np.random.default_rng(2)
    bodies = [_event_body(rng) for _ in range(200)]
    server = await asyncio.to_thread(start_server)
    # The test fixture turns fsync off for speed; a benchmark keeps PostgreSQL's defaults.
    await asyncio.to_thread(server.stop)
    server.options = ""
    await asyncio.to_thread(server.start)
    runs: dict[str, list[tuple[float, float, float]]] = {"sqlite": [], "pg1": [], "pg2": []}
    try:
        for _ in range(args.rounds):
            with tempfile.TemporaryDirectory() as tmp:
                sqlite: list[Store | PostgresStore] = [Store(Path(tmp) / "bench.sqlite3")]
                runs["sqlite"].append(await _measure(sqlite, args.events, args.senders, bodies))
            url = await fresh_database(server, "drift_bench")
            one: list[Store | PostgresStore] = [PostgresStore(url)]
            runs["pg1"].append(await _measure(one, args.events, args.senders, bodies))
            url = await fresh_database(server, "drift_bench")
            two: list[Store | PostgresStore] = [PostgresStore(url), PostgresStore(url)]
            runs["pg2"].append(await _measure(two, args.events, args.senders, bodies))
    finally:
        await asyncio.to_thread(remove_server, server)
    print(
        f"{args.events} events of 100 rows x 50 features, {args.senders} senders,"
        f" {args.rounds} rounds; medians (range)"
    )
    names = {"sqlite": "sqlite, in memory", "pg1": "postgres x1", "pg2": "postgres x2"}
    columns = (("ingest", 0, "rows/s", 1.0), ("first round", 1, "ms", 1e3),
               ("steady round", 2, "ms", 1e3))  # fmt: skip
    for title, index, unit, scale in columns:
        base = statistics.median(run[index] for run in runs["sqlite"])
        print(title)
        for key, name in names.items():
            values = [run[index] for run in runs[key]]
            ratio = statistics.median(values) / base
            print(f"  {name:<18} {_summary(values, unit, scale)}  ratio {ratio:.2f}")


if __name__ == "__main__":
    asyncio.run(main())
