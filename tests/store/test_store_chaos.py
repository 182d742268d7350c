"""Chaos at the store level: three replica processes on one PostgreSQL, 50 groups whose
notifications are each sent to two replicas' stores in random order (HA peers), one
replica SIGKILLed mid-storm and started again, PostgreSQL restarted once.

Every acknowledged notification is stored once and finished, each group's in order.
This is the store alone (bot/store/postgres); tests/service/test_postgres_service.py runs
the service itself on PostgreSQL.
"""

from __future__ import annotations

import asyncio
import random
import signal
import subprocess
import sys
from pathlib import Path

import asyncpg

from bot.store.postgres.store import PostgresStore
from tests.store.postgres_server import PostgresServer

ROOT = Path(__file__).resolve().parents[2]
_FAULTS = (OSError, asyncpg.PostgresError, asyncpg.InterfaceError)


def _start(url: str, name: str) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.store.replica_process", url, name],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    assert process.stdout.readline().strip() == "ready"
    return process


async def _send(store: PostgresStore, group: str, key: str) -> int:
    """Retry like Alertmanager until a store acknowledges (accept returned)."""
    while True:
        try:
            return (await store.accept(group, "firing", key, f'{{"key": "{key}"}}')).id
        except _FAULTS:
            await asyncio.sleep(0.05)


async def test_replicas_killed_and_postgres_restarted_lose_and_double_nothing(
    postgres_server: PostgresServer, postgres_url: str
) -> None:
    senders = [PostgresStore(postgres_url) for _ in range(3)]
    for store in senders:
        await store.open()
    await senders[0].pool.execute(
        "CREATE TABLE chaos_log (n BIGSERIAL PRIMARY KEY, group_key TEXT NOT NULL,"
        " notification_id BIGINT NOT NULL, replica TEXT NOT NULL)"
    )
    replicas = {f"r{i}": await asyncio.to_thread(_start, postgres_url, f"r{i}") for i in range(3)}
    rng = random.Random(16)
    acknowledged: set[int] = set()
    killed: list[subprocess.Popen[str]] = []
    try:
        sends = [(f"g{g}", f"g{g}-n{n}") for n in range(3) for g in range(50)]
        for i, (group, key) in enumerate(sends):
            pair = rng.sample(senders, 2)
            ids = await asyncio.gather(*(_send(s, group, key) for s in pair))
            assert ids[0] == ids[1]  # both copies name one stored notification
            acknowledged.add(ids[0])
            if i == 40:
                replicas["r1"].send_signal(signal.SIGKILL)
                replicas["r1"].wait()
                killed.append(replicas["r1"])
            if i == 70:
                await asyncio.to_thread(postgres_server.stop, "fast")
                await asyncio.to_thread(postgres_server.start)
            if i == 90:
                replicas["r1"] = await asyncio.to_thread(_start, postgres_url, "r1")

        async def drained() -> bool:
            try:
                left = await senders[0].pool.fetchval(
                    "SELECT count(*) FROM notifications WHERE state = 'pending'"
                )
            except _FAULTS:
                return False
            return int(left) == 0

        deadline = asyncio.get_running_loop().time() + 60
        while not await drained():
            assert asyncio.get_running_loop().time() < deadline, "notifications left pending"
            await asyncio.sleep(0.1)

        rows = await senders[0].pool.fetch("SELECT id, group_key, state FROM notifications")
        log = await senders[0].pool.fetch(
            "SELECT group_key, notification_id FROM chaos_log ORDER BY n"
        )
    finally:
        for process in [*replicas.values(), *killed]:
            process.kill()
            process.wait()
            assert process.stdout is not None
            process.stdout.close()
        for store in senders:
            await store.close()

    assert len(rows) == len(sends) == 150  # stored once each, though sent twice
    assert {r["id"] for r in rows} == acknowledged
    assert {r["state"] for r in rows} == {"done"}
    per_group: dict[str, list[int]] = {}
    for entry in log:
        per_group.setdefault(entry["group_key"], []).append(entry["notification_id"])
    for group, ids in per_group.items():
        assert ids == sorted(ids), f"{group} triaged out of order: {ids}"
        assert len(ids) == len(set(ids)), f"{group} finished twice: {ids}"
