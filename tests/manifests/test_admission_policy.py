"""The ValidatingAdmissionPolicy on the bot's Jobs and the bot's own check agree.

No offline checker of Kubernetes admission policies exists, so the policy's CEL
expressions are compiled and evaluated with cel-python (the CEL language without the
Kubernetes extension libraries, which these expressions do not use) on one table of Jobs,
and `bot.actions.job_policy` is run on the same table: both must refuse exactly the Jobs
the table says, and the template shipped in the manifests must pass both.
"""

from __future__ import annotations

import copy
from typing import Any

import celpy
import pytest
import yaml
from celpy.adapter import json_to_cel

from bot.actions.job_policy import job_problems
from tests.manifests.conftest import find

BOT = "system:serviceaccount:triage-bot:triage-bot"
ALLOWED = ["model-store-credentials"]


def _job(**pod: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "restartPolicy": "Never",
        "containers": [{"name": "retrain", "image": "ml-retrain:1"}],
        **pod,
    }
    return {"apiVersion": "batch/v1", "kind": "Job", "spec": {"template": {"spec": spec}}}


def _with_container(**fields: Any) -> dict[str, Any]:
    return _job(containers=[{"name": "retrain", "image": "ml-retrain:1", **fields}])


def _secret_env(name: str) -> dict[str, Any]:
    return {"name": "TOKEN", "valueFrom": {"secretKeyRef": {"name": name, "key": "token"}}}


# (what, Job, allowed by both?)
CASES: list[tuple[str, dict[str, Any], bool]] = [
    ("plain", _job(), True),
    ("default account", _job(serviceAccountName="default"), True),
    ("another account", _job(serviceAccountName="cluster-admin-sa"), False),
    ("deprecated field", _job(serviceAccount="builder"), False),
    ("hostPath", _job(volumes=[{"name": "root", "hostPath": {"path": "/"}}]), False),
    ("emptyDir", _job(volumes=[{"name": "scratch", "emptyDir": {}}]), True),
    ("hostNetwork", _job(hostNetwork=True), False),
    ("hostPID", _job(hostPID=True), False),
    ("hostIPC false", _job(hostIPC=False), True),
    ("privileged", _with_container(securityContext={"privileged": True}), False),
    ("not privileged", _with_container(securityContext={"privileged": False}), True),
    (
        "privileged init container",
        _job(initContainers=[{"name": "i", "image": "x", "securityContext": {"privileged": True}}]),
        False,
    ),
    (
        "listed secret volume",
        _job(volumes=[{"name": "s", "secret": {"secretName": "model-store-credentials"}}]),
        True,
    ),
    (
        "other secret volume",
        _job(volumes=[{"name": "s", "secret": {"secretName": "triage-bot-secrets"}}]),
        False,
    ),
    (
        "projected other secret",
        _job(volumes=[{"name": "p", "projected": {"sources": [{"secret": {"name": "db"}}]}}]),
        False,
    ),
    (
        "projected configmap",
        _job(volumes=[{"name": "p", "projected": {"sources": [{"configMap": {"name": "c"}}]}}]),
        True,
    ),
    ("listed secret env", _with_container(env=[_secret_env("model-store-credentials")]), True),
    ("other secret env", _with_container(env=[_secret_env("db-root")]), False),
    ("plain env", _with_container(env=[{"name": "A", "value": "b"}]), True),
    ("other secret envFrom", _with_container(envFrom=[{"secretRef": {"name": "db"}}]), False),
    ("configmap envFrom", _with_container(envFrom=[{"configMapRef": {"name": "c"}}]), True),
]


def _policy(objects: list[dict[str, Any]], allowed: list[str]) -> dict[str, Any]:
    policy = copy.deepcopy(find(objects, "ValidatingAdmissionPolicy", "triage-bot-retrain-jobs"))
    for variable in policy["spec"]["variables"]:
        if variable["name"] == "allowedSecrets":
            variable["expression"] = repr(allowed)
    return policy


