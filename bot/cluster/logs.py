"""Log excerpts of the model container of the pods most likely to explain the alert.

`LogsCollector` is called by the triage pipeline. It finds the target's pods (as
`cluster.pods` does), picks a few (restarted or unready first), reads the model
container's log tail (the previous, crashed instance when the container restarted)
concurrently, and hands the text to `cluster.excerpt` for error lines, tracebacks and
redaction. The result is a `LogsEvidence`.
"""

from __future__ import annotations

import asyncio

from bot.cluster import parsing as p
from bot.cluster.excerpt import extract
from bot.cluster.pods import model_pods
from bot.cluster.reader import JSON, KubeReader, read_failure
from bot.model.cluster_evidence import LogExcerpt, LogsEvidence, PodState
from bot.model.collector import CollectorError, TriageContext

MODEL_CONTAINER = "kserve-container"
SIDECARS = frozenset(
    {"queue-proxy", "istio-proxy", "istio-init", "linkerd-proxy", "storage-initializer", "agent"}
)
MAX_PODS = 4
QUEUE_PROXY = "queue-proxy"
# Waiting reasons of a container that has never run: it has no log to read.
_NEVER_STARTED = (
    "ErrImagePull",
    "ImagePullBackOff",
    "InvalidImageName",
    "CreateContainerConfigError",
    "CreateContainerError",
)


def model_container(pod: JSON) -> str | None:
    """The container that runs the model: `kserve-container`, else the first non-sidecar."""
    names = [p.text(c.get("name")) for c in p.items(p.obj(pod.get("spec")).get("containers"))]
    if MODEL_CONTAINER in names:
        return MODEL_CONTAINER
    return next((n for n in names if n not in SIDECARS), None)


def _trouble(state: PodState) -> tuple[int, int]:
    restarts = sum(c.restart_count for c in state.containers)
    return (0 if restarts or not state.ready else 1, -restarts)


def pick_pods(
    pods: list[JSON], states: list[PodState], limit: int = MAX_PODS
) -> list[tuple[JSON, PodState]]:
    """The pods whose logs say most: restarted or unready first, then the newest, one of
    each revision before a second of any (a transformer's errors must not hide behind
    the predictor's newer pods)."""
    # `pods` arrive newest first and sorted() is stable, so ties keep that order.
    ranked = sorted(zip(pods, states, strict=True), key=lambda item: _trouble(item[1]))
    nth: dict[str, int] = {}
    keys: list[tuple[int, int, int]] = []
    for position, (_, state) in enumerate(ranked):
        troubled = _trouble(state)[0] == 0
        keys.append((0 if troubled else 1, nth.get(state.revision, 0), position))
        nth[state.revision] = nth.get(state.revision, 0) + 1
    order = sorted(range(len(ranked)), key=lambda i: keys[i])
    return [ranked[i] for i in order[:limit]]


class LogsCollector:
    """Collects `LogsEvidence` from the model containers of the target's pods."""

    name = "Kubernetes logs"

    def __init__(self, reader: KubeReader, timeout: float, tail_lines: int = 400) -> None:
        self._reader = reader
        self.timeout = timeout
        self._tail = tail_lines

    def _containers(self, pod: JSON, state: PodState) -> list[tuple[str, bool]]:
        """(container, previous) pairs worth reading: a failing init container, the model."""
        out: list[tuple[str, bool]] = []
        for c in state.containers:
            failed = c.restart_count > 0 or (c.last_exit_code or 0) != 0
            if c.init and (failed or (c.waiting_reason and c.waiting_reason != "PodInitializing")):
                # A crash-looping init container's useful words are in its last instance.
                out.append((c.name, c.restart_count > 0))
        container = model_container(pod)
        status = next((c for c in state.containers if c.name == container), None)
        if container is None:
            return out
        never_ran = (
            status is not None
            and status.restart_count == 0
            and status.waiting_reason
            in (
                "PodInitializing",
                "ContainerCreating",
                *_NEVER_STARTED,
            )
        )
        if not never_ran:
            out.append((container, bool(status and status.restart_count > 0)))
        names = {c.name for c in state.containers}
        if (
            not state.ready
            and QUEUE_PROXY in names
            and status is not None
            and not status.waiting_reason
        ):
            # The model runs but the pod is not ready: Knative's proxy says what it probes.
            out.append((QUEUE_PROXY, False))
        return out

    async def _excerpt(
        self, namespace: str, pod: str, container: str, previous: bool
    ) -> LogExcerpt:
        try:
            text = await self._reader.log(
                namespace, pod, container, previous=previous, tail_lines=self._tail
            )
        except CollectorError:
            if not previous:
                raise
            # The previous instance may be gone (node restarted); the current one still talks.
            previous = False
            text = await self._reader.log(
                namespace, pod, container, previous=False, tail_lines=self._tail
            )
        found = extract(text)
        return LogExcerpt(
            pod=pod,
            container=container,
            previous=previous,
            lines=found.lines,
            error_count=found.error_count,
            has_traceback=found.has_traceback,
        )

    async def collect(self, context: TriageContext) -> LogsEvidence | None:
        """Excerpts of up to `MAX_PODS` pods; None when the alert names no workload."""
        found = await model_pods(context, self._reader)
        if found is None:
            return None
        query, pods, states = found
        chosen = pick_pods(pods, states)
        results = await asyncio.gather(
            *(
                self._excerpt(query.namespace, state.name, container, previous)
                for pod, state in chosen
                for container, previous in self._containers(pod, state)
            ),
            return_exceptions=True,
        )
        excerpts = [r for r in results if isinstance(r, LogExcerpt)]
        failures = [r for r in results if isinstance(r, BaseException)]
        if failures and not excerpts:
            raise read_failure(failures[0], "reading logs")
        return LogsEvidence(excerpts=tuple(excerpts))
