"""The kustomize base and the example overlay say what we mean: kinds, RBAC, the
Deployment, settings, selectors, monitors and alerts. Built with the real `kubectl
kustomize`; schema validation of every variant is in test_static_checks.py, the operator's
kinds are checked structurally here.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from bot.config import load_settings
from tests.manifests.conftest import MANIFESTS, ROOT, find

# Every environment variable DESIGN.md names, plus the two the image needs.
KNOWN_ENV = {
    "TRIAGE_BOT_WEBHOOK_TOKEN",
    "TRIAGE_BOT_API_TOKEN",
    "TRIAGE_BOT_DATA_DIR",
    "SLACK_BOT_TOKEN",
    "SLACK_SIGNING_SECRET",
    "SLACK_APP_TOKEN",
    "TRIAGE_BOT_SLACK_API_URL",
    "TRIAGE_BOT_SLACK_CHANNEL",
    "TRIAGE_BOT_SLACK_ALLOWED_USERS",
    "KUBECONFIG",
    "TRIAGE_BOT_PROMETHEUS_URL",
    "TRIAGE_BOT_ALERTMANAGER_URL",
    "MPLCONFIGDIR",
    # components/ha: the shared store and the replica's name (from the downward API)
    "TRIAGE_BOT_DATABASE_URL",
    "POD_NAME",
}


def test_base_holds_every_kind_the_install_needs(base_objects: list[dict[str, Any]]) -> None:
    kinds = {o["kind"] for o in base_objects}
    assert {
        "Namespace",
        "ServiceAccount",
        "ClusterRole",
        "Role",
        "RoleBinding",
        "ValidatingAdmissionPolicy",
        "ValidatingAdmissionPolicyBinding",
        "Deployment",
        "Service",
        "ConfigMap",
        "PersistentVolumeClaim",
        "NetworkPolicy",
        "PodDisruptionBudget",
        "ServiceMonitor",
        "PrometheusRule",
        "AlertmanagerConfig",
    } <= kinds
    # the Secret is the user's own (README, "Install"): no variant ships one to overwrite it
    assert "Secret" not in kinds
    names = [(o["kind"], o["metadata"]["name"]) for o in base_objects]
    assert len(names) == len(set(names))


def test_deployment_runs_hardened_with_probes_and_a_data_volume(
    example_objects: list[dict[str, Any]],
) -> None:
    deployment = find(example_objects, "Deployment", "triage-bot")
    pod = deployment["spec"]["template"]["spec"]
    [container] = pod["containers"]
    assert container["image"] == "triage-bot:0.1.0"
    assert pod["serviceAccountName"] == "triage-bot"
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert container["securityContext"]["capabilities"]["drop"] == ["ALL"]
    assert container["ports"] == [{"name": "http", "containerPort": 8080, "protocol": "TCP"}]
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert container["resources"]["requests"] and container["resources"]["limits"]["memory"]

    env = {e["name"]: e for e in container["env"]}
    assert set(env) <= KNOWN_ENV
    data_dir = env["TRIAGE_BOT_DATA_DIR"]["value"]
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert volumes[mounts[data_dir]]["persistentVolumeClaim"]["claimName"] == "triage-bot-data"
    # the chart cache needs a writable place on a read-only root filesystem
    assert (
        env["MPLCONFIGDIR"]["value"].startswith("/tmp/") and "emptyDir" in volumes[mounts["/tmp"]]
    )
    assert env["TRIAGE_BOT_WEBHOOK_TOKEN"]["valueFrom"]["secretKeyRef"] == {
        "name": "triage-bot-secrets",
        "key": "webhook-token",
    }
    # both tokens are required: no pod starts without the Secret the README creates
    required = {
        var["valueFrom"]["secretKeyRef"]["key"]
        for var in env.values()
        if "secretKeyRef" in var.get("valueFrom", {})
        and not var["valueFrom"]["secretKeyRef"].get("optional")
    }
    assert required == {"webhook-token", "api-token"}

    args = container["args"]
    config_path = Path(args[args.index("--config") + 1])
    assert mounts[str(config_path.parent)] == "config"


def test_config_file_is_valid_settings(
    example_objects: list[dict[str, Any]], tmp_path: Path
) -> None:
    config = find(example_objects, "ConfigMap", "triage-bot-config")
    path = tmp_path / "config.yaml"
    path.write_text(config["data"]["config.yaml"])
    settings = load_settings(path)
    assert settings.prometheus_url and settings.prometheus_url.startswith("http://")
    assert str(settings.data_dir) == "/var/lib/triage-bot"
    assert settings.slack_channel
    template = find(example_objects, "ConfigMap", "triage-bot-retrain-template")
    namespace, name = str(settings.actions.retrain.configmap).split("/")
    assert (namespace, name) == (template["metadata"]["namespace"], template["metadata"]["name"])
    assert settings.actions.retrain.configmap_key in template["data"]
    # the bot may read exactly that ConfigMap
    role = find(example_objects, "Role", "triage-bot-retrain-template")
    assert role["metadata"]["namespace"] == namespace
    assert role["rules"] == [
        {"apiGroups": [""], "resources": ["configmaps"], "resourceNames": [name], "verbs": ["get"]}
    ]


def test_service_pdb_and_network_policy_select_the_bot(
    example_objects: list[dict[str, Any]],
) -> None:
    labels = find(example_objects, "Deployment", "triage-bot")["spec"]["template"]["metadata"][
        "labels"
    ]

    def selects(selector: dict[str, str]) -> bool:
        return all(labels.get(k) == v for k, v in selector.items())

    service = find(example_objects, "Service", "triage-bot")
    assert selects(service["spec"]["selector"])
    assert service["spec"]["ports"][0]["port"] == 8080
    assert selects(
        find(example_objects, "PodDisruptionBudget", "triage-bot")["spec"]["selector"][
            "matchLabels"
        ]
    )
    policy = find(example_objects, "NetworkPolicy", "triage-bot")
    assert selects(policy["spec"]["podSelector"]["matchLabels"])
    assert [p["port"] for p in policy["spec"]["ingress"][0]["ports"]] == [8080]


def test_service_monitors(example_objects: list[dict[str, Any]]) -> None:
    bot = find(example_objects, "ServiceMonitor", "triage-bot")
    service = find(example_objects, "Service", "triage-bot")
    assert bot["spec"]["selector"]["matchLabels"].items() <= service["metadata"]["labels"].items()
    [endpoint] = bot["spec"]["endpoints"]
    assert endpoint["port"] == service["spec"]["ports"][0]["name"]
    assert endpoint["path"] == "/metrics"
    # the drift gauges carry the model's namespace: the target's must not replace it
    assert endpoint["honorLabels"] is True

    models = find(example_objects, "ServiceMonitor", "triage-bot-models")
    assert models["spec"]["namespaceSelector"]["matchNames"] == ["models"]
    [endpoint] = models["spec"]["endpoints"]
    targets = {r["targetLabel"] for r in endpoint["relabelings"]}
    assert {"inferenceservice", "model"} <= targets
    for obj in example_objects:
        if obj["kind"] in ("ServiceMonitor", "PrometheusRule"):
            assert obj["metadata"]["labels"]["release"] == "kube-prometheus-stack"


def test_prometheus_rule_alerts_are_complete(example_objects: list[dict[str, Any]]) -> None:
    rule = find(example_objects, "PrometheusRule", "triage-bot")
    operations = (ROOT / "docs" / "operations.md").read_text()
    anchors = {_anchor(h) for h in re.findall(r"^#+ (.+)$", operations, flags=re.M)}
    alerts = [r for g in rule["spec"]["groups"] for r in g["rules"] if "alert" in r]
    assert {a["alert"] for a in alerts} >= {
        "ModelThroughputDrop",
        "ModelCPUThrottled",
        "ModelMemoryNearLimit",
        "ModelNetworkErrors",
        "HighErrorRate",
        "HighLatencyP99",
        "ModelPodRestarting",
        "ModelPodCrashLooping",
        "ModelFeatureDrift",
        "ModelAccuracyDrop",
        "TriageBotDown",
        "TriageBotWebhooksFailing",
        "TriageBotSlackErrors",
    }
    for alert in alerts:
        assert alert["labels"]["severity"] in ("critical", "warning"), alert["alert"]
        assert {"summary", "description", "runbook_url"} <= alert["annotations"].keys()
        anchor = alert["annotations"]["runbook_url"].split("#", 1)[1]
        assert anchor in anchors, f"{alert['alert']}: no section #{anchor} in docs/operations.md"
        # model alerts go to the bot and keep the labels it targets with; its own do not
        is_model = not alert["alert"].startswith("TriageBot")
        assert (alert["labels"].get("triage") == "true") is is_model, alert["alert"]
        if is_model:
            assert "namespace" in alert["expr"] and "model" in alert["expr"]
    high = next(a for a in alerts if a["alert"] == "HighErrorRate")
    assert high["for"] == "5m" and high["labels"]["severity"] == "critical"
    assert "request_error_count" in high["expr"] and "/" in high["expr"]


def _anchor(heading: str) -> str:
    # GitHub's rule: lower case, drop punctuation, spaces become hyphens.
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def test_dockerfile_matches_the_deployment(example_objects: list[dict[str, Any]]) -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    pod = find(example_objects, "Deployment", "triage-bot")["spec"]["template"]["spec"]
    user = re.search(r"^USER (\d+)", dockerfile, flags=re.M)
    assert user is not None and int(user.group(1)) == pod["securityContext"]["runAsUser"]
    assert re.search(r"^EXPOSE 8080$", dockerfile, flags=re.M)
    assert 'ENTRYPOINT ["triage-bot"]' in dockerfile


def test_every_manifest_file_is_in_a_kustomization() -> None:
    import yaml

    listed: set[Path] = set()
    for kustomization in MANIFESTS.rglob("kustomization.yaml"):
        data = yaml.safe_load(kustomization.read_text())
        for entry in (
            data.get("resources", [])
            + data.get("components", [])
            + [p["path"] for p in data.get("patches", []) if "path" in p]
        ):
            listed.add((kustomization.parent / entry).resolve())
    for path in MANIFESTS.rglob("*.yaml"):
        if path.name == "kustomization.yaml" or path.parent.name == "alertmanager":
            continue
        assert path.resolve() in listed, (
            f"{path.relative_to(ROOT)} is not used by any kustomization"
        )
