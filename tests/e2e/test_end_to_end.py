"""End to end: a model starts failing, the bot's triage lands in Slack, then turns resolved.

The real `prometheus` evaluates the PrometheusRule of the manifests against a simulated
model server; the real `prometheus-alertmanager` routes with the plain alertmanager.yml of
the manifests to the bot (`python -m bot serve`), which triages against the fake Kubernetes
API (a bad rollout 8 minutes before the alert) and the real Prometheus, and posts to the
fake Slack. Prints the time from the first scrape showing errors to the Slack post.
"""

from __future__ import annotations

import json
import shutil
from datetime import datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.e2e.stack import CHANNEL, Stack, arrival, running_stack
from tests.fakes.fake_slack import Message
from tests.fakes.kube_scenarios import ISVC, NAMESPACE, revision_name
from tests.fakes.servers import ALERTMANAGER_BIN, PROMETHEUS_BIN

RESOLVED_COLOR = "#2EB67D"


@pytest.fixture(autouse=True)
def _real_servers_installed() -> None:
    for name, package in ((PROMETHEUS_BIN, "prometheus"), (ALERTMANAGER_BIN, ALERTMANAGER_BIN)):
        if shutil.which(name) is None:
            pytest.fail(f"`{name}` is not installed: `make system-deps` (Debian package {package})")


def _everything(message: Message) -> str:
    """All the text a person could read in the message, blocks and attachment included."""
    return message.text + json.dumps(message.blocks) + json.dumps(message.attachments)


def _top_level_posts(stack: Stack) -> int:
    return sum(1 for c in stack.slack.calls("chat.postMessage") if not c.args.get("thread_ts"))


async def test_failing_model_is_triaged_in_slack_and_resolved_in_place(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    async with running_stack(tmp_path) as stack:
        try:
            await _run(stack, capsys)
        except AssertionError as failure:
            raise AssertionError(f"{failure}\n{stack.logs()}") from failure


async def _run(stack: Stack, capsys: pytest.CaptureFixture[str]) -> None:
    # Healthy traffic first: nothing may page while the model serves well.
    await arrival(lambda: stack.simulator.scrapes >= 3, timeout=15, what="healthy scrapes")
    # The token is required: Alertmanager gets through only because it sends it.
    async with (
        aiohttp.ClientSession() as session,
        session.post(stack.bot.url + "/alertmanager", json={}) as response,
    ):
        assert response.status == 401

    stack.simulator.set_error_ratio(ISVC, 0.3)
    posted_at = await arrival(
        lambda: stack.slack.channel_messages(CHANNEL), timeout=40, what="the Slack post"
    )
    first_bad = stack.simulator.model(ISVC).first_bad_scrape
    assert first_bad is not None
    [message] = stack.slack.channel_messages(CHANNEL)
    seen = _everything(message)
    assert message.text.startswith(f"[FIRING] critical HighErrorRate on {NAMESPACE}/{ISVC}")
    verdict = message.blocks[1]["text"]["text"]
    assert verdict.startswith("*rollout/code*"), verdict
    assert revision_name(ISVC, 3) in seen, "the verdict names the new revision"
    assert "KeyError" in seen, "the new pods' traceback is quoted"
    assert f"Roll back to {revision_name(ISVC, 2)}" in seen
    # the real Prometheus answered the collector: the alert's expression around its start
    assert "rate(request_error_count[5s])" in seen and "threshold &gt; 0.05" in seen
    assert "Could not check" not in seen, f"a collector failed: {seen}"

    # and its chart of that expression goes into the message's thread
    [upload] = await stack.slack.wait_for("files.completeUploadExternal", timeout=15)
    assert upload.args["thread_ts"] == message.ts

    triages = await stack.bot.wait_triages(lambda ts: len(ts) > 0)
    assert [(t["alertname"], t["verdict"]) for t in triages] == [("HighErrorRate", "rollout")]
    triage_started = datetime.fromisoformat(triages[0]["first_seen"]).timestamp()

    stack.simulator.set_error_ratio(ISVC, 0.0)
    await arrival(
        lambda: stack.resolved_in_place(message.ts),
        timeout=40,
        what="the message updated to resolved",
    )
    [resolved] = stack.slack.channel_messages(CHANNEL)
    assert resolved.ts == message.ts
    assert resolved.text.startswith("[RESOLVED]")
    assert resolved.attachments[0]["color"] == RESOLVED_COLOR
    assert "RESOLVED" in resolved.blocks[0]["text"]["text"]
    assert _top_level_posts(stack) == 1, "resolved updates the message, never posts again"

    # The bot's own alerts (TriageBotDown fires here: nothing scrapes the bot) never reach it.
    triages = await stack.bot.wait_triages(lambda ts: ts[0]["status"] == "resolved")
    assert [(t["alertname"], t["status"]) for t in triages] == [("HighErrorRate", "resolved")]
    _report(first_bad, triage_started, posted_at, capsys)


def _report(
    first_bad: float, triage_started: float, posted_at: float, capsys: pytest.CaptureFixture[Any]
) -> None:
    total = posted_at - first_bad
    with capsys.disabled():
        print(
            f"\nend to end: first bad scrape -> Slack post {total:.2f} s "
            f"(-> triage start {triage_started - first_bad:.2f} s, "
            f"triage and post {posted_at - triage_started:.2f} s)"
        )
    assert 0 < total < 40
