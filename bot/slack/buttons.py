"""Typed button payloads: what a Slack button carries back when someone clicks it.

`slack.render` packs one `ButtonPayload` into each button's `value`; `slack.interactions`
unpacks the value of a click before anything else looks at it. A payload names the action,
the alert group by a short stable id and the target workload; never a free-form string.
Target and argument are percent-encoded in the value, so any name an alert can carry (a
space, a comma, a `|`) fits a button; only control characters are refused.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from urllib.parse import quote, unquote

from bot.model.actions import ACTIONS, ActionName
from bot.slack.limits import MAX_BUTTON_VALUE

PREFIX = "tb2"
OLD_PREFIX = "tb1"  # buttons of messages posted before values were percent-encoded
SEPARATOR = "|"
_GROUP_ID = re.compile(r"^[0-9a-f]{16}$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
MAX_FIELD = 600


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
        for what, text in (("target", self.target), ("argument", self.arg)):
            if len(text) > MAX_FIELD:
                raise ButtonError(f"{what} longer than {MAX_FIELD} characters")
            if _CONTROL.search(text):
                raise ButtonError(f"{what} {text[:40]!r} has control characters")

    @property
    def action_id(self) -> str:
        """The Block Kit `action_id` (unique per message, names the action)."""
        return f"tb:{self.action}" + (f":{quote(self.arg, safe='')}" if self.arg else "")

    def pack(self) -> str:
        """The button value; raises `ButtonError` when it would exceed Slack's limit."""
        fields = (quote(self.target, safe="/"), quote(self.arg, safe=""))
        value = SEPARATOR.join((PREFIX, self.action, self.group, *fields))
        if len(value) > MAX_BUTTON_VALUE:
            raise ButtonError(f"button value of {len(value)} characters exceeds {MAX_BUTTON_VALUE}")
        return value

    @classmethod
    def unpack(cls, value: str) -> ButtonPayload:
        """The payload of a button value; raises `ButtonError` for anything else."""
        if len(value) > MAX_BUTTON_VALUE:
            raise ButtonError("button value too long")
        parts = value.split(SEPARATOR)
        if len(parts) != 5 or parts[0] not in (PREFIX, OLD_PREFIX):
            raise ButtonError("not a triage-bot button value")
        version, action, group, target, arg = parts
        if action not in ACTIONS:
            raise ButtonError(f"unknown action {action[:20]!r}")
        if version == PREFIX:
            try:
                target, arg = unquote(target, errors="strict"), unquote(arg, errors="strict")
            except UnicodeDecodeError as exc:
                raise ButtonError("target or argument is not percent-encoded UTF-8") from exc
        return cls(action, group, target, arg)