def _evaluate(expression: str, activation: dict[str, Any]) -> Any:
    env = celpy.Environment()
    program = env.program(env.compile(expression))
    return program.evaluate(activation)


def _admits(policy: dict[str, Any], job: dict[str, Any], username: str = BOT) -> bool:
    """What the API server decides: matchConditions, variables in order, every validation."""
    spec = policy["spec"]
    request = json_to_cel({"userInfo": {"username": username}})
    activation: dict[str, Any] = {"object": json_to_cel(job), "request": request}
    if not all(_evaluate(c["expression"], activation) for c in spec["matchConditions"]):
        return True  # not the bot's request: the policy does not apply
    variables = celpy.celtypes.MapType({})
    activation["variables"] = variables
    for variable in spec["variables"]:  # each may use the ones before it
        name = celpy.celtypes.StringType(variable["name"])
        variables[name] = _evaluate(variable["expression"], activation)
    return all(bool(_evaluate(v["expression"], activation)) for v in spec["validations"])


@pytest.mark.parametrize(("what", "job", "allowed"), CASES, ids=[c[0] for c in CASES])
def test_policy_and_bot_refuse_the_same_jobs(
    base_objects: list[dict[str, Any]], what: str, job: dict[str, Any], allowed: bool
) -> None:
    policy = _policy(base_objects, ALLOWED)
    assert _admits(policy, job) is allowed, f"admission policy on {what}"
    assert (job_problems(job, ALLOWED) == []) is allowed, f"job_policy on {what}"


def test_policy_binds_only_the_bots_requests(base_objects: list[dict[str, Any]]) -> None:
    policy = _policy(base_objects, [])
    bad = _job(serviceAccountName="builder")
    assert _admits(policy, bad) is False
    assert _admits(policy, bad, username="system:serviceaccount:ci:deployer") is True
    binding = find(base_objects, "ValidatingAdmissionPolicyBinding", "triage-bot-retrain-jobs")
    assert binding["spec"]["policyName"] == policy["metadata"]["name"]
    assert binding["spec"]["validationActions"] == ["Deny"]
    assert policy["spec"]["failurePolicy"] == "Fail"
    # the username names the Deployment's service account in the bot's namespace
    deployment = find(base_objects, "Deployment", "triage-bot")
    account = deployment["spec"]["template"]["spec"]["serviceAccountName"]
    assert f"system:serviceaccount:{deployment['metadata']['namespace']}:{account}" == BOT


def test_shipped_template_and_allowed_lists_agree(base_objects: list[dict[str, Any]]) -> None:
    template = find(base_objects, "ConfigMap", "triage-bot-retrain-template")
    job = yaml.safe_load(template["data"]["job.yaml"])
    config = yaml.safe_load(
        find(base_objects, "ConfigMap", "triage-bot-config")["data"]["config.yaml"]
    )
    allowed = config["actions"]["retrain"]["allowed_secrets"]
    policy = find(base_objects, "ValidatingAdmissionPolicy", "triage-bot-retrain-jobs")
    [variable] = [v for v in policy["spec"]["variables"] if v["name"] == "allowedSecrets"]
    assert _evaluate(variable["expression"], {}) == json_to_cel(allowed)
    assert _admits(policy, job) is True
    assert job_problems(job, allowed) == []


def test_problems_name_what_is_wrong() -> None:
    job = _job(
        serviceAccountName="admin",
        hostNetwork=True,
        volumes=[
            {"name": "root", "hostPath": {"path": "/"}},
            {"name": "s", "secret": {"secretName": "db"}},
        ],
    )
    assert job_problems(job) == [
        "sets serviceAccountName 'admin' (Jobs run as the default account)",
        "mounts host paths (volumes root)",
        "uses the host's namespaces (hostNetwork)",
        "reads secrets not in actions.retrain.allowed_secrets (db)",
    ]
