"""The console notifier: the embedded default when no Slack token is configured.

Called by the worker; writes each triage to a text stream (stdout), apart from the log
(stderr). As text: the readable block of `notify.text`, then what the alert itself says
(its description, runbook and graph link), and a separator. With `as_json` (when the log
is JSON): one JSON object per triage on one line, so a log collector that merges stdout
and stderr still reads one record per line.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from typing import TextIO

from bot.model.change import Change
from bot.model.report import TriageReport
from bot.notify.text import render_text


def alert_context(report: TriageReport) -> list[tuple[str, str]]:
    """What the alert says of itself: description, runbook, the graph to open."""
    notes = report.common_annotations
    first = report.alerts[0] if report.alerts else None
    lines: list[tuple[str, str]] = []
    description = notes.get("description") or notes.get("message") or ""
    if description:
        lines.append(("description", " ".join(description.split())))
    if notes.get("runbook_url"):
        lines.append(("runbook", notes["runbook_url"]))
    if first is not None and first.generator_url:
        lines.append(("graph", first.generator_url))
    return lines


class ConsoleNotifier:
    """Prints triages."""

    def __init__(self, stream: TextIO | None = None, *, as_json: bool = False) -> None:
        self._stream = stream
        self._as_json = as_json

    async def notify(self, report: TriageReport, change: Change) -> None:
        """Print the report: a block with a separator line, or one JSON line."""
        stream = self._stream or sys.stdout
        context = alert_context(report)
        if self._as_json:
            record = {
                "time": datetime.now(UTC).isoformat(),
                "level": "info",
                "logger": "bot.notify.console",
                "message": "triage",
                "group_key": report.group_key,
                "status": report.status,
                "change": change.kind,
                "verdict": report.verdict.category,
                **dict(context),
                "text": render_text(report, change),
            }
            print(json.dumps(record, default=str), file=stream, flush=True)
            return
        print(render_text(report, change), file=stream)
        for name, value in context:
            print(f"  {name}: {value}", file=stream)
        print("-" * 72, file=stream, flush=True)

    async def close(self) -> None:
        """Nothing to release."""
