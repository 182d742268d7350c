"""The receiver and the triage worker in one process, without a load generator's noise.

An aiohttp test client posts N distinct notifications 64 at a time to the service built
by `create_app` (SQLite, console notifier into memory, no cluster, no Prometheus), then
waits for the worker to drain the backlog. Prints the posting rate and the drain rate.
Run it from a tree to measure that tree's code (the current directory goes first on
sys.path), e.g. alternating with an older tree unpacked by `git archive`:

    .venv/bin/python bench/drain.py [--notifications 4000]
    (cd /tmp/before && /path/to/.venv/bin/python bench/drain.py)
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, os.getcwd())

from aiohttp.test_utils import TestClient, TestServer  # noqa: E402

from bot.app import STATE, create_app  # noqa: E402
from bot.config import Settings  # noqa: E402

FIXTURE = Path("tests/fixtures/high-error-rate-firing.json")
BATCH = 64


async def _measure(count: int) -> tuple[float, int, float]:
    body: dict[str, Any] = json.loads(FIXTURE.read_text())
    with tempfile.TemporaryDirectory() as data_dir:
        settings = Settings(data_dir=Path(data_dir), in_cluster=False, api={"public": True})
        app = create_app(settings, notifier_stream=io.StringIO())
        async with TestClient(TestServer(app)) as client:
            state = app[STATE]

            async def post(n: int) -> None:
                resp = await client.post("/alertmanager", json={**body, "groupKey": f"g{n}"})
                if resp.status != 200:
                    raise RuntimeError(f"webhook answered {resp.status}: {await resp.text()}")

            began = time.perf_counter()
            for start in range(0, count, BATCH):
                await asyncio.gather(*(post(n) for n in range(start, min(count, start + BATCH))))
            posted = time.perf_counter()
            backlog = state.queue.depth
            while state.queue.depth:
                await asyncio.sleep(0.01)
            drained = time.perf_counter()
    return count / (posted - began), backlog, backlog / (drained - posted)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--notifications", type=int, default=4000)
    args = parser.parse_args()
    posting, backlog, draining = asyncio.run(_measure(args.notifications))
    print(f"{os.getcwd()}: posted {posting:.0f}/s; backlog {backlog} drained at {draining:.0f}/s")


if __name__ == "__main__":
    main()
