"""The fake API server itself, through the real kubernetes-asyncio client."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from kubernetes_asyncio import client, config, watch

from tests.fakes.fake_kube import FakeKube
from tests.fakes.kube_objects import json_patch, label_selector_matches, merge_patch


def _body(error: client.ApiException) -> bytes:
    """The Status body the fake answered with (the client types it optional)."""
    assert error.body is not None
    return bytes(error.body) if not isinstance(error.body, str) else error.body.encode()


def _any(body: dict[str, Any]) -> Any:
    """A plain dict where the client's types name a model: it serializes either."""
    return body


POD: dict[str, Any] = {
    "apiVersion": "v1",
    "kind": "Pod",
    "metadata": {"name": "p1", "namespace": "models", "labels": {"app": "wine", "tier": "a"}},
    "spec": {"containers": [{"name": "main"}, {"name": "queue-proxy"}]},
    "status": {"phase": "Running"},
}


@pytest.fixture
async def api(kube: FakeKube, tmp_path: Path) -> AsyncIterator[client.ApiClient]:
    path = kube.write_kubeconfig(tmp_path / "kubeconfig")
    api_client = await config.new_client_from_config(config_file=str(path))
    async with api_client:
        yield api_client


async def _raw(call: Any) -> tuple[int, Any]:
    response = await call
    try:
        return response.status, json.loads(await response.read())
    finally:
        response.release()


@pytest.mark.parametrize(
    ("selector", "matches"),
    [
        ("app=wine", True),
        ("app==wine,tier=a", True),
        ("app!=wine", False),
        ("app in (wine, iris)", True),
        ("app notin (wine)", False),
        ("tier", True),
        ("!tier", False),
        ("missing", False),
        ("app in (iris),tier=a", False),
    ],
)
def test_label_selectors(selector: str, matches: bool) -> None:
    assert label_selector_matches(selector, {"app": "wine", "tier": "a"}) is matches


def test_patches_follow_the_rfcs() -> None:
    doc: dict[str, Any] = {"spec": {"a": 1, "b": [1, 2]}, "keep": True}
    assert merge_patch(doc, {"spec": {"a": None, "c": 3}}) == {
        "spec": {"b": [1, 2], "c": 3},
        "keep": True,
    }
    ops: list[dict[str, Any]] = [
        {"op": "add", "path": "/spec/b/-", "value": 3},
        {"op": "replace", "path": "/spec/a", "value": 5},
        {"op": "move", "from": "/keep", "path": "/kept"},
        {"op": "test", "path": "/spec/a", "value": 5},
    ]
    assert json_patch(doc, ops) == {"spec": {"a": 5, "b": [1, 2, 3]}, "kept": True}
    assert doc["spec"]["a"] == 1  # the original is untouched


async def test_list_get_with_selectors(kube: FakeKube, api: client.ApiClient) -> None:
    kube.add(POD)
    kube.add({**POD, "metadata": {**POD["metadata"], "name": "p2", "labels": {"app": "iris"}}})
    core = client.CoreV1Api(api)
    pods = await core.list_namespaced_pod("models", label_selector="app in (wine)")
    assert [p.metadata.name for p in pods.items] == ["p1"]
    pods = await core.list_namespaced_pod("models", field_selector="metadata.name=p2")
    assert [p.metadata.name for p in pods.items] == ["p2"]
    pod = await core.read_namespaced_pod("p1", "models")
    assert pod.metadata.uid and pod.metadata.resource_version
    assert kube.calls("GET", "/api/v1/namespaces/models/pods$")[0].query == {
        "labelSelector": "app in (wine)"
    }


async def test_not_found_is_a_real_status(kube: FakeKube, api: client.ApiClient) -> None:
    custom = client.CustomObjectsApi(api)
    with pytest.raises(client.ApiException) as caught:
        await custom.get_namespaced_custom_object(
            "serving.kserve.io", "v1beta1", "models", "inferenceservices", "nope"
        )
    assert caught.value.status == 404
    body = json.loads(_body(caught.value))
    assert body["kind"] == "Status" and body["reason"] == "NotFound"
    assert body["message"] == 'inferenceservices.serving.kserve.io "nope" not found'


async def test_create_conflict_patch_delete(kube: FakeKube, api: client.ApiClient) -> None:
    batch = client.BatchV1Api(api)
    job: Any = {  # a plain dict where the types name V1Job: the client serializes either
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": "retrain-wine"},
        "spec": {"template": {"spec": {"containers": [{"name": "t", "image": "x"}]}}},
    }
    created = await batch.create_namespaced_job("models", job)
    assert created.metadata.namespace == "models" and created.metadata.uid
    with pytest.raises(client.ApiException) as caught:
        await batch.create_namespaced_job("models", job)
    assert caught.value.status == 409
    assert json.loads(_body(caught.value))["reason"] == "AlreadyExists"

    kube.add({"apiVersion": "serving.kserve.io/v1beta1", "kind": "InferenceService",
              "metadata": {"name": "wine", "namespace": "models"},
              "spec": {"predictor": {"model": {"storageUri": "s3://v3"}}}})  # fmt: skip
    custom = client.CustomObjectsApi(api)
    args = ("serving.kserve.io", "v1beta1", "models", "inferenceservices", "wine")
    patched = await custom.patch_namespaced_custom_object(
        *args,
        {"spec": {"predictor": {"canaryTrafficPercent": 0}}},
        _content_type="application/merge-patch+json",  # type: ignore[call-arg]
    )
    assert patched["spec"]["predictor"] == {
        "canaryTrafficPercent": 0,
        "model": {"storageUri": "s3://v3"},
    }
    assert patched["metadata"]["generation"] == 2
    patched = await custom.patch_namespaced_custom_object(
        *args, [{"op": "replace", "path": "/spec/predictor/canaryTrafficPercent", "value": 10}]
    )
    assert patched["spec"]["predictor"]["canaryTrafficPercent"] == 10
    assert kube.calls("PATCH")[-1].body[0]["op"] == "replace"
    # A dict body without a content type goes out as a JSON patch: the server refuses it.
    with pytest.raises(client.ApiException) as caught:
        await custom.patch_namespaced_custom_object(*args, {"spec": {}})
    assert caught.value.status == 400

    await batch.delete_namespaced_job("retrain-wine", "models")
    assert kube.get("batch/v1", "jobs", "models", "retrain-wine") is None


