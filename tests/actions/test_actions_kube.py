"""Rollback and retrain against the fake Kubernetes API, through kubernetes-asyncio."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from bot.actions.base import ActionError
from bot.actions.jobs import job_name
from bot.actions.kube import KubeWriter
from bot.actions.retrain import RetrainAction
from bot.actions.rollback import RollbackAction
from bot.cluster.reader import KubeReader
from bot.config_sections.actions import RetrainSettings
from tests.actions.objects import (
    ISVC,
    JOB_TEMPLATE,
    NS,
    raw_isvc,
    replica_set,
    request,
    serverless_isvc,
)
from tests.fakes.fake_kube import FakeKube


async def when(check: Callable[[], bool], then: Callable[[], Any], timeout: float = 5) -> None:
    """Play the controller: once `check()` holds, apply `then()`."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not check():
        if loop.time() > deadline:
            return
        await asyncio.sleep(0.01)
    then()


def rollback(reader: KubeReader, writer: KubeWriter, timeout: float = 5) -> RollbackAction:
    return RollbackAction(reader, writer, timeout=timeout, poll=0.02)


async def test_serverless_rollback_pins_traffic_and_waits_for_ready(
    kube: FakeKube, reader: KubeReader, writer: KubeWriter
) -> None:
    kube.add(serverless_isvc())

    def patched() -> bool:
        obj = kube.get(*ISVC) or {}
        return bool(obj["spec"]["predictor"].get("canaryTrafficPercent") == 0)

    def kserve_reacts() -> None:
        kube.update(*ISVC, {"status": {
            "observedGeneration": 2,
            "conditions": [{"type": "Ready", "status": "True"}],
            "components": {"predictor": {"traffic": [
                {"revisionName": "wine-predictor-00001", "percent": 100}]}},
        }})  # fmt: skip

    controller = asyncio.create_task(when(patched, kserve_reacts))
    outcome = await rollback(reader, writer).run(request("rollback", "wine-predictor-00001"))
    await controller
    assert outcome.ok, outcome.summary
    assert "rolled back models/wine to wine-predictor-00001, ready after" in outcome.summary
    [patch] = kube.calls("PATCH", "/inferenceservices/wine")
    assert patch.body == {"spec": {"predictor": {"canaryTrafficPercent": 0}}}
    # (sent as a JSON patch, the fake would have answered 400: a dict is no list of ops)
    assert "canaryTrafficPercent: unset → 0" in outcome.detail


async def test_raw_deployment_rollback_restores_the_previous_spec(
    kube: FakeKube, reader: KubeReader, writer: KubeWriter
) -> None:
    kube.add(raw_isvc())
    kube.add(replica_set(1, "gs://models/wine/v1", "1.2"))
    kube.add(replica_set(2, "gs://models/wine/v2", "1.3"))

    def patched() -> bool:
        model = (kube.get(*ISVC) or {})["spec"]["predictor"]["model"]
        return bool(model.get("storageUri") == "gs://models/wine/v1")

    def ready() -> None:
        ok = [{"type": "Ready", "status": "True"}]
        kube.update(*ISVC, {"status": {"observedGeneration": 2, "conditions": ok}})

    controller = asyncio.create_task(when(patched, ready))
    outcome = await rollback(reader, writer).run(request("rollback", "wine-predictor-1abc"))
    await controller
    assert outcome.ok, outcome.summary
    model = (kube.get(*ISVC) or {})["spec"]["predictor"]["model"]
    assert model["storageUri"] == "gs://models/wine/v1" and model["runtimeVersion"] == "1.2"
    assert model["modelFormat"] == {"name": "sklearn"}  # a merge patch keeps the rest
    assert "runtimeVersion: 1.3 → 1.2" in outcome.detail


async def test_rollback_refuses_when_the_object_changed_since_the_message(
    kube: FakeKube, reader: KubeReader, writer: KubeWriter
) -> None:
    kube.add(serverless_isvc(previous="wine-predictor-00007"))
    with pytest.raises(ActionError, match="changed since the message"):
        await rollback(reader, writer).run(request("rollback", "wine-predictor-00001"))
    assert kube.calls("PATCH") == []


async def test_rollback_reports_not_ready_after_the_timeout(
    kube: FakeKube, reader: KubeReader, writer: KubeWriter
) -> None:
    kube.add(serverless_isvc())
    outcome = await rollback(reader, writer, timeout=0.1).run(request("rollback"))
    assert not outcome.ok and "not ready after" in outcome.summary


async def test_rollback_without_history_or_object(
    kube: FakeKube, reader: KubeReader, writer: KubeWriter
) -> None:
    with pytest.raises(ActionError, match="404"):
        await rollback(reader, writer).run(request("rollback"))
    kube.add(raw_isvc())
    with pytest.raises(ActionError, match="no previous revision"):
        await rollback(reader, writer).run(request("rollback"))


async def test_forbidden_patch_is_reported(
    kube: FakeKube, reader: KubeReader, writer: KubeWriter
) -> None:
    kube.add(serverless_isvc())
    kube.fault("/inferenceservices/wine", method="PATCH", status=403)
    with pytest.raises(ActionError, match="403"):
        await rollback(reader, writer).run(request("rollback"))


def retrain(reader: KubeReader, writer: KubeWriter, **settings: Any) -> RetrainAction:
    values: dict[str, Any] = {"job_template": JOB_TEMPLATE, "timeout_seconds": 5, **settings}
    return RetrainAction(reader, writer, RetrainSettings(**values), poll=0.02)


