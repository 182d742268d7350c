"""The README's "Install on a cluster", followed line by line against the fake API server.

Each command of the install block is carried out the way kubectl would against a real
cluster, through kubernetes-asyncio and the wire-level fake (tests/fakes/fake_kube.py):
`create namespace`, `create secret generic --from-literal`, `patch secret --type merge`,
`label namespace`, and
`apply -k` (the objects `kubectl kustomize` renders, in its order). A line this test does
not know fails it, so the README cannot grow a step nobody checked. Then: every object
landed in a namespace that existed, the apply never touched the user's Secret, the Secret
holds every key the Deployment requires, and the names line up (image, RoleBindings,
the payload logger's namespace label). The "High availability" block is followed after
it (`patch secret` adds the database URL, the HA overlay is applied).
"""

from __future__ import annotations

import json
import re
import shlex
import tomllib
from pathlib import Path
from typing import Any

import yaml

from bot.cluster.client import open_api_client
from tests.fakes.fake_kube import FakeKube
from tests.manifests.conftest import MANIFESTS, ROOT, kustomize

README = ROOT / "README.md"


def install_commands(heading: str = "## Install on a cluster") -> list[list[str]]:
    """The first sh block's commands under `heading`, continuation lines joined, comments
    dropped."""
    text = README.read_text()
    section = text[text.index(heading) :]
    block = re.search(r"```sh\n(.*?)```", section, flags=re.S)
    assert block is not None, "no sh block in the install section"
    joined = block.group(1).replace("\\\n", " ")
    lines = [line.strip() for line in joined.splitlines()]
    return [shlex.split(line) for line in lines if line and not line.startswith("#")]


def _plural(kind: str) -> str:
    lower = kind.lower()
    if lower.endswith("y"):
        return lower[:-1] + "ies"
    return lower + ("es" if lower.endswith("ss") else "s")


def _path(obj: dict[str, Any]) -> str:
    """The collection URL `kubectl apply` posts a new object to."""
    version = obj["apiVersion"]
    prefix = f"/api/{version}" if "/" not in version else f"/apis/{version}"
    namespace = obj["metadata"].get("namespace")
    where = f"/namespaces/{namespace}" if namespace else ""
    return f"{prefix}{where}/{_plural(obj['kind'])}"


class Kubectl:
    """The few kubectl verbs the README uses, sent through the real client."""

    def __init__(self, kube: FakeKube, api: Any) -> None:
        self.kube = kube
        self.api = api
        self.applied: list[dict[str, Any]] = []
        self.built: list[str] = []
        self.pushed: list[str] = []

    async def send(self, method: str, path: str, body: Any, content_type: str = "") -> None:
        headers = {"Content-Type": content_type} if content_type else None
        response = await self.api.call_api(
            path, method, header_params=headers, body=body,
            auth_settings=["BearerToken"], _preload_content=False,
        )  # fmt: skip
        assert response.status < 300, f"{method} {path}: {response.status}"

    def exists(self, namespace: str) -> bool:
        return self.kube.get("v1", "namespaces", "", namespace) is not None

    async def run(self, argv: list[str]) -> None:
        match argv:
            case ["docker", "build", "-t", image, "."]:
                assert (ROOT / "Dockerfile").is_file()
                self.built.append(image)
            case ["docker", "push", image]:
                assert image in self.built, "pushed an image the README did not build"
                self.pushed.append(image)
            case ["kubectl", "create", "namespace", name]:
                assert not self.exists(name), f"namespace {name} already exists"
                body = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}
                await self.send("POST", "/api/v1/namespaces", body)
            case ["kubectl", "-n", ns, "create", "secret", "generic", name, *literals]:
                assert self.exists(ns), f"secret before its namespace {ns}"
                data = dict(a.removeprefix("--from-literal=").split("=", 1) for a in literals)
                meta = {"name": name, "namespace": ns}
                body = {"apiVersion": "v1", "kind": "Secret", "metadata": meta, "stringData": data}
                await self.send("POST", f"/api/v1/namespaces/{ns}/secrets", body)
            case ["kubectl", "-n", ns, "patch", "secret", name, "--type", "merge", "-p", merge]:
                assert self.kube.get("v1", "secrets", ns, name) is not None, f"no secret {name}"
                path = f"/api/v1/namespaces/{ns}/secrets/{name}"
                await self.send("PATCH", path, json.loads(merge), "application/merge-patch+json")
            case ["kubectl", "label", "namespace", name, label]:
                assert self.exists(name), f"labelling namespace {name}, which does not exist"
                key, value = label.split("=", 1)
                patch = {"metadata": {"labels": {key: value}}}
                path = f"/api/v1/namespaces/{name}"
                await self.send("PATCH", path, patch, "application/merge-patch+json")
            case ["kubectl", "apply", "-k", directory]:
                await self.apply(ROOT / directory)
            case _:
                raise AssertionError(f"the README has a step this test does not follow: {argv}")

    async def apply(self, directory: Path) -> None:
        for obj in kustomize(directory):
            namespace = obj["metadata"].get("namespace")
            if namespace:
                assert self.exists(namespace), (
                    f"{obj['kind']} {obj['metadata']['name']} applied before namespace {namespace}"
                )
            path = _path(obj)
            name = obj["metadata"]["name"]
            if self.kube.get(obj["apiVersion"], _plural(obj["kind"]), namespace or "", name):
                await self.send("PATCH", f"{path}/{name}", obj, "application/merge-patch+json")
            else:
                await self.send("POST", path, obj)
            self.applied.append(obj)


