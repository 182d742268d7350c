"""The nodes that run the model's pods: not ready, under memory, disk or PID pressure.

`NodesCollector` is called by the triage pipeline. It reads the model's pods (the read
shared with `cluster.pods`), then GETs each distinct node (at most `MAX_NODES`). Node
events live outside the model's namespace, so the node's own conditions are how a triage
learns that a node is NotReady or under DiskPressure. Nodes are cluster-scoped: the read
needs the opt-in `node-read` component (manifests); without it the note says 403.
"""

from __future__ import annotations

import asyncio

from bot.cluster import parsing as p
from bot.cluster.pods import model_pods
from bot.cluster.reader import JSON, KubeReader, NotFound, read_failure
from bot.model.cluster_evidence import NodesEvidence, NodeState
from bot.model.collector import CollectorError, TriageContext

MAX_NODES = 5
_PRESSURE = ("MemoryPressure", "DiskPressure", "PIDPressure", "NetworkUnavailable")


def parse_node(node: JSON) -> NodeState:
    """A `NodeState` keeping only the conditions that say something is wrong."""
    status = p.obj(node.get("status"))
    conditions = p.conditions(status)
    problems = tuple(
        c
        for c in conditions
        if (c.type == "Ready" and c.status != "True")
        or (c.type in _PRESSURE and c.status == "True")
    )
    return NodeState(
        name=p.text(p.obj(node.get("metadata")).get("name")),
        ready=p.condition_true(status, "Ready"),
        problems=problems,
        unschedulable=bool(p.obj(node.get("spec")).get("unschedulable")),
    )


class NodesCollector:
    """Collects `NodesEvidence` for the nodes of the target's pods."""

    name = "Kubernetes nodes"

    def __init__(self, reader: KubeReader, timeout: float) -> None:
        self._reader = reader
        self.timeout = timeout

    async def collect(self, context: TriageContext) -> NodesEvidence | None:
        """The pods' nodes; None when the alert names no workload or no pod is placed."""
        try:
            found = await model_pods(context, self._reader)
        except CollectorError:
            return None  # the pods collector already says why the pods are unknown
        if found is None:
            return None
        names = sorted({state.node for state in found[2] if state.node})
        if not names:
            return None
        results = await asyncio.gather(
            *(self._reader.node(n) for n in names[:MAX_NODES]), return_exceptions=True
        )
        nodes = [parse_node(r) for r in results if isinstance(r, dict)]
        # A node that is gone (scaled down, replaced) has nothing left to say.
        errors = [
            r for r in results if isinstance(r, BaseException) and not isinstance(r, NotFound)
        ]
        if errors and not nodes:
            raise read_failure(errors[0], "reading nodes")
        return NodesEvidence(nodes=tuple(nodes))
