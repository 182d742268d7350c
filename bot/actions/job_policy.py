"""What a retrain Job may do: the bot's own check, the same rules the cluster enforces.

Called by `actions.retrain` on the built Job before it is sent. The manifests hold a
ValidatingAdmissionPolicy (manifests/base/admission-policy.yaml) with the same rules for
every Job the bot's service account creates, so a template the bot would refuse is also
refused by the API server if the bot itself is compromised; a table test runs both on the
same Jobs. Refused: a service account other than the namespace's default, host paths,
the host's network/PID/IPC namespaces, privileged containers, and secrets (volumes,
projected volumes, env, envFrom) not listed in `actions.retrain.allowed_secrets`.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any


def _map(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[dict[str, Any]]:
    return [_map(v) for v in value] if isinstance(value, list) else []


def _secrets_used(pod: dict[str, Any], containers: list[dict[str, Any]]) -> list[str]:
    """Every secret name the pod would read, in the order it appears."""
    names = []
    for volume in _list(pod.get("volumes")):
        if "secret" in volume:
            names.append(str(_map(volume["secret"]).get("secretName", "")))
        for source in _list(_map(volume.get("projected")).get("sources")):
            if "secret" in source:
                names.append(str(_map(source["secret"]).get("name", "")))
    for container in containers:
        for env in _list(container.get("env")):
            ref = _map(env.get("valueFrom")).get("secretKeyRef")
            if ref is not None:
                names.append(str(_map(ref).get("name", "")))
        for source in _list(container.get("envFrom")):
            if "secretRef" in source:
                names.append(str(_map(source["secretRef"]).get("name", "")))
    return names


def job_problems(job: dict[str, Any], allowed_secrets: Collection[str] = ()) -> list[str]:
    """Why the cluster's policy would refuse this Job (empty when it may run)."""
    pod = _map(_map(_map(job.get("spec")).get("template")).get("spec"))
    containers = _list(pod.get("containers")) + _list(pod.get("initContainers"))
    problems = []
    for field in ("serviceAccountName", "serviceAccount"):
        if field in pod and pod[field] != "default":
            problems.append(f"sets {field} {pod[field]!r} (Jobs run as the default account)")
    host_paths = [str(v.get("name")) for v in _list(pod.get("volumes")) if "hostPath" in v]
    if host_paths:
        problems.append(f"mounts host paths (volumes {', '.join(host_paths)})")
    shared = [f for f in ("hostNetwork", "hostPID", "hostIPC") if pod.get(f) is True]
    if shared:
        problems.append(f"uses the host's namespaces ({', '.join(shared)})")
    privileged = [
        str(c.get("name")) for c in containers if _map(c.get("securityContext")).get("privileged")
    ]
    if privileged:
        problems.append(f"runs privileged containers ({', '.join(privileged)})")
    unlisted = [s for s in _secrets_used(pod, containers) if s not in allowed_secrets]
    if unlisted:
        problems.append(
            f"reads secrets not in actions.retrain.allowed_secrets ({', '.join(unlisted)})"
        )
    return problems