def _secret_keys(secret: dict[str, Any]) -> set[str]:
    return set(secret.get("stringData", {})) | set(secret.get("data", {}))


async def test_readme_install_applies_in_order_with_matching_names(
    kube: FakeKube, tmp_path: Path
) -> None:
    # The cluster as the reader has it: a model namespace already exists.
    kube.add({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "models"}})
    api = await open_api_client(kube.write_kubeconfig(tmp_path / "kubeconfig"))
    kubectl = Kubectl(kube, api)
    try:
        commands = install_commands()
        assert commands, "the install block is empty"
        for argv in commands:
            await kubectl.run(argv)
    finally:
        await api.close()

    assert kubectl.applied, "the README applies nothing"
    # the apply never wrote the user's Secret: only the `create secret` line did
    secret_writes = [c for c in kube.requests if "/secrets" in c.path and c.method != "GET"]
    assert [c.method for c in secret_writes] == ["POST"]
    secret = kube.get("v1", "secrets", "triage-bot", "triage-bot-secrets")
    assert secret is not None
    # every key the Deployment requires is in it, and every key given is one it reads
    [deployment] = [o for o in kubectl.applied if o["kind"] == "Deployment"]
    refs = [
        e["valueFrom"]["secretKeyRef"]
        for c in deployment["spec"]["template"]["spec"]["containers"]
        for e in c["env"]
        if "secretKeyRef" in e.get("valueFrom", {})
    ]
    assert {r["name"] for r in refs} == {"triage-bot-secrets"}
    required = {r["key"] for r in refs if not r.get("optional")}
    assert required <= _secret_keys(secret)
    assert _secret_keys(secret) <= {r["key"] for r in refs}
    # the image built and pushed is the one the manifests run (name set by the reader)
    [pushed] = kubectl.pushed
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    images = yaml.safe_load((MANIFESTS / "base" / "kustomization.yaml").read_text())["images"]
    assert pushed.endswith(f"/triage-bot:{version}") and images[0]["newTag"] == version
    # reads and actions are bound in the model namespace the reader labelled, and the
    # NetworkPolicy admits the payload logger from it
    bindings = {(o["metadata"].get("namespace"), o["roleRef"]["name"])
                for o in kubectl.applied if o["kind"] == "RoleBinding"}  # fmt: skip
    assert {("models", "triage-bot-read"), ("models", "triage-bot-actions")} <= bindings
    models = kube.get("v1", "namespaces", "", "models")
    assert models is not None
    [policy] = [o for o in kubectl.applied if o["kind"] == "NetworkPolicy"]
    selectors = [p["namespaceSelector"].get("matchLabels", {})
                 for r in policy["spec"]["ingress"] for p in r["from"]]  # fmt: skip
    assert any(s.items() <= models["metadata"].get("labels", {}).items() for s in selectors if s)
    # the admission policy went in with the rest
    assert "ValidatingAdmissionPolicy" in {o["kind"] for o in kubectl.applied}


def test_the_interpreter_refuses_an_unknown_step() -> None:
    import asyncio

    import pytest

    kubectl = Kubectl(FakeKube(), api=None)
    with pytest.raises(AssertionError, match="does not follow"):
        asyncio.run(kubectl.run(["helm", "install", "triage-bot", "."]))


async def test_readme_ha_install_adds_the_database_url_and_two_replicas(
    kube: FakeKube, tmp_path: Path
) -> None:
    kube.add({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "models"}})
    api = await open_api_client(kube.write_kubeconfig(tmp_path / "kubeconfig"))
    kubectl = Kubectl(kube, api)
    try:
        for argv in install_commands():
            await kubectl.run(argv)
        first = len(kubectl.applied)
        ha_commands = install_commands("### High availability (PostgreSQL)")
        assert ["kubectl", "apply", "-k", "manifests/overlays/ha-example"] in ha_commands
        for argv in ha_commands:
            await kubectl.run(argv)
    finally:
        await api.close()

    ha_applied = kubectl.applied[first:]
    [deployment] = [o for o in ha_applied if o["kind"] == "Deployment"]
    assert deployment["spec"]["replicas"] == 2
    secret = kube.get("v1", "secrets", "triage-bot", "triage-bot-secrets")
    assert secret is not None
    # the Secret now holds every key the HA Deployment requires, the URL among them
    env = deployment["spec"]["template"]["spec"]["containers"][0]["env"]
    refs = [e["valueFrom"]["secretKeyRef"] for e in env if "secretKeyRef" in e.get("valueFrom", {})]
    required = {r["key"] for r in refs if not r.get("optional")}
    assert "database-url" in required and required <= _secret_keys(secret)
    assert secret["stringData"]["database-url"].startswith("postgresql://")
    # nothing of the HA variant asks for SQLite's volume
    assert "PersistentVolumeClaim" not in {o["kind"] for o in ha_applied}
