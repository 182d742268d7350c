"""The README's versions matrix says what we read and write: every API version the
manifests and the bot use is listed, and the tests run against its lower bounds."""

from __future__ import annotations

import re
import subprocess

import yaml

from bot.actions import kube as actions_kube
from bot.cluster import reader
from tests.manifests.conftest import (
    COMPONENTS,
    MANIFESTS,
    ROOT,
    VARIANTS,
    kustomize,
    require_tool,
    with_components,
)
from tests.manifests.test_static_checks import K8S_VERSION


def _matrix() -> dict[str, tuple[str, set[str]]]:
    """component -> (versions, API versions used), from the README's table."""
    text = (ROOT / "README.md").read_text()
    section = text[text.index("### Versions") : text.index("### Trust model")]
    rows: dict[str, tuple[str, set[str]]] = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 4 and not set(cells[0]) <= {"-", " "} and cells[0] != "component":
            rows[cells[0]] = (cells[1], set(re.findall(r"`([^`]+)`", cells[2])))
    return rows


def _minimum(versions: str) -> tuple[int, ...]:
    found = re.match(r"(\d+(?:\.\d+)+) and later", versions)
    assert found, versions
    return tuple(int(p) for p in found.group(1).split("."))


def test_every_api_version_we_use_is_listed() -> None:
    listed = set().union(*(apis for _, apis in _matrix().values()))
    used = {"events.k8s.io/v1"}  # read by bot/cluster/reader.py (core events as fallback)
    used |= {"/".join(reader.KSERVE), reader.REVISIONS.api_version, "/".join(actions_kube.KSERVE)}
    builds = [kustomize(MANIFESTS / v) for v in VARIANTS]
    builds += [with_components(c) for c in COMPONENTS]
    for objects in builds:
        used |= {o["apiVersion"] for o in objects}
        # the retrain Job the bot creates, from the template ConfigMap
        used |= {
            yaml.safe_load(o["data"]["job.yaml"])["apiVersion"]
            for o in objects
            if o["kind"] == "ConfigMap" and "job.yaml" in o.get("data", {})
        }
    assert used - listed == set(), "used but not in the README's versions matrix"
    assert listed - used == set(), "listed in the README but used nowhere"


def test_the_tests_run_at_the_lower_bounds() -> None:
    matrix = _matrix()
    assert (
        _minimum(matrix["Kubernetes"][0])[:2] == tuple(int(p) for p in K8S_VERSION.split("."))[:2]
    )
    promtool = require_tool("promtool", "`make system-deps` (Debian package prometheus)")
    out = subprocess.run([promtool, "--version"], capture_output=True, text=True, timeout=30)
    version = re.search(r"version (\d+)\.(\d+)", out.stdout + out.stderr)
    assert version, out.stdout
    assert (int(version.group(1)), int(version.group(2))) >= _minimum(matrix["Prometheus"][0])[:2]
    fixture = (ROOT / "tests" / "fixtures" / "request-headers.txt").read_text()
    agent = re.search(r"Alertmanager/(\d+)\.(\d+)", fixture)
    assert agent, "the captured Alertmanager request names its version"
    assert (int(agent.group(1)), int(agent.group(2))) == _minimum(matrix["Alertmanager"][0])[:2]
