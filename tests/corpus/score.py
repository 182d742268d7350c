"""Scores triages against the corpus's ground truth.

Used by tests/corpus/test_diagnosis.py (the gate in `make test`) and bench/diagnosis.py
(the full table). What a person reads of a verdict (summary, reasons, action, what else
was considered) must name the case's facts; nothing anywhere in the stored report or the
rendered text may hold a planted secret; advice the case rules out is harmful.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field

from bot.notify.text import render_text
from tests.corpus.runner import Outcome

# Our action kinds against the corpus's words for advice it may rule out.
_KINDS = {
    "raise-cpu": {"raise-capacity"},
    "raise-replicas": {"raise-capacity"},
    "restart": {"restart"},
}


def readable(outcome: Outcome) -> str:
    """The verdict's words a person reads, lower-cased."""
    v = outcome.report.verdict
    return "\n".join([v.summary, *v.reasons, v.action, *v.considered]).lower()


@dataclass(frozen=True)
class Score:
    """How one triage did."""

    name: str
    expected: str
    got: str
    cause_expected: str
    cause_got: str
    facts_named: int
    facts_total: int
    missed: tuple[str, ...]
    leaks: tuple[str, ...]
    harm: tuple[str, ...]
    rollback_right: bool | None
    seconds: float

    @property
    def right(self) -> bool:
        """The verdict's category is the case's."""
        return self.expected == self.got


def score(outcome: Outcome) -> Score:
    """The score of one case's triage."""
    expect = outcome.case.expect
    verdict = outcome.report.verdict
    words = readable(outcome)
    missed = tuple(f for f in expect.facts if f.lower() not in words)
    everything = json.dumps(outcome.report.to_dict()) + render_text(outcome.report)
    leaks = tuple(s for s in expect.secrets if s in everything)
    harm: list[str] = []
    offered = verdict.details.get("rollback_to", "")
    if offered and offered in expect.forbid.rollback_to:
        harm.append(f"rollback to {offered}")
    for kind in expect.forbid.action_kinds:
        if verdict.action_kind in _KINDS.get(kind, {kind}):
            harm.append(f"advice {verdict.action_kind}")
    rollback_right = None
    if expect.rollback_to:
        rollback_right = offered == expect.rollback_to
    return Score(
        name=outcome.name,
        expected=expect.category,
        got=verdict.category,
        cause_expected=expect.cause,
        cause_got=verdict.cause,
        facts_named=len(expect.facts) - len(missed),
        facts_total=len(expect.facts),
        missed=missed,
        leaks=leaks,
        harm=tuple(harm),
        rollback_right=rollback_right,
        seconds=outcome.seconds,
    )


@dataclass
class Summary:
    """The corpus's totals."""

    scores: list[Score] = field(default_factory=list)

    @property
    def accuracy(self) -> float:
        """Share of cases with the right category."""
        return sum(s.right for s in self.scores) / max(len(self.scores), 1)

    @property
    def cause_accuracy(self) -> float:
        """Share of cases with the right cause."""
        return sum(s.cause_expected == s.cause_got for s in self.scores) / max(len(self.scores), 1)

    @property
    def facts_recall(self) -> float:
        """Share of all facts named."""
        named = sum(s.facts_named for s in self.scores)
        return named / max(sum(s.facts_total for s in self.scores), 1)

    @property
    def abstention(self) -> float:
        """Share of cases answered `unknown`."""
        return sum(s.got == "unknown" for s in self.scores) / max(len(self.scores), 1)

    @property
    def leaks(self) -> int:
        """Secrets that left the process."""
        return sum(len(s.leaks) for s in self.scores)

    @property
    def harm(self) -> int:
        """Cases with advice the case rules out."""
        return sum(bool(s.harm) for s in self.scores)

    def confusion(self) -> Counter[tuple[str, str]]:
        """(expected, got) counts."""
        return Counter((s.expected, s.got) for s in self.scores)
