"""Typed button payloads: what a Slack button carries back when someone clicks it.

`slack.render` packs one `ButtonPayload` into each button's `value`; `slack.interactions`
unpacks the value of a click before anything else looks at it. A payload names the action,
the alert group by a short stable id and the target workload; never a free-form string.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from bot.model.actions import ACTIONS, ActionName
from bot.slack.limits import MAX_BUTTON_VALUE

PREFIX = "tb1"
SEPARATOR = "|"
_GROUP_ID = re.compile(r"^[0-9a-f]{16}$")
# Kubernetes names, a namespace/name pair, revisions and durations all fit this.
_TARGET = re.compile(r"^[A-Za-z0-9._:/-]{0,300}$")
_ARG = re.compile(r"^[A-Za-z0-9._:/=-]{0,300}$")


class ButtonError(ValueError):
    """A button value that this bot did not make, or made by an incompatible version."""


def group_id(group_key: str) -> str:
    """A short stable id of an alert group: the first 16 hex digits of sha256(group key)."""
    return hashlib.sha256(group_key.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class ButtonPayload:
    """One click's meaning: the action, the group it is about, the target and an argument."""

    action: ActionName
    group: str
    target: str
    arg: str = ""

    def __post_init__(self) -> None:
        if self.action not in ACTIONS:
            raise ButtonError(f"unknown action {self.action!r}")
        if not _GROUP_ID.match(self.group):
            raise ButtonError("group id must be 16 lowercase hex digits")
        if not _TARGET.match(self.target):
            raise ButtonError(f"target {self.target[:40]!r} has characters a button cannot carry")
        if not _ARG.match(self.arg):
            raise ButtonError(f"argument {self.arg[:40]!r} has characters a button cannot carry")

    @property
    def action_id(self) -> str:
        """The Block Kit `action_id` (unique per message, names the action)."""
        return f"tb:{self.action}" + (f":{self.arg}" if self.arg else "")

    def pack(self) -> str:
        """The button value; raises `ButtonError` when it would exceed Slack's limit."""
        value = SEPARATOR.join((PREFIX, self.action, self.group, self.target, self.arg))
        if len(value) > MAX_BUTTON_VALUE:
            raise ButtonError(f"button value of {len(value)} characters exceeds {MAX_BUTTON_VALUE}")
        return value

    @classmethod
    def unpack(cls, value: str) -> ButtonPayload:
        """The payload of a button value; raises `ButtonError` for anything else."""
        if len(value) > MAX_BUTTON_VALUE:
            raise ButtonError("button value too long")
        parts = value.split(SEPARATOR)
        if len(parts) != 5 or parts[0] != PREFIX:
            raise ButtonError("not a triage-bot button value")
        _, action, group, target, arg = parts
        if action not in ACTIONS:
            raise ButtonError(f"unknown action {action[:20]!r}")
        return cls(action, group, target, arg)
