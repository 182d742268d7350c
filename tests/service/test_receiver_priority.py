"""Acknowledging comes first: a triage waits while a webhook is being received, not forever."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

from bot.app import STATE

from .conftest import AUTH, AppFactory, load_fixture


def _firing(group: str) -> dict[str, Any]:
    body = load_fixture("high-error-rate-firing.json")
    body["groupKey"] = f'{{}}:{{alertname="HighErrorRate", group="{group}"}}'
    body["alerts"][0]["fingerprint"] = group.encode().hex().ljust(16, "0")[:16]
    return body


class HeldWebhook:
    """A webhook whose body stops half-way until released: the receiver holds it meanwhile."""

    def __init__(self, client: Any) -> None:
        self.release = asyncio.Event()
        payload = json.dumps(_firing("held")).encode()

        async def trickle() -> AsyncIterator[bytes]:
            yield payload[:100]
            await self.release.wait()
            yield payload[100:]

        self.answer = asyncio.create_task(
            client.post("/alertmanager", data=trickle(), headers=AUTH)
        )

    async def finish(self) -> int:
        self.release.set()
        response = await self.answer
        return int(response.status)


async def _until(check: Callable[[], bool], timeout: float = 5.0) -> None:
    async with asyncio.timeout(timeout):
        while not check():
            await asyncio.sleep(0.01)


async def test_a_triage_waits_while_a_webhook_is_being_received(service: AppFactory) -> None:
    client, console = await service(triage_yield_seconds=30)
    queue = client.app[STATE].queue
    held = HeldWebhook(client)
    await _until(lambda: queue.in_receipt == 1)  # its headers are in: the body is being read
    accepted = await client.post("/alertmanager", json=_firing("quick"), headers=AUTH)
    assert accepted.status == 200
    await _until(lambda: queue.held_back == 1)  # the worker took it and waits for the receiver
    assert "[FIRING]" not in console.getvalue()  # stored, queued, but held back
    assert await held.finish() == 200
    await console.wait_for("[FIRING]", count=2)


async def test_a_webhook_held_open_delays_a_triage_at_most_the_yield(
    service: AppFactory,
) -> None:
    client, console = await service(triage_yield_seconds=0.2)
    held = HeldWebhook(client)
    await _until(lambda: client.app[STATE].queue.in_receipt == 1)
    accepted = await client.post("/alertmanager", json=_firing("quick"), headers=AUTH)
    assert accepted.status == 200
    await console.wait_for("[FIRING]", timeout=5)
    assert not held.answer.done()  # still being received, and the triage went out anyway
    assert await held.finish() == 200
    await console.wait_for("[FIRING]", count=2)


async def test_no_yield_triages_beside_a_webhook_being_received(service: AppFactory) -> None:
    client, console = await service(triage_yield_seconds=0)
    held = HeldWebhook(client)
    await _until(lambda: client.app[STATE].queue.in_receipt == 1)
    await client.post("/alertmanager", json=_firing("quick"), headers=AUTH)
    await console.wait_for("[FIRING]", timeout=5)
    assert await held.finish() == 200
