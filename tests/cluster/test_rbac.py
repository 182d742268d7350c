"""manifests/base/role-read.yaml grants exactly what the collectors read."""

from __future__ import annotations

from pathlib import Path

import yaml

from tests.cluster.conftest import Triage
from tests.fakes.fake_kube import FakeKube, parse_path
from tests.fakes.kube_objects import group_of
from tests.fakes.kube_scenarios import FIXTURE_ALERT_START, SCENARIOS

ROLE = Path(__file__).parents[2] / "manifests" / "base" / "role-read.yaml"
NODES = Path(__file__).parents[2] / "manifests" / "components" / "node-read"
NODES_ROLE = NODES / "clusterrole-nodes.yaml"


def _grants() -> set[tuple[str, str, str]]:
    role = yaml.safe_load(ROLE.read_text())
    assert role["kind"] == "ClusterRole"
    return {
        (group, resource, verb)
        for rule in role["rules"]
        for group in rule["apiGroups"]
        for resource in rule["resources"]
        for verb in rule["verbs"]
    }


def test_role_is_read_only_without_wildcards_or_secrets() -> None:
    grants = _grants()
    assert {verb for _, _, verb in grants} == {"get", "list"}
    assert not any("*" in part for grant in grants for part in grant)
    assert not any(resource in ("secrets", "configmaps") for _, resource, _ in grants)


async def test_every_read_of_every_scenario_is_granted(kube: FakeKube, triage: Triage) -> None:
    for build in SCENARIOS.values():
        kube.objects.clear()
        build(kube, FIXTURE_ALERT_START)
        await triage()
    kube.fault("/apis/events.k8s.io/", status=404)  # an old cluster: core events instead
    await triage()
    used = set()
    for call in kube.requests:
        route = parse_path(call.path)
        assert route is not None and call.method == "GET"
        resource = f"{route.plural}/{route.sub}" if route.sub else route.plural
        used.add((group_of(route.api_version), resource, "get" if route.name else "list"))
    grants = _grants()
    # Nodes are cluster-scoped: their `get` is the opt-in node-read component's.
    [node_role] = [
        d for d in yaml.safe_load_all(NODES_ROLE.read_text()) if d["kind"] == "ClusterRole"
    ]
    assert node_role["rules"] == [{"apiGroups": [""], "resources": ["nodes"], "verbs": ["get"]}]
    node_grants = {("", "nodes", "get")}
    assert used <= grants | node_grants, used - grants - node_grants
    # Every kind of object the roles name is read by some collector.
    assert {(g, r) for g, r, _ in used} == {(g, r) for g, r, _ in grants | node_grants}
