"""`triage-bot export-case GROUP`: a stored triage turned into an incident-corpus case.

Called by `cli`. Reads the group's latest triage from the store under the data dir (read
only), and writes the case format of tests/corpus (README there): the alert, the evidence
as it was gathered (already redacted at the boundary), and the expected verdict: the
bot's own when a person marked it right, or the one given with `--expect` when they
marked it wrong or gave no answer. Real incidents grow the corpus this way.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.model.report import TriageReport
from bot.model.results import evidence_to_dict
from bot.slack.buttons import group_id

CATEGORIES = ("infrastructure", "rollout", "data-drift", "concept-drift", "unknown")


class ExportError(Exception):
    """The case cannot be exported; the message says why and what to do."""


@dataclass(frozen=True)
class Answer:
    """A person's word on a triage: right or wrong, who and when."""

    right: bool
    user: str
    at: str


def _connect(database: Path) -> sqlite3.Connection:
    if not database.is_file():
        raise ExportError(f"no store at {database}: pass the data dir of the service")
    try:
        return sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise ExportError(f"cannot open {database}: {exc}") from exc


def stored_report(database: Path, group: str) -> TriageReport:
    """The latest triage of the group named by its key or by its short id (as in Slack)."""
    with _connect(database) as db:
        try:
            rows = db.execute("SELECT group_key, report FROM triages").fetchall()
        except sqlite3.Error as exc:
            raise ExportError(f"cannot read triages from {database}: {exc}") from exc
    for key, body in rows:
        if group in (key, group_id(key)):
            return TriageReport.from_dict(json.loads(body))
    raise ExportError(f"no triage of group {group!r} in {database}")


def feedback(database: Path, report: TriageReport) -> Answer | None:
    """The newest "Right / Wrong diagnosis" answer on the group in the audit, if any."""
    with _connect(database) as db:
        try:
            rows = db.execute(
                "SELECT arg, user_name, at FROM audit_log WHERE group_id = ?"
                " AND action = 'feedback' AND decision = 'allowed' ORDER BY id DESC LIMIT 1",
                (group_id(report.group_key),),
            ).fetchall()
        except sqlite3.Error:
            return None  # no audit table: Slack was never on, nobody answered
    if not rows:
        return None
    arg, user, at = rows[0]
    return Answer(arg == "right", str(user), str(at))


def _facts(report: TriageReport) -> list[str]:
    v = report.verdict
    keys = ("bad_revision", "rollback_to", "image", "container", "memory_limit", "model")
    facts = [v.details[k] for k in keys if v.details.get(k)]
    name = report.target.inference_service or report.target.deployment or report.target.pod
    return facts or ([name] if name else [v.category])


def export_case(report: TriageReport, answer: Answer | None, expect: str = "") -> dict[str, Any]:
    """The corpus case of a triage; `expect` is `CATEGORY[/CAUSE]` and wins over the answer."""
    v = report.verdict
    if expect:
        category, _, cause = expect.partition("/")
        if category not in CATEGORIES:
            raise ExportError(f"--expect: {category!r} is not one of {', '.join(CATEGORIES)}")
        cause = cause or (v.cause if category == v.category else "unknown")
    elif answer is not None and answer.right:
        category, cause = v.category, v.cause or "unknown"
    else:
        said = "marked wrong" if answer is not None else "not marked right on Slack"
        raise ExportError(
            f"the diagnosis of {report.group_key} was {said}: give the right one with "
            "--expect CATEGORY/CAUSE"
        )
    first = report.alerts[0] if report.alerts else None
    word = "confirmed" if answer is not None and answer.right else "corrected"
    who = f" by {answer.user} at {answer.at}" if answer is not None else ""
    alert: dict[str, Any] = {
        "labels": dict(first.labels) if first else dict(report.common_labels),
        "annotations": {"summary": first.summary} if first and first.summary else {},
        "startsAt": (first.starts_at if first else report.started_at).strftime(
            "%Y-%m-%dT%H:%M:%SZ"
        ),
    }
    if first is not None and first.generator_url:
        alert["generatorURL"] = first.generator_url
    return {
        "title": f"{report.alertname or 'alert'} on {report.target.describe()} (real incident)",
        "sources": [f"triage-bot export of group {group_id(report.group_key)}"],
        "story": (
            f"Exported from a real triage; the bot said {v.category}/{v.cause or 'unknown'} "
            f"({v.summary}) and a person {word} it{who}. Edit this story with what happened."
        ),
        "alert": alert,
        "evidence": [evidence_to_dict(e) for e in report.evidence()],
        "expect": {"category": category, "cause": cause, "facts": _facts(report)},
    }
