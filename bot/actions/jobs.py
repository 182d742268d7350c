"""The retraining Job, built from a template: pure, so it can be tested and previewed.

Called by `actions.retrain`. The name is deterministic (model + a hash of the group and the
alert episode) so a repeated click creates nothing new: the API answers 409. The model,
namespace, alert, drifted features and the data window reach the container as environment.
"""

from __future__ import annotations

import copy
import hashlib
import re
from typing import Any

from bot.actions.base import ActionError, ActionRequest
from bot.model.signal_evidence import DriftEvidence

MANAGED_BY = "triage-bot"


def job_name(request: ActionRequest) -> str:
    """`retrain-{model}-{hash}`, a valid DNS label of at most 63 characters."""
    digest = hashlib.sha256(f"{request.group_id}:{request.episode.isoformat()}".encode())
    slug = re.sub(r"[^a-z0-9-]+", "-", request.name.lower()).strip("-")[:40].strip("-")
    return f"retrain-{slug or 'model'}-{digest.hexdigest()[:10]}"


def environment(request: ActionRequest) -> list[dict[str, str]]:
    """The env entries every container of the Job receives.

    The data window runs from the earliest drift (or the alert episode) until now.
    """
    drift = request.report.find(DriftEvidence)
    features = drift.features if isinstance(drift, DriftEvidence) else ()
    drifted = [f for f in features if f.drifted]
    start = min([request.episode, *(f.drifted_since for f in drifted if f.drifted_since)])
    values = {
        "MODEL": request.name,
        "NAMESPACE": request.namespace,
        "ALERT": request.report.alertname,
        "DRIFTED_FEATURES": ",".join(f.name for f in drifted),
        "WINDOW_START": start.isoformat(),
        "WINDOW_END": request.now.isoformat(),
    }
    return [{"name": k, "value": v} for k, v in values.items()]


def build_job(template: dict[str, Any], request: ActionRequest) -> dict[str, Any]:
    """The Job to create: the template with our name, labels and environment."""
    job = copy.deepcopy(template)
    if job.get("kind", "Job") != "Job":
        raise ActionError(f"retrain: the template is a {job.get('kind')}, not a Job")
    job["apiVersion"], job["kind"] = "batch/v1", "Job"
    meta = job.setdefault("metadata", {})
    meta.pop("generateName", None)
    meta["name"], meta["namespace"] = job_name(request), request.namespace
    labels = meta.setdefault("labels", {})
    labels.update(
        {"app.kubernetes.io/managed-by": MANAGED_BY, "triage-bot/group": request.group_id}
    )
    pod = job.setdefault("spec", {}).setdefault("template", {}).setdefault("spec", {})
    pod.setdefault("restartPolicy", "Never")
    containers = pod.get("containers") or []
    if not containers:
        raise ActionError("retrain: the Job template has no containers")
    ours = environment(request)
    names = {e["name"] for e in ours}
    for container in containers:
        kept = [e for e in container.get("env", []) if e.get("name") not in names]
        container["env"] = kept + ours
    return job
