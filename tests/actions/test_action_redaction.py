"""Action outcomes are redacted before the ledger, the audit log and the Slack thread see them."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from bot.actions.base import ActionError, ActionOutcome, ActionRequest
from bot.actions.jobs import job_name
from bot.actions.kube import KubeWriter
from bot.actions.ledger import Ledger
from bot.actions.retrain import RetrainAction
from bot.actions.runner import ActionRunner
from bot.cluster.reader import KubeReader
from bot.config_sections.actions import RetrainSettings
from bot.model.actions import ActionName
from bot.store.sqlite import Store
from tests.actions.objects import JOB_TEMPLATE, NS, request
from tests.fakes.fake_kube import FakeKube

HF = "hf_AbCdEfGhIjKlMnOpQrStUvWxYz012345"
DB_PW = "p@ssw0rd-db"
JOB_LOG = (
    "loading config\n"
    f"env: HF_TOKEN={HF}\n"
    f"connecting to postgresql://trainer:{DB_PW}@feast-db:5432/features\n"
    "KeyError: 'alcohol'\n"
)


async def test_a_failed_jobs_log_tail_and_reason_lose_their_secrets(
    kube: FakeKube, reader: KubeReader, writer: KubeWriter
) -> None:
    name = job_name(request("retrain"))
    key = ("batch/v1", "jobs", NS, name)
    settings = RetrainSettings(job_template=JOB_TEMPLATE, timeout_seconds=5)
    action = RetrainAction(reader, writer, settings, poll=0.02)
    run = asyncio.create_task(action.run(request("retrain")))
    while kube.get(*key) is None:  # the action created its Job: play the Job controller
        assert not run.done(), run
        await asyncio.sleep(0.01)
    kube.add({"apiVersion": "v1", "kind": "Pod",
              "metadata": {"name": f"{name}-x1", "namespace": NS, "labels": {"job-name": name}},
              "spec": {"containers": [{"name": "train", "image": "trainer:1"}]}})  # fmt: skip
    kube.set_log(NS, f"{name}-x1", "train", JOB_LOG)
    kube.update(*key, {"status": {"failed": 1, "conditions": [
        {"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded",
         "message": f"Job failed: args --password {DB_PW}"}]}})  # fmt: skip
    outcome = await run
    assert not outcome.ok
    text = outcome.summary + outcome.detail
    assert HF not in text and DB_PW not in text and "ssw0rd" not in text
    # What helps debugging stays: the error, the user and host, the reason.
    assert "KeyError: 'alcohol'" in outcome.detail
    assert "postgresql://trainer:[REDACTED]@feast-db:5432" in outcome.detail
    assert "BackoffLimitExceeded" in outcome.summary


@dataclass
class Leaky:
    """An in-process action that fails the way API errors do: quoting what it was sent."""

    name: str
    error: Exception | None = None
    long_running: bool = False

    async def run(self, request: ActionRequest) -> ActionOutcome:
        if self.error is not None:
            raise self.error
        return ActionOutcome(True, "done", detail=f"patched env DB_PASSWORD={DB_PW}")


async def test_the_runner_redacts_every_outcome_before_the_ledger(store: Store) -> None:
    ledger = Ledger(store)
    await ledger.ensure()
    actions = {
        "ack": Leaky("ack"),
        "silence": Leaky("silence", ActionError(f"Alertmanager said: token={HF} is invalid")),
        "rollback": Leaky("rollback", RuntimeError(f"admission denied: --password {DB_PW}")),
    }
    runner = ActionRunner(ledger, actions)
    outcomes = {}
    names: tuple[ActionName, ...] = ("ack", "silence", "rollback")
    for name in names:
        claimed = request(name)
        assert (await runner.claim(claimed)).kind == "claimed"
        outcomes[name] = await runner.execute(claimed)
    for outcome in outcomes.values():
        assert HF not in outcome.summary + outcome.detail
        assert DB_PW not in outcome.summary + outcome.detail
    assert outcomes["ack"].detail == "patched env DB_PASSWORD=[REDACTED]"
    assert (
        outcomes["rollback"].summary
        == "failed: RuntimeError: admission denied: --password [REDACTED]"
    )
    # The ledger keeps the redacted summaries: what a repeated click is told, what is stored.
    again = await runner.claim(request("ack"))
    assert again.kind == "duplicate" and again.result == "done"
    async with store.connection.execute("SELECT result FROM action_runs") as cursor:
        stored = " ".join(str(row[0]) for row in await cursor.fetchall())
    assert "[REDACTED]" in stored and HF not in stored and DB_PW not in stored
