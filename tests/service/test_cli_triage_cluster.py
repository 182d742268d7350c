"""`triage-bot triage PAYLOAD.json --kubeconfig X` against the fake Kubernetes API.

The fake runs on its own event loop in a thread, because the command runs its own.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.cli import main
from tests.fakes.fake_kube import FakeKube, running_fake_kube, unused_kubeconfig
from tests.fakes.kube_scenarios import FIXTURE_ALERT_START, SCENARIOS, alert_payload


@pytest.fixture
def kube_in_thread() -> Iterator[FakeKube]:
    """A fake API server served from a background thread's event loop."""
    loop = asyncio.new_event_loop()
    started: asyncio.Future[FakeKube] = loop.create_future()
    stop = asyncio.Event()

    async def serve() -> None:
        async with running_fake_kube() as kube:
            started.set_result(kube)
            await stop.wait()

    thread = threading.Thread(target=loop.run_until_complete, args=(serve(),), daemon=True)
    thread.start()
    kube = asyncio.run_coroutine_threadsafe(asyncio.wait_for(asyncio.shield(started), 10), loop)
    try:
        yield kube.result(timeout=10)
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(timeout=10)
        loop.close()


def _payload(tmp_path: Path) -> Path:
    path = tmp_path / "payload.json"
    path.write_text(json.dumps(alert_payload(FIXTURE_ALERT_START)))
    return path


@pytest.mark.parametrize(
    ("scenario", "verdict", "says"),
    [
        ("oom-crash-loop", "infrastructure/oom", "OOMKilled"),
        ("bad-rollout", "rollout/code", "KeyError"),
        ("image-pull-failure", "rollout/image-pull", "ImagePull"),
    ],
)
def test_triage_prints_verdict_and_evidence(
    kube_in_thread: FakeKube,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    scenario: str,
    verdict: str,
    says: str,
) -> None:
    SCENARIOS[scenario](kube_in_thread, FIXTURE_ALERT_START)
    kubeconfig = kube_in_thread.write_kubeconfig(tmp_path / "kubeconfig")
    payload = _payload(tmp_path)

    assert main(["triage", str(payload), "--kubeconfig", str(kubeconfig)]) == 0
    text = capsys.readouterr().out
    assert f"verdict: {verdict}" in text
    assert says in text
    assert "hunter2" not in text, "secrets in logs are redacted"

    assert main(["triage", str(payload), "--kubeconfig", str(kubeconfig), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert f"{data['verdict']['category']}/{data['verdict']['cause']}" == verdict
    kinds = {r["evidence"]["kind"] for r in data["results"] if r["evidence"]}
    assert {"pods", "inference_service"} <= kinds


def test_triage_with_api_server_down_still_answers(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    kubeconfig = unused_kubeconfig(tmp_path / "kubeconfig")
    assert main(["triage", str(_payload(tmp_path)), "--kubeconfig", str(kubeconfig)]) == 0
    text = capsys.readouterr().out
    assert "verdict: unknown" in text
    assert "note: " in text
