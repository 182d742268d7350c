"""How a report differs from its group's previous one: what the notifiers say about it.

Decided by `triage.changes`; read by the notifiers (`notify`, `slack`) and the outbox.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

ChangeKind = Literal["new", "update", "repeat", "resolved"]


@dataclass(frozen=True)
class Change:
    """How this report differs from the group's previous one."""

    kind: ChangeKind
    what: tuple[str, ...] = ()  # human-readable differences, empty when nothing changed
