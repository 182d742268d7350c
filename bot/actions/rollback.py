"""Rollback of a KServe InferenceService, then a watch until it is ready again.

Run by `actions.runner`. The plan is made again from the live object (`actions.plan`):
with a `previousRolledoutRevision`, `canaryTrafficPercent: 0` pins all traffic to it (the
documented KServe rollback); otherwise the previous predictor spec (storage URI, runtime
version) from the revision / ReplicaSet history is restored. The person confirmed one
target revision; if the live plan now points elsewhere, nothing is changed.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from bot.actions.base import ActionError, ActionOutcome, ActionRequest
from bot.actions.kube import KubeWriter
from bot.actions.plan import RollbackPlan, plan_from_status
from bot.cluster import parsing as p
from bot.cluster.inference_services import (
    deployment_mode,
    knative_revision,
    replica_set_revision,
)
from bot.cluster.reader import KubeReader
from bot.model.collector import CollectorError
from bot.model.kserve_evidence import RAW_MODES, Revision


def is_rolled_back(isvc: dict[str, Any], plan: RollbackPlan, generation: int) -> bool:
    """Ready, the patch observed, and (traffic mode) the revision serving all traffic."""
    status = p.obj(isvc.get("status"))
    if p.condition_true(status, "Ready") is not True:
        return False
    if int(status.get("observedGeneration") or generation) < generation:
        return False
    if plan.mode == "spec":
        return True
    predictor = p.obj(p.obj(status.get("components")).get("predictor"))
    return any(
        t.get("revisionName") == plan.to_revision and int(t.get("percent") or 0) == 100
        for t in p.items(predictor.get("traffic"))
    )


class RollbackAction:
    """Patches the InferenceService back and follows it to Ready."""

    name = "rollback"
    long_running = True

    def __init__(
        self, reader: KubeReader, writer: KubeWriter, *, timeout: float, poll: float
    ) -> None:
        self._reader = reader
        self._writer = writer
        self._timeout = timeout
        self._poll = poll

    async def _history(self, isvc: dict[str, Any], namespace: str, name: str) -> list[Revision]:
        if deployment_mode(isvc) in RAW_MODES:
            return [
                replica_set_revision(r) for r in await self._reader.replica_sets(namespace, name)
            ]
        return [knative_revision(r) for r in await self._reader.knative_revisions(namespace, name)]

    async def run(self, request: ActionRequest) -> ActionOutcome:
        """Patch, then wait for readiness; the outcome says which and how long."""
        ns, name = request.namespace, request.name
        if not ns or not name:
            raise ActionError("rollback: the alert names no InferenceService")
        try:
            live = await self._reader.inference_service(ns, name)
            plan = plan_from_status(live)  # pinning traffic needs no history
            if plan is None:
                plan = plan_from_status(live, await self._history(live, ns, name))
        except CollectorError as exc:
            raise ActionError(f"rollback: {exc}") from exc
        if plan is None:
            raise ActionError(f"rollback: {ns}/{name} has no previous revision to go back to")
        if request.arg and plan.to_revision != request.arg:
            raise ActionError(
                f"rollback: {ns}/{name} changed since the message (the rollback would now go"
                f" to {plan.to_revision}, not {request.arg}); nothing changed"
            )
        patched = await self._writer.patch_inference_service(ns, name, plan.patch())
        generation = int(p.obj(patched.get("metadata")).get("generation") or 0)
        diff = "; ".join(plan.diff_lines())
        began = time.monotonic()
        while time.monotonic() - began < self._timeout:
            try:
                current = await self._reader.inference_service(ns, name)
            except CollectorError:
                current = {}
            if current and is_rolled_back(current, plan, generation):
                took = time.monotonic() - began
                summary = f"rolled back {ns}/{name} to {plan.to_revision}, ready after {took:.0f} s"
                return ActionOutcome(True, summary, detail=diff)
            await asyncio.sleep(self._poll)
        return ActionOutcome(
            False,
            f"rolled back {ns}/{name} to {plan.to_revision} but it is not ready after"
            f" {self._timeout:.0f} s",
            detail=diff,
        )
