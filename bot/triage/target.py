"""Which workload an alert group is about, read from its labels.

Called by the pipeline before any collector runs; the label names come from the config
(`TargetLabels`) because every team names them differently. Every name is checked
against Kubernetes' own rules (`model.names`) before it can become part of a path or a
selector: a label that is no valid name is left out of the target, and `NameGuard`
turns it into a note on the triage, so it never becomes a request.
"""

from __future__ import annotations

from collections.abc import Mapping

from bot.model.collector import Collector, CollectorError, TriageContext
from bot.model.names import NameKind, name_problem
from bot.model.results import AnyEvidence
from bot.model.target import Target, TargetLabels

# Which rule each part of the target obeys. Namespaces and InferenceServices are DNS-1123
# labels (an InferenceService name is also a label value in the selectors the readers
# send, which a label keeps valid); pods and Deployments are subdomains.
_KINDS: dict[str, NameKind] = {
    "namespace": "label",
    "inference_service": "label",
    "deployment": "subdomain",
    "pod": "subdomain",
}


def _first(labels: Mapping[str, str], names: tuple[str, ...]) -> tuple[str, str] | None:
    """(label name, value) of the first label present and not empty."""
    return next(((n, labels[n]) for n in names if labels.get(n)), None)


def rejected_names(labels: Mapping[str, str], names: TargetLabels | None = None) -> list[str]:
    """One line per target label whose value is no valid Kubernetes name."""
    names = names or TargetLabels()
    problems = []
    for part, kind in _KINDS.items():
        found = _first(labels, getattr(names, part))
        if found is None:
            continue
        problem = name_problem(found[1], kind)
        if problem is not None:
            problems.append(f"label {found[0]}={problem}")
    return problems


def resolve_target(labels: Mapping[str, str], names: TargetLabels | None = None) -> Target:
    """The target named by a label set (usually the group's common labels).

    A part whose label is no valid Kubernetes name stays None (see `rejected_names`).
    """
    names = names or TargetLabels()

    def valid(part: str) -> str | None:
        found = _first(labels, getattr(names, part))
        if found is None or name_problem(found[1], _KINDS[part]) is not None:
            return None
        return found[1]

    model = _first(labels, names.model)
    isvc = valid("inference_service") or _from_knative(labels, names)
    if isvc is None and model and not (valid("deployment") or valid("pod")):
        # KServe serves a model under its InferenceService's name: with nothing else named,
        # the model label is the best lead (a wrong one reads as "not found", never harm).
        isvc = model[1] if name_problem(model[1], "label") is None else None
    return Target(
        namespace=valid("namespace"),
        inference_service=isvc,
        deployment=valid("deployment"),
        pod=valid("pod"),
        model=model[1] if model else valid("inference_service"),
    )


def _from_knative(labels: Mapping[str, str], names: TargetLabels) -> str | None:
    found = _first(labels, names.knative_service)
    if found is None:
        return None
    for component in ("-predictor", "-transformer", "-explainer"):
        head, sep, _ = found[1].partition(component)
        if sep and head and name_problem(head, "label") is None:
            return head
    return None


class NameGuard:
    """A collector that asks the cluster only when every name in the alert's labels is valid.

    `sources.build_pipeline` wraps each Kubernetes collector in one. The target already
    leaves bad names out; the guard makes the reason a note on the triage (a label like
    `namespace=".."` is named, with why) instead of reads of whatever the rest points at.
    """

    def __init__(self, inner: Collector, names: TargetLabels | None = None) -> None:
        self._inner = inner
        self._names = names or TargetLabels()

    @property
    def name(self) -> str:
        """The wrapped collector's name."""
        return self._inner.name

    @property
    def timeout(self) -> float:
        """The wrapped collector's timeout."""
        return self._inner.timeout

    async def collect(self, context: TriageContext) -> AnyEvidence | None:
        """The wrapped collector's evidence; a `CollectorError` naming any rejected label."""
        labels = {**context.notification.common_labels, **context.notification.group_labels}
        problems = rejected_names(labels, self._names)
        if problems:
            raise CollectorError("; ".join(problems) + ": not used in any request")
        return await self._inner.collect(context)
