"""The PostgreSQL store and the service on it against SQLite, in one run.

Store level (`--level store`), each for `--seconds` with `--writers` concurrent writers:
- sqlite: `Store.add_notification` (group commit, synchronous=FULL): the baseline;
- postgres x1: `PostgresStore.accept`, one replica (one pool);
- postgres x2 HA: two replicas (two pools), every notification sent to both as
  Alertmanager's HA peers do; counted once per stored notification;
- lease drain: two replicas draining 2,000 pending notifications (200 groups) through
  group leases, notifications finished per second.

Webhook level (`--level webhook`, bench/ha_webhook.py): the real service, one replica on
SQLite (the baseline), one and two replicas on PostgreSQL, every notification sent twice
as an Alertmanager HA pair does: accepted webhooks/s with `--senders` senders, and the
time from a webhook sent to its group's message at the fake Slack.

Every set-up is measured `--rounds` times in turn (median and range printed, ratios
against the SQLite baseline of the same run). PostgreSQL is a throwaway cluster
(tests/store/postgres_server.py) with fsync on, as in production.

    .venv/bin/python bench/ha.py --seconds 3 --rounds 3
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import ha_webhook  # noqa: E402  (beside this script)

from bot.store.postgres.leases import Leases  # noqa: E402
from bot.store.postgres.store import PostgresStore  # noqa: E402
from bot.store.sqlite import Store  # noqa: E402
from tests.store.postgres_server import (
    PostgresServer,
    fresh_database,
    remove_server,
    start_server,
)  # noqa: E402

BODY = '{"version": "4", "status": "firing", "alerts": []}' + " " * 2000


async def _rate(writers: int, seconds: float, send: Callable[[int], Awaitable[int]]) -> float:
    """Stored notifications per second with `writers` loops calling `send(i)`."""
    stored = 0
    deadline = time.perf_counter() + seconds
    counter = iter(range(10**9))

    async def loop() -> None:
        nonlocal stored
        while time.perf_counter() < deadline:
            got = await send(next(counter))  # not `stored += await`: that reads before it awaits
            stored += got

    start = time.perf_counter()
    await asyncio.gather(*(loop() for _ in range(writers)))
    return stored / (time.perf_counter() - start)


async def sqlite_rate(writers: int, seconds: float) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(Path(tmp) / "bench.sqlite3")
        await store.open()
        try:

            async def send(i: int) -> int:
                await store.add_notification(f"g{i}", "firing", f"k{i}", BODY)
                return 1

            return await _rate(writers, seconds, send)
        finally:
            await store.close()


async def postgres_rate(
    server: PostgresServer, writers: int, seconds: float, replicas: int
) -> float:
    url = await fresh_database(server, "bench")
    stores = [PostgresStore(url) for _ in range(replicas)]
    for store in stores:
        await store.open()
    try:

        async def send(i: int) -> int:
            # Each notification goes to every replica (HA peers); stored once.
            results = await asyncio.gather(
                *(s.accept(f"g{i}", "firing", f"k{i}", BODY) for s in stores)
            )
            return sum(r.is_new for r in results)

        return await _rate(writers, seconds, send)
    finally:
        for store in stores:
            await store.close()


async def lease_drain(server: PostgresServer, notifications: int = 2000) -> float:
    url = await fresh_database(server, "bench")
    stores = [PostgresStore(url) for _ in range(2)]
    for store in stores:
        await store.open()
    try:
        rows = [(f"g{i % 200}", "firing", f"k{i}", BODY) for i in range(notifications)]
        async with stores[0].pool.acquire() as conn:
            await conn.executemany(
                "INSERT INTO notifications (group_key, status, dedup_key, body)"
                " VALUES ($1, $2, $3, $4)",
                rows,
            )
        finished = 0

        async def replica(name: str, store: PostgresStore) -> None:
            nonlocal finished
            leases = Leases(store.pool, name)
            while (claim := await leases.claim()) is not None:
                for n in claim.notifications:
                    if await leases.finish(claim.group_key, n.id):
                        finished += 1
                await leases.release(claim.group_key)

        start = time.perf_counter()
        await asyncio.gather(*(replica(f"r{i}", s) for i, s in enumerate(stores)))
        assert finished == notifications, finished
        return finished / (time.perf_counter() - start)
    finally:
        for store in stores:
            await store.close()


def _summary(values: list[float]) -> str:
    return f"{statistics.median(values):8,.0f}/s  (range {min(values):,.0f}-{max(values):,.0f})"


async def store_level(server: PostgresServer, args: argparse.Namespace) -> None:
    runs: dict[str, list[float]] = {"sqlite": [], "pg1": [], "pg2": [], "drain": []}
    for _ in range(args.rounds):
        runs["sqlite"].append(await sqlite_rate(args.writers, args.seconds))
        runs["pg1"].append(await postgres_rate(server, args.writers, args.seconds, 1))
        runs["pg2"].append(await postgres_rate(server, args.writers, args.seconds, 2))
        runs["drain"].append(await lease_drain(server))
    base = statistics.median(runs["sqlite"])
    print(f"store: {args.writers} writers, {args.seconds:g} s x {args.rounds} rounds; stored")
    print(f"sqlite (baseline)        {_summary(runs['sqlite'])}")
    for key, name in (("pg1", "postgres x1"), ("pg2", "postgres x2 HA copies")):
        ratio = statistics.median(runs[key]) / base
        print(f"{name:<24} {_summary(runs[key])}  ratio {ratio:.2f}")
    print(f"lease drain, 2 replicas  {_summary(runs['drain'])}  notifications finished")


async def webhook_level(server: PostgresServer, args: argparse.Namespace) -> None:
    setups = {"sqlite x1": (False, 1), "postgres x1": (True, 1), "postgres x2": (True, 2)}
    rates: dict[str, list[float]] = {name: [] for name in setups}
    to_slack: dict[str, list[float]] = {name: [] for name in setups}
    for _ in range(args.rounds):
        for name, (postgres, replicas) in setups.items():
            url = await fresh_database(server, "bench") if postgres else None
            result = await ha_webhook.measure(
                url, replicas, senders=args.senders, seconds=args.seconds,
                groups=args.latency_groups,
            )  # fmt: skip
            rates[name].append(result.accepted_per_second)
            # one figure per round: the median group's time, so rounds weigh alike
            to_slack[name].append(statistics.median(result.to_slack))
    print(
        f"webhooks: {args.senders} senders x 2 copies, {args.seconds:g} s x {args.rounds}"
        f" rounds; time to Slack: median of {args.latency_groups} groups at 10/s per round"
    )
    base_rate = statistics.median(rates["sqlite x1"])
    base_slack = statistics.median(to_slack["sqlite x1"])
    for name in setups:
        accepted = ha_webhook.summary(rates[name], "/s")
        latency = ha_webhook.summary(to_slack[name], " ms", 1000)
        ratios = (
            f"ratios {statistics.median(rates[name]) / base_rate:.2f},"
            f" {statistics.median(to_slack[name]) / base_slack:.2f}"
        )
        print(f"{name:<12} accepted {accepted}  to Slack {latency}  {ratios}")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--level", choices=["store", "webhook", "both"], default="both")
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--writers", type=int, default=64)
    parser.add_argument("--senders", type=int, default=32)
    parser.add_argument("--latency-groups", type=int, default=20)
    args = parser.parse_args()
    server = await asyncio.to_thread(start_server)
    # The test fixture turns fsync off for speed; a benchmark keeps PostgreSQL's defaults.
    await asyncio.to_thread(server.stop)
    server.options = ""
    await asyncio.to_thread(server.start)
    try:
        if args.level in ("store", "both"):
            await store_level(server, args)
        if args.level in ("webhook", "both"):
            await webhook_level(server, args)
    finally:
        await asyncio.to_thread(remove_server, server)


if __name__ == "__main__":
    asyncio.run(main())
