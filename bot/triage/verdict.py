"""The verdict: pure rules from evidence to a category, a confidence and an action.

Called by the pipeline after the collectors. Each rule looks at typed evidence and
either returns a `Verdict` with the lines that carry it, or None; the most confident
rule wins and ties go to the earlier rule in `RULES`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from bot.alerts.models import Notification
from bot.triage.evidence import Evidence, Target, Verdict

Rule = Callable[[Target, Sequence[Evidence], Notification], Verdict | None]

RULES: tuple[Rule, ...] = ()


def unknown(target: Target, reasons: Sequence[str] = ()) -> Verdict:
    """The honest answer when no rule fits."""
    why = tuple(reasons) or (
        ("the alert labels name no workload to inspect",)
        if not target.names_workload
        else ("no rule matched the evidence gathered",)
    )
    return Verdict(
        category="unknown",
        confidence=0.0,
        summary="No clear cause found",
        reasons=why,
        action="Investigate by hand: open the alert's graph and the model's logs.",
        action_kind="investigate",
    )


def decide(target: Target, evidence: Sequence[Evidence], notification: Notification) -> Verdict:
    """The best-supported verdict for the evidence."""
    best: Verdict | None = None
    for rule in RULES:
        verdict = rule(target, evidence, notification)
        if verdict is not None and (best is None or verdict.confidence > best.confidence):
            best = verdict
    return best or unknown(target)