def job_key() -> tuple[str, str, str, str]:
    return ("batch/v1", "jobs", NS, job_name(request("retrain")))


async def test_retrain_creates_the_job_with_the_environment_and_follows_it(
    kube: FakeKube, reader: KubeReader, writer: KubeWriter
) -> None:
    def complete() -> None:
        kube.update(*job_key(), {"status": {"succeeded": 1, "conditions": [
            {"type": "Complete", "status": "True"}]}})  # fmt: skip

    controller = asyncio.create_task(when(lambda: kube.get(*job_key()) is not None, complete))
    outcome = await retrain(reader, writer).run(request("retrain"))
    await controller
    assert outcome.ok and "succeeded (created" in outcome.summary
    job = kube.get(*job_key()) or {}
    assert job["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "triage-bot"
    assert job["metadata"]["labels"]["team"] == "ml"
    env = {e["name"]: e["value"] for e in job["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["MODEL"] == "wine" and env["NAMESPACE"] == "models" and env["KEEP"] == "1"
    assert env["ALERT"] == "HighErrorRate" and env["DRIFTED_FEATURES"] == "alcohol,ph"
    assert env["WINDOW_START"] == "2026-11-24T17:00:49+00:00"  # alcohol drifted 2 h before
    assert env["WINDOW_END"] == "2026-11-24T20:00:00+00:00"
    assert job["spec"]["template"]["spec"]["restartPolicy"] == "Never"


async def test_repeat_create_is_a_409_and_follows_the_existing_job(
    kube: FakeKube, reader: KubeReader, writer: KubeWriter
) -> None:
    action = retrain(reader, writer)
    kube.add({"apiVersion": "batch/v1", "kind": "Job",
              "metadata": {"name": job_key()[3], "namespace": NS},
              "status": {"succeeded": 1}})  # fmt: skip
    outcome = await action.run(request("retrain"))
    assert outcome.ok and "already existed" in outcome.summary
    assert len(kube.calls("POST", "/jobs")) == 1


async def test_failed_job_reports_the_reason_and_the_log_tail(
    kube: FakeKube, reader: KubeReader, writer: KubeWriter
) -> None:
    name = job_key()[3]

    def fail() -> None:
        kube.add({"apiVersion": "v1", "kind": "Pod",
                  "metadata": {"name": f"{name}-x1", "namespace": NS, "labels": {"job-name": name}},
                  "spec": {"containers": [{"name": "train", "image": "trainer:1"}]}})  # fmt: skip
        kube.set_log(NS, f"{name}-x1", "train", "loading data\nKeyError: 'alcohol'\n")
        kube.update(*job_key(), {"status": {"failed": 1, "conditions": [
            {"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded",
             "message": "Job has reached the specified backoff limit"}]}})  # fmt: skip

    controller = asyncio.create_task(when(lambda: kube.get(*job_key()) is not None, fail))
    outcome = await retrain(reader, writer).run(request("retrain"))
    await controller
    assert not outcome.ok
    assert "failed (BackoffLimitExceeded: Job has reached" in outcome.summary
    assert "KeyError: 'alcohol'" in outcome.detail


async def test_template_from_a_configmap(
    kube: FakeKube, reader: KubeReader, writer: KubeWriter
) -> None:
    import yaml

    kube.add({"apiVersion": "v1", "kind": "ConfigMap",
              "metadata": {"name": "retrain", "namespace": NS},
              "data": {"job.yaml": yaml.safe_dump(JOB_TEMPLATE)}})  # fmt: skip
    action = retrain(reader, writer, job_template=None, configmap="retrain", timeout_seconds=0.1)
    outcome = await action.run(request("retrain"))
    assert not outcome.ok and "still running" in outcome.summary
    assert kube.get(*job_key()) is not None


async def test_no_template_is_an_error(reader: KubeReader, writer: KubeWriter) -> None:
    with pytest.raises(ActionError, match="no Job template"):
        await retrain(reader, writer, job_template=None).run(request("retrain"))


@pytest.mark.parametrize(
    ("pod_fields", "named"),
    [
        ({"serviceAccountName": "cluster-admin"}, "serviceAccountName 'cluster-admin'"),
        ({"volumes": [{"name": "root", "hostPath": {"path": "/"}}]}, "host paths"),
        ({"volumes": [{"name": "s", "secret": {"secretName": "db"}}]}, "secrets not in"),
    ],
)
async def test_a_template_the_admission_policy_would_refuse_is_never_sent(
    kube: FakeKube, reader: KubeReader, writer: KubeWriter, pod_fields: Any, named: str
) -> None:
    import copy

    template = copy.deepcopy(JOB_TEMPLATE)
    template["spec"]["template"]["spec"].update(pod_fields)
    with pytest.raises(ActionError, match=f"retrain: the Job template .*{named}"):
        await retrain(reader, writer, job_template=template).run(request("retrain"))
    assert kube.calls("POST", "/jobs") == []


async def test_a_listed_secret_may_be_mounted(
    kube: FakeKube, reader: KubeReader, writer: KubeWriter
) -> None:
    import copy

    template = copy.deepcopy(JOB_TEMPLATE)
    template["spec"]["template"]["spec"]["volumes"] = [
        {"name": "s", "secret": {"secretName": "model-store"}}
    ]
    action = retrain(
        reader, writer, job_template=template, allowed_secrets=["model-store"], timeout_seconds=0.1
    )
    outcome = await action.run(request("retrain"))
    assert "still running" in outcome.summary and kube.get(*job_key()) is not None
