"""Acknowledge: someone takes the alert; the message shows who (no cluster effect).

Run by `actions.runner`; `slack.dispatch` writes the acknowledgement into the message
state when the outcome is ok.
"""

from __future__ import annotations

from bot.actions.base import ActionOutcome, ActionRequest


class AcknowledgeAction:
    """Records who took the alert."""

    name = "ack"
    long_running = False

    async def run(self, request: ActionRequest) -> ActionOutcome:
        """Always succeeds: the record is the message state and the audit log."""
        return ActionOutcome(True, f"acknowledged by <@{request.user_id}>")
