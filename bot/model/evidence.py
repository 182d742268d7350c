"""The base of all evidence and the verdict the rules reach from it.

Collectors (`bot.cluster`, `bot.promql`, `bot.drift`) produce evidence (the kinds are in
`model.cluster_evidence`, `model.kserve_evidence` and `model.signal_evidence`, gathered
into one tagged union in `model.results`); `triage.verdict` reads it; `notify` and
`slack.render` show it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from bot.model.findings import ActionKind, Category, Cause


class Evidence:
    """Base of every evidence kind: `isinstance` checks and the rules' signatures use it.

    Each kind is a frozen dataclass whose first field is its tag, declared as
    `kind: Literal["pods"] = field(default="pods", init=False)`: pydantic reads a stored
    report back into the right kind by that field (`model.results.AnyEvidence`).
    """

    kind: str

    def lines(self) -> tuple[str, ...]:
        """Short human-readable lines, most important first."""
        return ()


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
