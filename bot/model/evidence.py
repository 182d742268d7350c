"""The base of all evidence, its JSON form, and what a collector and the verdict return.

Collectors (`bot.cluster`, `bot.promql`, `bot.drift`) produce evidence (the kinds are in
`model.cluster_evidence`, `model.kserve_evidence` and `model.signal_evidence`);
`triage.verdict` reads it; `notify` and `slack.render` show it. Each kind registers
itself by its `kind` name so a stored report can be read back typed (`bot.model` imports
every kind first).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

from pydantic import TypeAdapter

from bot.model.findings import ActionKind, Category, Cause

_KINDS: dict[str, type[Evidence]] = {}


@dataclass(frozen=True)
class Evidence:
    """Base of every evidence kind; subclasses set `kind` and list what they saw."""

    kind: ClassVar[str] = ""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.kind:
            _KINDS[cls.kind] = cls

    def lines(self) -> tuple[str, ...]:
        """Short human-readable lines, most important first."""
        return ()


_ADAPTERS: dict[str, TypeAdapter[Any]] = {}


def _adapter(cls: type[Evidence]) -> TypeAdapter[Any]:
    # Building an adapter costs milliseconds; reports are serialised on every triage.
    adapter = _ADAPTERS.get(cls.kind)
    if adapter is None:
        adapter = _ADAPTERS[cls.kind] = TypeAdapter(cls)
    return adapter


def evidence_to_dict(evidence: Evidence) -> dict[str, Any]:
    """JSON-ready dict of an evidence value, tagged with its kind."""
    data = _adapter(type(evidence)).dump_python(evidence, mode="json")
    return {"kind": evidence.kind, **data}


def evidence_from_dict(data: dict[str, Any]) -> Evidence | None:
    """The typed evidence back from `evidence_to_dict`; None for an unknown kind."""
    cls = _KINDS.get(str(data.get("kind", "")))
    if cls is None:
        return None
    fields = {f.name for f in dataclasses.fields(cls)}
    value: Evidence = _adapter(cls).validate_python({k: v for k, v in data.items() if k in fields})
    return value


@dataclass(frozen=True)
class CollectorResult:
    """What one collector returned: evidence, or a note saying why not."""

    collector: str
    evidence: Evidence | None = None
    note: str = ""
    seconds: float = 0.0


@dataclass(frozen=True)
class Verdict:
    """The decision: a category, how sure, why, and what to do."""

    category: Category
    confidence: float
    summary: str
    reasons: tuple[str, ...] = ()
    action: str = ""
    action_kind: ActionKind | Literal[""] = ""  # empty: nothing to do
    details: dict[str, str] = field(default_factory=dict)
    cause: Cause | Literal[""] = ""  # the mechanism; empty when no finding named one
    # The strongest explanation of another category that lost, and why.
    considered: tuple[str, ...] = ()
