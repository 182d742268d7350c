"""Acknowledging comes first: a triage waits while a webhook is being received, not forever."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

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


async def test_a_triage_waits_while_a_webhook_is_being_received(service: AppFactory) -> None:
    client, console = await service(triage_yield_seconds=30)
    held = HeldWebhook(client)
    await asyncio.sleep(0.2)  # its headers are in: the handler is reading the body
    accepted = await client.post("/alertmanager", json=_firing("quick"), headers=AUTH)
    assert accepted.status == 200
    await asyncio.sleep(0.5)
    assert "[FIRING]" not in console.getvalue()  # stored, queued, but held back
    assert await held.finish() == 200
    await console.wait_for("[FIRING]", count=2)


async def test_a_webhook_held_open_delays_a_triage_at_most_the_yield(
    service: AppFactory,
) -> None:
    client, console = await service(triage_yield_seconds=0.2)
    held = HeldWebhook(client)
    await asyncio.sleep(0.2)
    accepted = await client.post("/alertmanager", json=_firing("quick"), headers=AUTH)
    assert accepted.status == 200
    await console.wait_for("[FIRING]", timeout=5)
    assert not held.answer.done()  # still being received, and the triage went out anyway
    assert await held.finish() == 200
    await console.wait_for("[FIRING]", count=2)


async def test_no_yield_triages_beside_a_webhook_being_received(service: AppFactory) -> None:
    client, console = await service(triage_yield_seconds=0)
    held = HeldWebhook(client)
    await asyncio.sleep(0.2)
    await client.post("/alertmanager", json=_firing("quick"), headers=AUTH)
    await console.wait_for("[FIRING]", timeout=5)
    assert await held.finish() == 200
