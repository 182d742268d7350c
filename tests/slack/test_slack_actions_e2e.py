"""Clicks that reach the cluster and Alertmanager: service, fake Slack, fake Kubernetes, real AM."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.model.change import Change
from tests.actions.objects import ISVC, JOB_TEMPLATE, serverless_isvc
from tests.fakes.fake_kube import FakeKube, running_fake_kube
from tests.fakes.fake_slack import APP_TOKEN, FakeSlack, Message
from tests.fakes.servers import (
    alertmanager_config,
    free_port,
    running_alertmanager,
)
from tests.slack.clicks import audit, click_payload, signed, until
from tests.slack.reports import drift, isvc, report


@pytest.fixture
async def kube() -> AsyncIterator[FakeKube]:
    async with running_fake_kube() as fake:
        yield fake


async def post_message(service: Any, slack: FakeSlack) -> Message:
    await service.notifier().notify(report(isvc(), drift()), Change("new"))
    await service.notifier().sender.idle()
    [message] = slack.channel_messages("C1")
    return message


async def click(client: Any, message: Message, action_id: str, user: str = "U1") -> None:
    body, headers = signed(click_payload(message, action_id, user))
    resp = await client.post("/slack/interactions", data=body, headers=headers)
    assert resp.status == 200


async def test_rollback_click_patches_the_isvc_and_reports_in_the_thread(
    slack: FakeSlack, kube: FakeKube, make_service: Any, tmp_path: Path
) -> None:
    kube.add(serverless_isvc())
    config = kube.write_kubeconfig(tmp_path / "kubeconfig")

    async def kserve() -> None:
        while (kube.get(*ISVC) or {})["spec"]["predictor"].get("canaryTrafficPercent") != 0:
            await asyncio.sleep(0.01)
        kube.update(*ISVC, {"status": {"conditions": [{"type": "Ready", "status": "True"}],
            "components": {"predictor": {"traffic": [
                {"revisionName": "wine-predictor-00001", "percent": 100}]}}}})  # fmt: skip

    async with make_service(kubeconfig=config, in_cluster=None) as (service, client):
        message = await post_message(service, slack)
        controller = asyncio.create_task(kserve())
        await click(client, message, "tb:rollback:wine-predictor-00001")
        await until(lambda: len(slack.thread("C1", message.ts)) == 2)
        await controller
        started, done = (m.text for m in slack.thread("C1", message.ts))
        assert started == "⏳ <@U1> started rollback of models/wine to wine-predictor-00001"
        assert done.startswith("✅ rolled back models/wine to wine-predictor-00001")
        assert "rollback by U1: rolled back" in json.dumps(message.blocks)
        [entry] = await audit(client)
        assert entry["outcome"] == "ok" and "canaryTrafficPercent" in entry["detail"]


async def test_double_click_on_retrain_creates_one_job(
    slack: FakeSlack, kube: FakeKube, make_service: Any, tmp_path: Path
) -> None:
    config = kube.write_kubeconfig(tmp_path / "kubeconfig")
    settings = {"retrain": {"job_template": JOB_TEMPLATE, "timeout_seconds": 5}}
    async with make_service(kubeconfig=config, in_cluster=None, actions=settings) as (
        service,
        client,
    ):
        message = await post_message(service, slack)
        await asyncio.gather(*(click(client, message, "tb:retrain") for _ in range(2)))
        await until(lambda: len(kube.calls("POST", "/jobs")) == 1 and len(slack.ephemeral) == 1)
        [job] = [o for k, o in kube.objects.items() if k[1] == "jobs"]
        kube.update("batch/v1", "jobs", "models", job["metadata"]["name"],
                    {"status": {"succeeded": 1}})  # fmt: skip
        await until(lambda: any("succeeded" in m.text for m in slack.thread("C1", message.ts)))
        assert "Already running" in slack.ephemeral[0]["text"]
        assert len(kube.calls("POST", "/jobs")) == 1


async def test_silence_click_twice_makes_one_silence_and_shows_it(
    slack: FakeSlack, make_service: Any, tmp_path: Path
) -> None:
    config = alertmanager_config(f"http://127.0.0.1:{free_port()}/alertmanager")
    async with (
        running_alertmanager(tmp_path / "am", config) as am,
        make_service(alertmanager_url=am.url) as (service, client),
    ):
        message = await post_message(service, slack)
        await click(client, message, "tb:silence:4h")
        await click(client, message, "tb:silence:4h")
        await until(lambda: len(slack.thread("C1", message.ts)) == 1 and len(slack.ephemeral) == 1)
        async with (
            aiohttp.ClientSession() as session,
            session.get(f"{am.url}/api/v2/silences") as resp,
        ):
            silences = await resp.json()
        assert len(silences) == 1 and silences[0]["createdBy"] == "slack:U1"
        assert "Silenced until" in json.dumps(message.blocks)
        assert "tb:silence" in json.dumps(message.attachments)  # still offered: may extend


async def test_socket_mode_shares_the_dispatch(slack: FakeSlack, make_service: Any) -> None:
    async with make_service(slack_app_token=APP_TOKEN) as (service, _client):
        message = await post_message(service, slack)
        await until(lambda: len(slack.sockets) == 1)
        envelope = {
            "envelope_id": "env-1",
            "type": "interactive",
            "accepts_response_payload": False,
            "payload": click_payload(message, "tb:ack", user="U1"),
        }
        await slack.push(envelope)
        await until(lambda: len(slack.thread("C1", message.ts)) == 1)
        assert {"envelope_id": "env-1"} in slack.acks
        assert "Acknowledged by <@U1>" in json.dumps(message.blocks)
