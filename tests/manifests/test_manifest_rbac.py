"""RBAC in the manifests: least privilege, every role bound, writes and reads per model
namespace in the example (the default variant binds nothing in any model namespace)."""

from __future__ import annotations

from typing import Any

from tests.manifests.conftest import find


def test_rbac_is_least_privilege(example_objects: list[dict[str, Any]]) -> None:
    for role in (o for o in example_objects if o["kind"] in ("Role", "ClusterRole")):
        for rule in role.get("rules", []):
            for key in ("apiGroups", "resources", "verbs", "resourceNames"):
                assert "*" not in rule.get(key, []), f"{role['metadata']['name']}: wildcard {key}"
            assert "secrets" not in rule.get("resources", []), role["metadata"]["name"]
            writes = {"create", "update", "patch", "delete", "deletecollection"} & set(
                rule["verbs"]
            )
            if writes:
                allowed = {
                    ("serving.kserve.io", "inferenceservices"): {"patch"},
                    ("batch", "jobs"): {"create"},
                }
                for group in rule["apiGroups"]:
                    for resource in rule["resources"]:
                        assert writes <= allowed.get((group, resource), set()), (
                            group,
                            resource,
                            writes,
                        )
    actions = find(example_objects, "ClusterRole", "triage-bot-actions")
    assert actions["rules"] == [
        {
            "apiGroups": ["serving.kserve.io"],
            "resources": ["inferenceservices"],
            "verbs": ["patch"],
        },
        {
            "apiGroups": ["batch"],
            "resources": ["jobs"],
            "verbs": ["create", "get", "list", "watch"],
        },
    ]
    # the writes are granted per model namespace, never cluster-wide
    for binding in (o for o in example_objects if o["kind"] == "ClusterRoleBinding"):
        assert binding["roleRef"]["name"] != "triage-bot-actions"
    binding = find(example_objects, "RoleBinding", "triage-bot-actions")
    assert binding["metadata"]["namespace"] == "models"
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": "triage-bot", "namespace": "triage-bot"}
    ]


def _bindings(objects: list[dict[str, Any]], role: str) -> list[tuple[str, str]]:
    """(kind, namespace) of every binding of the ClusterRole `role` to the bot's account."""
    bot = {"kind": "ServiceAccount", "name": "triage-bot", "namespace": "triage-bot"}
    found = []
    for obj in objects:
        if obj["kind"] not in ("RoleBinding", "ClusterRoleBinding"):
            continue
        if obj["roleRef"] != {
            "apiGroup": "rbac.authorization.k8s.io",
            "kind": "ClusterRole",
            "name": role,
        }:
            continue
        assert obj["subjects"] == [bot], obj["metadata"]["name"]
        found.append((obj["kind"], obj["metadata"].get("namespace", "")))
    return found


def test_every_role_is_bound_and_reads_narrow_in_the_example(
    base_objects: list[dict[str, Any]], example_objects: list[dict[str, Any]]
) -> None:
    # `apply -k manifests/` reads and writes nowhere until a model namespace is listed
    assert _bindings(base_objects, "triage-bot-read") == []
    assert _bindings(base_objects, "triage-bot-actions") == []
    # the example: reads and writes both per model namespace, nothing cluster-wide
    assert _bindings(example_objects, "triage-bot-read") == [("RoleBinding", "models")]
    assert _bindings(example_objects, "triage-bot-actions") == [("RoleBinding", "models")]
    assert not [o for o in example_objects if o["kind"] == "ClusterRoleBinding"]
    # no role or cluster role left unbound
    for objects in (base_objects, example_objects):
        bound = {
            (o["roleRef"]["kind"], o["roleRef"]["name"])
            for o in objects
            if o["kind"] in ("RoleBinding", "ClusterRoleBinding")
        }
        roles = {(o["kind"], o["metadata"]["name"]) for o in objects if o["kind"] == "Role"}
        assert roles <= bound
    example_cluster_roles = {
        ("ClusterRole", o["metadata"]["name"])
        for o in example_objects
        if o["kind"] == "ClusterRole"
    }
    assert example_cluster_roles <= {
        (o["roleRef"]["kind"], o["roleRef"]["name"])
        for o in example_objects
        if o["kind"] == "RoleBinding"
    }
