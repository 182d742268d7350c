"""Secrets on every path the cluster has into a triage: none reaches the report or Slack.

Knative copies a crashing container's log tail into its termination message, events quote
commands, conditions quote errors. Each is planted here in the fake API server and read
through the real client and collectors; the stored report, the console text and the
Slack message must hold none of them, and still say what went wrong.
"""

from __future__ import annotations

import json
from datetime import timedelta

from bot.model.cluster_evidence import EventsEvidence, PodsEvidence
from bot.notify.text import render_text
from bot.slack.render import render_message
from tests.cluster.conftest import Triage
from tests.fakes.fake_kube import FakeKube
from tests.fakes.kube_builders import (
    ISVC,
    NAMESPACE,
    core_event,
    inference_service,
    knative_revision,
    model_pod,
    revision_name,
)
from tests.fakes.kube_scenarios import FIXTURE_ALERT_START

HF = "hf_QwErTyUiOpAsDfGhJkLzXcVbNm012345"
DB = "Sup3r@Secret!pw"
STRIPE = "sk_live_51AbCdEfGhIjKlMnOpQr"
API = "ak-7f3c9a1e2b4d"
ISVC_TOKEN = "c0nd1t10nT0k3n"
CUT = 2000  # where `cluster.pods` cuts a termination message
SECRETS = (HF, HF[:10], DB, STRIPE, API, ISVC_TOKEN, "ssw0rd99")


def plant(kube: FakeKube) -> None:
    start = FIXTURE_ALERT_START
    new = revision_name(ISVC, 3)
    rolled = start - timedelta(minutes=8)
    kube.add(knative_revision(revision_name(ISVC, 2), start - timedelta(days=3)))
    kube.add(knative_revision(new, rolled))
    kube.add(
        inference_service(
            latest=new,
            previous=revision_name(ISVC, 2),
            ready=False,
            message=f"Revision {new} failed: fetching model: token={ISVC_TOKEN} rejected",
            created=start - timedelta(days=10),
        )
    )
    # The termination message is the log tail; the token straddles the cut (`CUT`
    # characters), where its first 14 characters alone would no longer look like a token.
    tail = "x" * (CUT - 15) + f" {HF}\nKeyError: 'alcohol'"
    crashed = {
        "ready": False,
        "restartCount": 4,
        "state": {
            "waiting": {
                "reason": "CrashLoopBackOff",
                "message": f"back-off restarting: python serve.py --db-password {DB}",
            }
        },
        "lastState": {"terminated": {"reason": "Error", "exitCode": 1, "message": tail}},
    }
    pod = kube.add(model_pod(new, 0, rolled, model_status=crashed))
    name = pod["metadata"]["name"]
    log = (
        f'ERROR kserve: env [{{"name": "STRIPE_KEY", "value": "{STRIPE}"}}]\n'
        f"ERROR kserve: feature store postgresql://feast:{DB}@feast-db:5432/f refused\n"
        "KeyError: 'alcohol'\n"
    )
    kube.set_log(NAMESPACE, name, "kserve-container", log, previous=True)
    kube.set_log(NAMESPACE, name, "kserve-container", log)
    kube.add(core_event(pod, "Failed", f"Error: container command: serve --api-key={API}", start))
    kube.add(
        core_event(pod, "Unhealthy", "Readiness probe failed: mysql://app:p@ssw0rd99@db", start)
    )


async def test_no_planted_secret_reaches_the_report_the_console_or_slack(
    kube: FakeKube, triage: Triage
) -> None:
    plant(kube)
    report = await triage()
    outputs = {
        "stored report": json.dumps(report.to_dict()),
        "console": render_text(report),
        "slack": json.dumps(render_message(report)),
    }
    for where, text in outputs.items():
        for secret in SECRETS:
            assert secret not in text, f"{secret} leaked into the {where}"
    # What a person needs stays: the user and host of URLs, the error, the reasons.
    pods = report.find(PodsEvidence)
    assert isinstance(pods, PodsEvidence)
    model = next(c for c in pods.pods[0].containers if c.name == "kserve-container")
    assert model.waiting_reason == "CrashLoopBackOff"
    assert "--db-password [REDACTED]" in model.waiting_message
    assert " [REDACTED]\nKey" in model.last_terminated_message
    events = report.find(EventsEvidence)
    assert isinstance(events, EventsEvidence)
    messages = " ".join(e.message for e in events.events)
    assert "--api-key=[REDACTED]" in messages and "mysql://app:[REDACTED]@db" in messages
    assert "postgresql://feast:[REDACTED]@feast-db:5432" in outputs["stored report"]
