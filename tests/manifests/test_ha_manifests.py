"""The HA components say what issue 16 asks: components/ha runs two replicas on PostgreSQL
(rolled one at a time, spread over nodes, a PodDisruptionBudget that keeps one, the URL
from the user's Secret, the replica's name from the pod, no SQLite volume), and
components/cloudnativepg adds a CloudNativePG `Cluster` whose own Secret gives the URL.

Built with the real `kubectl kustomize`; the built-in kinds are validated against the
Kubernetes schemas in test_static_checks.py. The `Cluster` has no schema offline, so it is
checked here against a schema of the fields we set, with the types and values of
CloudNativePG's API reference (postgresql.cnpg.io/v1): a misspelt or misplaced field fails.
"""

from __future__ import annotations

from typing import Any

import jsonschema  # type: ignore[import-untyped]  # kubernetes-validate brings it
import pytest

from bot.config import Settings
from tests.manifests.conftest import MANIFESTS, find, kustomize, with_components
from tests.manifests.test_manifests import KNOWN_ENV

_QUANTITY = {"type": "string", "pattern": r"^[0-9]+(\.[0-9]+)?(m|Ki|Mi|Gi|Ti)?$"}
_RESOURCES = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "requests": {"type": "object", "additionalProperties": _QUANTITY},
        "limits": {"type": "object", "additionalProperties": _QUANTITY},
    },
}
CLUSTER_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "properties": {
        "apiVersion": {"const": "postgresql.cnpg.io/v1"},
        "kind": {"const": "Cluster"},
        "spec": {
            "type": "object",
            "additionalProperties": False,
            "required": ["instances", "storage"],
            "properties": {
                "instances": {"type": "integer", "minimum": 1},
                "storage": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["size"],
                    "properties": {"size": _QUANTITY, "storageClass": {"type": "string"}},
                },
                "bootstrap": {
                    "type": "object",
                    "additionalProperties": False,
                    "properties": {
                        "initdb": {
                            "type": "object",
                            "additionalProperties": False,
                            "properties": {
                                "database": {"type": "string"},
                                "owner": {"type": "string"},
                            },
                        }
                    },
                },
                "affinity": {
                    "type": "object",
                    "additionalProperties": False,
                    "properties": {
                        "enablePodAntiAffinity": {"type": "boolean"},
                        "topologyKey": {"type": "string"},
                        "podAntiAffinityType": {"enum": ["preferred", "required"]},
                    },
                },
                "primaryUpdateStrategy": {"enum": ["unsupervised", "supervised"]},
                "resources": _RESOURCES,
            },
        },
    },
}


@pytest.fixture(scope="module")
def ha() -> list[dict[str, Any]]:
    return with_components("ha")


@pytest.fixture(scope="module")
def cnpg() -> list[dict[str, Any]]:
    return with_components("ha", "cloudnativepg")


def _pod(objects: list[dict[str, Any]]) -> dict[str, Any]:
    spec: dict[str, Any] = find(objects, "Deployment", "triage-bot")["spec"]["template"]["spec"]
    return spec


def _env(objects: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    [container] = _pod(objects)["containers"]
    return {e["name"]: e for e in container["env"]}


def test_ha_runs_two_replicas_rolled_one_at_a_time(ha: list[dict[str, Any]]) -> None:
    deployment = find(ha, "Deployment", "triage-bot")["spec"]
    assert deployment["replicas"] == 2
    # no volume to hand over: a new pod starts before an old one stops
    assert deployment["strategy"] == {
        "type": "RollingUpdate",
        "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1},
    }
    [container] = _pod(ha)["containers"]
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}


def test_ha_keeps_one_replica_through_drains_and_spreads_over_nodes(
    ha: list[dict[str, Any]],
) -> None:
    labels = find(ha, "Deployment", "triage-bot")["spec"]["template"]["metadata"]["labels"]
    budget = find(ha, "PodDisruptionBudget", "triage-bot")["spec"]
    assert budget["minAvailable"] == 1 and "maxUnavailable" not in budget
    assert budget["selector"]["matchLabels"].items() <= labels.items()
    spread = {c["topologyKey"]: c for c in _pod(ha)["topologySpreadConstraints"]}
    assert spread["kubernetes.io/hostname"]["whenUnsatisfiable"] == "DoNotSchedule"
    assert "topology.kubernetes.io/zone" in spread
    for constraint in spread.values():
        assert constraint["maxSkew"] == 1
        assert constraint["labelSelector"]["matchLabels"].items() <= labels.items()


