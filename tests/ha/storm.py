"""What the chaos test sends and clicks: the storm's notifications, a KServe controller for
the rollbacks, and the same click delivered to two replicas.

Used by tests/ha/test_chaos.py.
"""

from __future__ import annotations

import asyncio
import copy
import json
import random
import re
from pathlib import Path
from typing import Any

import aiohttp

from tests.actions.objects import serverless_isvc
from tests.fakes.fake_kube import FakeKube
from tests.fakes.fake_slack import FakeSlack, Message
from tests.fakes.servers import wait_for
from tests.ha.replicas import CHANNEL, SIGNING_SECRET, Peers, Replica
from tests.slack.clicks import click_payload, signed

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "high-error-rate-firing.json"
ISVC_API = ("serving.kserve.io/v1beta1", "inferenceservices", "models")
_MODEL = re.compile(r"model-(\d{3})")


def model(group: int) -> str:
    """The InferenceService a group's alerts are about (fixed width: no name contains
    another)."""
    return f"model-{group:03d}"


def marker(group: int, phase: int) -> str:
    """The annotation that names one notification in the stored body."""
    return f"g{group:03d}-n{phase}"


def notification(group: int, phase: int) -> dict[str, Any]:
    """Group `group`'s notification `phase`: 0 firing, 1 firing with a second alert,
    2 resolved."""
    body: dict[str, Any] = json.loads(FIXTURE.read_text())
    name = model(group)
    [alert] = body["alerts"]
    alert["labels"].update(inferenceservice=name, model=name)
    alert["fingerprint"] = f"{group:08x}0000000a"
    alerts = [alert]
    if phase >= 1:
        second = copy.deepcopy(alert)
        second["labels"]["instance"] = "127.0.0.1:9913"
        second["fingerprint"] = f"{group:08x}0000000b"
        alerts.append(second)
    status = "resolved" if phase == 2 else "firing"
    for a in alerts:
        a["status"] = status
        a["annotations"]["chaos"] = marker(group, phase)
        if status == "resolved":
            a["endsAt"] = "2026-11-24T19:30:00Z"
    body.update(status=status, alerts=alerts)
    body["commonLabels"].update(inferenceservice=name, model=name)
    body["groupLabels"]["inferenceservice"] = name
    body["commonAnnotations"]["chaos"] = marker(group, phase)
    labels = f'alertname="HighErrorRate", inferenceservice="{name}", namespace="models"'
    body["groupKey"] = "{}:{" + labels + "}"
    return body


def group_of(text: str) -> int:
    """The group a Slack message is about, from the model its text names."""
    found = _MODEL.search(text)
    assert found, f"a message that names no group: {text[:120]}"
    return int(found.group(1))


class Storm:
    """Sends one phase to every group, a bounded number of groups at once."""

    def __init__(self, peers: Peers, rng: random.Random) -> None:
        self.peers = peers
        self.rng = rng
        self.done_in_phase = 0

    async def phase(self, phase: int, groups: list[int]) -> None:
        """Every group's notification `phase`, each acknowledged before this returns."""
        self.done_in_phase = 0
        gate = asyncio.Semaphore(8)

        async def one(group: int) -> None:
            async with gate:
                await self.peers.send(notification(group, phase), marker(group, phase), self.rng)
                self.done_in_phase += 1

        await asyncio.gather(*(one(g) for g in self.rng.sample(groups, len(groups))))

    async def when_done(self, count: int) -> None:
        """Wait until `count` groups of the current phase are acknowledged."""

        async def reached() -> bool:
            return self.done_in_phase >= count

        await wait_for(reached, timeout=30, interval=0.01, what=f"{count} groups sent")


def add_rollout(kube: FakeKube, group: int) -> None:
    """A failing rollout of the group's model: its triage offers a rollback to 00001."""
    isvc = serverless_isvc()
    isvc["metadata"]["name"] = model(group)
    kube.add(isvc)


async def kserve(kube: FakeKube, groups: list[int]) -> None:
    """KServe's controller: once a rollback is patched in, serve the previous revision."""
    left = set(groups)
    while left:
        for group in list(left):
            isvc = kube.get(*ISVC_API, model(group)) or {}
            if isvc.get("spec", {}).get("predictor", {}).get("canaryTrafficPercent") == 0:
                serving = [{"revisionName": "wine-predictor-00001", "percent": 100}]
                status = {
                    "conditions": [{"type": "Ready", "status": "True"}],
                    "components": {"predictor": {"traffic": serving}},
                }
                kube.update(*ISVC_API, model(group), {"status": status})
                left.discard(group)
        await asyncio.sleep(0.02)


async def click_on_two(
    session: aiohttp.ClientSession,
    replicas: list[Replica],
    message: Message,
    action_id: str,
    rng: random.Random,
) -> None:
    """One signed click, delivered to two replicas at once (Slack retries, a proxy's
    double send); each must acknowledge it with a 200."""
    body, headers = signed(click_payload(message, action_id), secret=SIGNING_SECRET)

    async def deliver(replica: Replica) -> None:
        url = f"{replica.url}/slack/interactions"
        async with session.post(url, data=body, headers=headers) as response:
            assert response.status == 200, await response.text()

    await asyncio.gather(*(deliver(r) for r in rng.sample(replicas, 2)))


def outcomes(slack: FakeSlack, message: Message) -> list[str]:
    """The action outcomes posted in a message's thread (a reply may carry several lines:
    the sender sends a group's queued replies as one)."""
    lines = (line for m in slack.thread(CHANNEL, message.ts) for line in m.text.splitlines())
    return [line for line in lines if line.startswith(("✅", "❌"))]