async def test_logs_with_container_previous_and_tail(kube: FakeKube, api: client.ApiClient) -> None:
    kube.add(POD)
    kube.set_log("models", "p1", "main", "a\nb\nc\n")
    kube.set_log("models", "p1", "main", "crash\n", previous=True)
    core = client.CoreV1Api(api)
    assert (
        await core.read_namespaced_pod_log("p1", "models", container="main", tail_lines=2)
        == "b\nc\n"
    )
    assert (
        await core.read_namespaced_pod_log("p1", "models", container="main", previous=True)
        == "crash\n"
    )
    cases: list[tuple[dict[str, Any], str]] = [
        ({}, "a container name must be specified for pod p1, choose one of: [main queue-proxy]"),
        ({"container": "nope"}, "container nope is not valid for pod p1"),
        (
            {"container": "queue-proxy", "previous": True},
            'previous terminated container "queue-proxy"',
        ),
    ]
    for kwargs, message in cases:
        with pytest.raises(client.ApiException) as caught:
            await core.read_namespaced_pod_log("p1", "models", **kwargs)
        assert caught.value.status == 400
        assert message in json.loads(_body(caught.value))["message"]


async def test_core_events_read_through_events_api_have_null_event_time(
    kube: FakeKube, api: client.ApiClient
) -> None:
    kube.add({"apiVersion": "v1", "kind": "Event",
              "metadata": {"name": "p1.1", "namespace": "models"},
              "involvedObject": {"kind": "Pod", "name": "p1"}, "reason": "BackOff",
              "message": "Back-off", "type": "Warning", "count": 4})  # fmt: skip
    events = client.EventsV1Api(api)
    status, body = await _raw(
        events.list_namespaced_event(
            "models", field_selector="regarding.name=p1", _preload_content=False
        )
    )
    assert status == 200
    [event] = body["items"]
    assert event["eventTime"] is None and event["deprecatedCount"] == 4
    assert event["regarding"]["name"] == "p1" and event["note"] == "Back-off"
    # The generated model refuses this shape, as it does against a real cluster.
    with pytest.raises(ValueError, match="event_time"):
        await events.list_namespaced_event("models")
    core = await client.CoreV1Api(api).list_namespaced_event(
        "models", field_selector="involvedObject.name=p1,type=Warning"
    )
    assert [e.count for e in core.items] == [4]


async def test_faults_status_delay_drop_and_auth(kube: FakeKube, api: client.ApiClient) -> None:
    core = client.CoreV1Api(api)
    kube.fault("/pods$", status=403, times=1)
    with pytest.raises(client.ApiException) as caught:
        await core.list_namespaced_pod("models")
    body = json.loads(_body(caught.value))
    assert caught.value.status == 403 and body["reason"] == "Forbidden"
    assert (
        'cannot list resource "pods" in API group "" in the namespace "models"' in body["message"]
    )
    await core.list_namespaced_pod("models")  # `times=1` is spent
    kube.add(POD)
    kube.fault("/pods/p1$", method="PUT", status=403, times=1)
    with pytest.raises(client.ApiException) as caught:
        await core.replace_namespaced_pod("p1", "models", _any(POD))
    assert 'cannot update resource "pods"' in json.loads(_body(caught.value))["message"]

    kube.fault("/pods$", delay=0.2, times=1)
    loop = asyncio.get_running_loop()
    began = loop.time()
    await core.list_namespaced_pod("models")
    assert loop.time() - began >= 0.2

    kube.fault("/configmaps$", drop=True)
    with pytest.raises(aiohttp.ServerDisconnectedError):
        await core.list_namespaced_config_map("models")

    url = f"{kube.url}/api/v1/namespaces/models/pods"
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        assert response.status == 401  # no bearer token


async def test_watch_streams_changes(kube: FakeKube, api: client.ApiClient) -> None:
    kube.add(POD)
    core = client.CoreV1Api(api)
    seen: list[tuple[str, str]] = []

    async def follow() -> None:
        async with watch.Watch() as stream:
            async for event in stream.stream(core.list_namespaced_pod, "models", timeout_seconds=2):
                seen.append((event["type"], event["object"].status.phase))
                if event["type"] == "MODIFIED":
                    return

    task = asyncio.create_task(follow())
    while not kube.watchers:  # the fake registered the watch: a change now is streamed
        await asyncio.sleep(0.01)
    kube.update("v1", "pods", "models", "p1", {"status": {"phase": "Succeeded"}})
    await asyncio.wait_for(task, 3)
    assert seen == [("ADDED", "Running"), ("MODIFIED", "Succeeded")]