def test_ha_reads_the_url_from_the_secret_and_its_name_from_the_pod(
    ha: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    env = _env(ha)
    assert set(env) <= KNOWN_ENV
    assert env["TRIAGE_BOT_DATABASE_URL"]["valueFrom"]["secretKeyRef"] == {
        "name": "triage-bot-secrets",
        "key": "database-url",
    }
    assert env["POD_NAME"]["valueFrom"] == {"fieldRef": {"fieldPath": "metadata.name"}}
    # the variable's name is the one the bot reads (pydantic's env prefix)
    assert Settings().database_url is None
    monkeypatch.setenv("TRIAGE_BOT_DATABASE_URL", "postgresql://u@db:5432/triage")
    url = Settings().database_url
    assert url is not None and url.get_secret_value() == "postgresql://u@db:5432/triage"


def test_ha_needs_no_sqlite_volume(ha: list[dict[str, Any]]) -> None:
    assert [o for o in ha if o["kind"] == "PersistentVolumeClaim"] == []
    pod = _pod(ha)
    assert not [v for v in pod["volumes"] if "persistentVolumeClaim" in v]
    # the data dir stays writable scratch on a read-only root filesystem
    env = _env(ha)
    [container] = pod["containers"]
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert volumes[mounts[env["TRIAGE_BOT_DATA_DIR"]["value"]]] == {
        "name": "data",
        "emptyDir": {"sizeLimit": "64Mi"},
    }
    # the single-replica variants keep theirs
    assert find(kustomize(MANIFESTS), "PersistentVolumeClaim", "triage-bot-data")


def test_ha_example_lets_the_bot_reach_its_database() -> None:
    objects = kustomize(MANIFESTS / "overlays" / "ha-example")
    policy = find(objects, "NetworkPolicy", "triage-bot")["spec"]
    database = [r for r in policy["egress"] if [p["port"] for p in r["ports"]] == [5432]]
    assert len(database) == 1 and database[0]["to"][0]["ipBlock"]["cidr"].endswith("/32")
    assert find(objects, "Deployment", "triage-bot")["spec"]["replicas"] == 2


def test_cloudnativepg_cluster_matches_the_schema_and_feeds_the_url(
    cnpg: list[dict[str, Any]],
) -> None:
    [cluster] = [o for o in cnpg if o["kind"] == "Cluster"]
    jsonschema.validate(cluster, CLUSTER_SCHEMA)
    name = cluster["metadata"]["name"]
    assert cluster["metadata"]["namespace"] == "triage-bot"
    spec = cluster["spec"]
    assert spec["instances"] >= 2  # a standby to promote when the primary is lost
    assert spec["affinity"]["podAntiAffinityType"] == "required"
    # the operator's Secret for the owner is `<cluster>-app`, its key `uri` a postgresql:// URL
    assert _env(cnpg)["TRIAGE_BOT_DATABASE_URL"]["valueFrom"]["secretKeyRef"] == {
        "name": f"{name}-app",
        "key": "uri",
    }
    assert [o for o in cnpg if o["kind"] == "Secret"] == []
    policy = find(cnpg, "NetworkPolicy", "triage-bot")["spec"]
    [rule] = [r for r in policy["egress"] if [p["port"] for p in r["ports"]] == [5432]]
    assert rule["to"] == [{"podSelector": {"matchLabels": {"cnpg.io/cluster": name}}}]


def test_the_cluster_schema_catches_a_typo() -> None:
    cluster = {
        "apiVersion": "postgresql.cnpg.io/v1",
        "kind": "Cluster",
        "metadata": {"name": "x"},
        "spec": {"instances": 2, "storage": {"sise": "1Gi"}},
    }
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(cluster, CLUSTER_SCHEMA)
