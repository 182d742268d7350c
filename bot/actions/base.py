"""What every action receives and returns, and the interface actions implement.

`slack.dispatch` builds an `ActionRequest` from a verified, authorized click and the stored
report; `actions.runner` hands it to one of `acknowledge`, `silence`, `rollback`,
`retrain`, and passes the `ActionOutcome` back for the thread and the audit log.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from bot.model.actions import ActionName
from bot.model.report import TriageReport

# Actions that change the cluster: one of them at a time per model.
EXCLUSIVE = frozenset({"rollback", "retrain"})


class ActionError(Exception):
    """An action could not be carried out; the message is shown in the thread."""


@dataclass(frozen=True)
class ActionRequest:
    """One authorized request to act on an alert group's workload."""

    action: ActionName
    group_id: str
    namespace: str
    name: str
    arg: str
    user_id: str
    report: TriageReport
    now: datetime

    @property
    def episode(self) -> datetime:
        """When the group's current firing began: a new episode may repeat an action."""
        return min((a.starts_at for a in self.report.alerts), default=self.report.started_at)

    @property
    def model(self) -> str:
        """`namespace/name`: the unit "one action at a time" applies to."""
        return f"{self.namespace}/{self.name}" if self.name else self.group_id

    def key(self) -> str:
        """What makes two requests the same action (a double click, a replay)."""
        raw = "\x00".join(
            (self.action, self.group_id, self.model, self.arg, self.episode.isoformat())
        )
        return hashlib.sha256(raw.encode()).hexdigest()[:32]


@dataclass(frozen=True)
class ActionOutcome:
    """How an action ended, in a line for the thread and detail for the audit log."""

    ok: bool
    summary: str
    detail: str = ""
    until: datetime | None = None  # a silence's end; the run counts as done until then


class Action(Protocol):
    """One kind of action."""

    @property
    def name(self) -> str:
        """The button's action name."""
        ...

    @property
    def long_running(self) -> bool:
        """True when people should be told it started before it ends."""
        ...

    async def run(self, request: ActionRequest) -> ActionOutcome:
        """Carry the action out; `ActionError` for a failure to report."""
        ...
