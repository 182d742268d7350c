"""Retrain: create the retraining Job and follow it to completion.

Run by `actions.runner`. The template comes from the config file or a ConfigMap (read at
click time so it can change without a restart); `actions.jobs` builds the Job and
`actions.job_policy` refuses what the cluster's admission policy would. A 409 means
the same click already created it: we follow that Job instead. The outcome is success, or
the failure reason with the tail of the log.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import yaml

from bot.actions.base import ActionError, ActionOutcome, ActionRequest
from bot.actions.job_policy import job_problems
from bot.actions.jobs import build_job, job_name
from bot.actions.kube import Conflict, KubeWriter
from bot.cluster import parsing as p
from bot.cluster.reader import KubeReader
from bot.config_sections.actions import RetrainSettings
from bot.model.collector import CollectorError
from bot.redaction import redact


class RetrainAction:
    """Creates and follows the retraining Job."""

    name = "retrain"
    long_running = True

    def __init__(
        self, reader: KubeReader, writer: KubeWriter, settings: RetrainSettings, *, poll: float
    ) -> None:
        self._reader = reader
        self._writer = writer
        self._settings = settings
        self._poll = poll

    async def template(self, namespace: str) -> dict[str, Any]:
        """The Job template: from the config file, else the configured ConfigMap."""
        if self._settings.job_template:
            return dict(self._settings.job_template)
        if not self._settings.configmap:
            raise ActionError("retrain: no Job template configured (actions.retrain)")
        ns, _, name = self._settings.configmap.rpartition("/")
        data = await self._writer.config_map(ns or namespace, name)
        raw = p.obj(data.get("data")).get(self._settings.configmap_key)
        if not raw:
            raise ActionError(
                f"retrain: configmap {name} has no key {self._settings.configmap_key}"
            )
        try:
            template = yaml.safe_load(str(raw))
        except yaml.YAMLError as exc:
            raise ActionError(f"retrain: the template in configmap {name} is not YAML") from exc
        if not isinstance(template, dict):
            raise ActionError(f"retrain: the template in configmap {name} is not a mapping")
        return template

    async def run(self, request: ActionRequest) -> ActionOutcome:
        """Create (or find) the Job, wait for it to finish, report."""
        if not request.namespace or not request.name:
            raise ActionError("retrain: the alert names no model")
        job = build_job(await self.template(request.namespace), request)
        problems = job_problems(job, self._settings.allowed_secrets)
        if problems:  # the admission policy would refuse it too: say why, send nothing
            raise ActionError("retrain: the Job template " + "; ".join(problems))
        name = job_name(request)
        try:
            await self._writer.create_job(request.namespace, job)
            started = "created"
        except Conflict:
            started = "already existed"
        return await self._follow(request.namespace, name, started)

    async def _follow(self, namespace: str, name: str, started: str) -> ActionOutcome:
        began = time.monotonic()
        while time.monotonic() - began < self._settings.timeout_seconds:
            status = p.obj((await self._writer.job(namespace, name)).get("status"))
            if p.condition_true(status, "Complete") or int(status.get("succeeded") or 0) > 0:
                took = time.monotonic() - began
                return ActionOutcome(
                    True, f"retraining Job {name} succeeded ({started}, {took:.0f} s)"
                )
            if p.condition_true(status, "Failed"):
                failed = next((c for c in p.conditions(status) if c.type == "Failed"), None)
                reason = redact(f"{failed.reason}: {failed.message}") if failed else "failed"
                # A Job's log is the likeliest place for a secret (a training script
                # printing its config); `actions.runner` redacts again, harmlessly.
                tail = redact(await self._log_tail(namespace, name))
                return ActionOutcome(
                    False,
                    f"retraining Job {name} failed ({reason})",
                    detail=tail,
                )
            await asyncio.sleep(self._poll)
        limit = self._settings.timeout_seconds
        return ActionOutcome(False, f"retraining Job {name} still running after {limit:.0f} s")

    async def _log_tail(self, namespace: str, job: str) -> str:
        try:
            pods = await self._reader.pods(namespace, label_selector=f"job-name={job}")
            if not pods:
                return ""
            newest = max(
                pods, key=lambda x: p.text(p.obj(x.get("metadata")).get("creationTimestamp"))
            )
            meta, spec = p.obj(newest.get("metadata")), p.obj(newest.get("spec"))
            container = p.text(p.items(spec.get("containers"))[0].get("name"))
            return await self._reader.log(
                namespace,
                p.text(meta.get("name")),
                container,
                previous=False,
                tail_lines=self._settings.log_tail_lines,
            )
        except (CollectorError, IndexError):
            return ""
