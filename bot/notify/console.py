"""The console notifier: the embedded default when no Slack token is configured.

Called by the worker; writes each triage as a readable block to a text stream (stdout).
"""

from __future__ import annotations

import sys
from typing import TextIO

from bot.notify.base import Change
from bot.notify.text import render_text
from bot.triage.report import TriageReport


class ConsoleNotifier:
    """Prints triages."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream

    async def notify(self, report: TriageReport, change: Change) -> None:
        """Print the report with a separator line."""
        stream = self._stream or sys.stdout
        print(render_text(report, change), file=stream)
        print("-" * 72, file=stream, flush=True)

    async def close(self) -> None:
        """Nothing to release."""
