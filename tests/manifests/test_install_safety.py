"""What issue 14 asks of every variant we ship: one image, no Secret that overwrites the
user's, no cluster-wide reads unless chosen, no wildcard, the admission policy present,
traffic limited both ways, and only Slack's path behind the Ingress."""

from __future__ import annotations

import re
import tomllib
from typing import Any

import pytest

from tests.manifests.conftest import MANIFESTS, ROOT, VARIANTS, find, kustomize, with_components

SECRET = "triage-bot-secrets"


@pytest.fixture(scope="module", params=VARIANTS, ids=lambda v: v or "default")
def variant(request: pytest.FixtureRequest) -> list[dict[str, Any]]:
    return kustomize(MANIFESTS / request.param)


def _images(objects: list[dict[str, Any]]) -> set[str]:
    images = set()
    for obj in objects:
        pod = obj.get("spec", {}).get("template", {}).get("spec", {})
        for key in ("containers", "initContainers"):
            images |= {c["image"] for c in pod.get(key, [])}
    return images


def test_one_image_reference_set_in_one_place(variant: list[dict[str, Any]]) -> None:
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert _images(variant) == {f"triage-bot:{version}"}
    # set only by the base's `images:`; no other kustomization or manifest names a tag
    for path in MANIFESTS.rglob("*.yaml"):
        text = path.read_text()
        if path == MANIFESTS / "base" / "kustomization.yaml":
            assert f"newTag: {version}" in text
        else:
            assert "newTag" not in text, path
            assert not re.search(r"image: *[^ ]*triage-bot:", text), path
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert f"triage-bot:{version}" in dockerfile


def test_no_variant_ships_a_secret(variant: list[dict[str, Any]]) -> None:
    # The README has you create triage-bot-secrets; an apply must never overwrite it.
    assert [o for o in variant if o["kind"] == "Secret"] == []
    deployment = find(variant, "Deployment", "triage-bot")
    refs = {
        e["valueFrom"]["secretKeyRef"]["name"]
        for c in deployment["spec"]["template"]["spec"]["containers"]
        for e in c["env"]
        if "secretKeyRef" in e.get("valueFrom", {})
    }
    assert refs == {SECRET}


def test_no_cluster_wide_read_unless_opted_in(variant: list[dict[str, Any]]) -> None:
    assert [o for o in variant if o["kind"] == "ClusterRoleBinding"] == []
    opted = with_components("cluster-read")
    [binding] = [o for o in opted if o["kind"] == "ClusterRoleBinding"]
    assert binding["roleRef"]["name"] == "triage-bot-read"


def test_no_wildcard_anywhere(variant: list[dict[str, Any]]) -> None:
    for role in (o for o in variant if o["kind"] in ("Role", "ClusterRole")):
        for rule in role["rules"]:
            for key in ("apiGroups", "resources", "verbs", "resourceNames", "nonResourceURLs"):
                assert "*" not in rule.get(key, []), (role["metadata"]["name"], key)
    # nor in any manifest file, components included
    for path in MANIFESTS.rglob("*.yaml"):
        assert not re.search(r"""["']\*["']""", path.read_text()), path


def test_admission_policy_present_and_bound(variant: list[dict[str, Any]]) -> None:
    policy = find(variant, "ValidatingAdmissionPolicy", "triage-bot-retrain-jobs")
    binding = find(variant, "ValidatingAdmissionPolicyBinding", "triage-bot-retrain-jobs")
    assert binding["spec"]["policyName"] == policy["metadata"]["name"]
    assert len(policy["spec"]["validations"]) >= 5


def test_network_policy_limits_both_ways(variant: list[dict[str, Any]]) -> None:
    policy = find(variant, "NetworkPolicy", "triage-bot")["spec"]
    assert policy["policyTypes"] == ["Ingress", "Egress"]
    for rule in policy["ingress"]:
        assert rule.get("from"), "an ingress rule without `from` admits every source"
        for peer in rule["from"]:
            assert "namespaceSelector" in peer and peer["namespaceSelector"], peer
    # the payload logger's rule admits model pods only, not every pod of the namespace
    [models] = [
        p
        for r in policy["ingress"]
        for p in r["from"]
        if p["namespaceSelector"].get("matchLabels") == {"triage-bot/models": "true"}
    ]
    assert models["podSelector"]["matchExpressions"][0]["key"] == (
        "serving.kserve.io/inferenceservice"
    )
    for rule in policy["egress"]:
        assert rule.get("to"), "an egress rule without `to` reaches every address"
        for peer in rule["to"]:
            block = peer.get("ipBlock")
            if block and block["cidr"] == "0.0.0.0/0":
                # public HTTPS only (Slack): no private range, so no in-cluster service
                assert {"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"} <= set(block["except"])
                assert [p["port"] for p in rule["ports"]] == [443]


def test_ingress_routes_slack_interactions_only() -> None:
    objects = with_components("slack-ingress")
    ingress = find(objects, "Ingress", "triage-bot-slack")
    paths = [p for r in ingress["spec"]["rules"] for p in r["http"]["paths"]]
    assert [(p["path"], p["pathType"]) for p in paths] == [("/slack/interactions", "Exact")]
    assert paths[0]["backend"]["service"]["name"] == "triage-bot"
    policy = find(objects, "NetworkPolicy", "triage-bot")["spec"]
    sources = [p["namespaceSelector"]["matchLabels"] for r in policy["ingress"] for p in r["from"]]
    assert {"kubernetes.io/metadata.name": "ingress-nginx"} in sources
    # without the component, the ingress controller cannot reach the bot at all
    base = find(kustomize(MANIFESTS / "plain"), "NetworkPolicy", "triage-bot")["spec"]
    assert not [p for r in base["ingress"] for p in r["from"] if "ingress-nginx" in str(p)]


def test_plain_variant_needs_no_operator() -> None:
    kinds = {o["kind"] for o in kustomize(MANIFESTS / "plain")}
    assert not kinds & {"ServiceMonitor", "PrometheusRule", "AlertmanagerConfig"}
    assert {o["kind"] for o in kustomize(MANIFESTS)} >= {"ServiceMonitor", "PrometheusRule"}
