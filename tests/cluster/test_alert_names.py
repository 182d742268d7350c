"""Names from alert labels: a bad one becomes a note on the triage, never a request.

Through the real composition (`assembly.open_clients`, `sources.build_pipeline`), the real
kubernetes-asyncio client and the wire-level fake API server, which records every request
it receives.
"""

from __future__ import annotations

from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import pytest

from bot.assembly import open_clients
from bot.cluster.client import open_api_client
from bot.cluster.reader import KubeReader
from bot.model.alert import Notification
from bot.model.collector import CollectorError
from bot.model.names import is_dns1123_label, is_dns1123_subdomain
from bot.model.report import TriageReport
from bot.model.target import TargetLabels
from bot.sources import build_pipeline
from bot.triage.target import rejected_names, resolve_target
from tests.cluster.conftest import cluster_settings
from tests.fakes.fake_kube import FakeKube
from tests.fakes.kube_scenarios import (
    FIXTURE_ALERT_START,
    ISVC,
    NAMESPACE,
    SCENARIOS,
    alert_payload,
)

# (value, DNS-1123 label?, DNS-1123 subdomain?) as apimachinery's validation decides.
NAMES = [
    ("models", True, True),
    ("wine-v2", True, True),
    ("a", True, True),
    ("0abc", True, True),
    ("wine-predictor-00003-deployment-7f8d9c6b5-x2x9k", True, True),
    ("wine.v2", False, True),
    ("a" * 63, True, True),
    ("a" * 64, False, True),
    (".".join(["a" * 63] * 4)[:253], False, True),
    ("a" * 254, False, False),
    ("", False, False),
    ("..", False, False),
    (".", False, False),
    ("../kube-system", False, False),
    ("Models", False, False),
    ("-wine", False, False),
    ("wine-", False, False),
    ("wine_v2", False, False),
    ("wine,app=x", False, False),
    ("wine app", False, False),
    ("wine\n", False, False),
    ("a..b", False, False),
    ("%2e%2e", False, False),
]


@pytest.mark.parametrize(("value", "label", "subdomain"), NAMES)
def test_names_follow_kubernetes_rules(value: str, label: bool, subdomain: bool) -> None:
    assert is_dns1123_label(value) is label
    assert is_dns1123_subdomain(value) is subdomain


def test_a_bad_name_is_left_out_of_the_target_and_named() -> None:
    labels = {"namespace": "..", "inferenceservice": "wine", "pod": "wine-1,app=x"}
    target = resolve_target(labels)
    assert (target.namespace, target.inference_service, target.pod) == (None, "wine", None)
    problems = rejected_names(labels)
    assert [p.split(" is not")[0] for p in problems] == [
        "label namespace='..'",
        "label pod='wine-1,app=x'",
    ]
    # the model name falls back only to a valid InferenceService name
    assert resolve_target({"inferenceservice": "Wine!"}).model is None
    # the configured label names are checked the same way
    custom = TargetLabels(namespace=("ns",))
    assert resolve_target({"ns": "a/b"}, custom).namespace is None
    assert rejected_names({"ns": "a/b"}, custom)


async def _triage(kube: FakeKube, tmp_path: Path, labels: dict[str, str]) -> TriageReport:
    payload: dict[str, Any] = alert_payload(FIXTURE_ALERT_START)
    payload["commonLabels"] = {**payload["commonLabels"], **labels}
    payload["groupLabels"] = {"alertname": "HighErrorRate"}
    for alert in payload["alerts"]:
        alert["labels"] = payload["commonLabels"]
    settings = cluster_settings(kube.write_kubeconfig(tmp_path / "kubeconfig"))
    async with AsyncExitStack() as stack:
        pipeline = build_pipeline(settings, await open_clients(settings, stack))
        return await pipeline.run(Notification.model_validate(payload))


@pytest.mark.parametrize(
    "labels",
    [
        {"namespace": ".."},
        {"namespace": "../kube-system"},
        {"namespace": "models/../kube-system"},
        {"namespace": "%2e%2e"},
        {"namespace": ""},  # empty: no namespace at all, so nothing can be placed
        {"inferenceservice": "wine,app.kubernetes.io/name=x"},
        {"inferenceservice": "wine", "pod": "x,metadata.namespace!=models"},
        {"inferenceservice": "wine", "pod": "../../namespaces/kube-system/pods"},
        {"inferenceservice": "wine", "deployment": "wine/../x"},
    ],
)
async def test_bad_names_from_alerts_make_no_request(
    kube: FakeKube, tmp_path: Path, labels: dict[str, str]
) -> None:
    SCENARIOS["bad-rollout"](kube, FIXTURE_ALERT_START)
    report = await _triage(kube, tmp_path, labels)
    bad = [v for k, v in labels.items() if v and not is_dns1123_label(v.split(".")[0])]
    if bad or labels.get("pod") or labels.get("deployment"):
        # the invalid label is named on the triage
        notes = [n for n in report.notes() if n.endswith("not used in any request")]
        assert len(notes) == 6  # one per Kubernetes collector (bot/cluster/factory.py)
        assert all("is not a valid Kubernetes name" in n for n in notes)
        assert any(n.startswith("Kubernetes pods: label ") for n in notes)
    sent = [(c.method, c.path, c.query) for c in kube.requests]
    for _, path, query in sent:
        assert ".." not in path and "%2e" not in path.lower()
        assert "," not in query.get("labelSelector", "") + query.get("fieldSelector", "")
        assert "kube-system" not in path
        # what was read is the model namespace's, never another's or the cluster's
        assert (
            path.startswith(f"/api/v1/namespaces/{NAMESPACE}/")
            or f"/namespaces/{NAMESPACE}/" in path
        )
    if "namespace" in labels:
        assert sent == []


async def test_valid_names_still_read_the_cluster(kube: FakeKube, tmp_path: Path) -> None:
    SCENARIOS["bad-rollout"](kube, FIXTURE_ALERT_START)
    report = await _triage(kube, tmp_path, {})
    assert report.notes() == []
    assert kube.calls("GET", f"/namespaces/{NAMESPACE}/pods$")
    assert report.verdict.category == "rollout"


@pytest.mark.parametrize(
    ("method", "args", "kwargs"),
    [
        ("pods", ("..",), {}),
        (
            "pods",
            (NAMESPACE,),
            {"label_selector": f"serving.kserve.io/inferenceservice={ISVC},a=b"},
        ),
        ("pods", (NAMESPACE,), {"field_selector": "metadata.name=x,metadata.namespace=y"}),
        ("warning_events", ("kube-system/..",), {}),
        ("inference_service", (NAMESPACE, "../x"), {}),
        ("knative_revisions", ("..", ISVC), {}),
        ("replica_sets", (NAMESPACE, "wine,x"), {}),
        ("log", (NAMESPACE, "../p", "c"), {"previous": False, "tail_lines": 5}),
        ("log", (NAMESPACE, "p", "c/../x"), {"previous": True, "tail_lines": 5}),
    ],
)
async def test_the_reader_refuses_bad_names_at_the_edge(
    kube: FakeKube, tmp_path: Path, method: str, args: tuple[str, ...], kwargs: dict[str, Any]
) -> None:
    api = await open_api_client(kube.write_kubeconfig(tmp_path / "kubeconfig"))
    try:
        with pytest.raises(
            CollectorError, match="not requested: .* is not a valid Kubernetes name"
        ):
            await getattr(KubeReader(api), method)(*args, **kwargs)
    finally:
        await api.close()
    assert kube.requests == []
