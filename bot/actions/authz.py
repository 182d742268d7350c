"""Who may run which action on which namespace.

Called by `slack.dispatch` before any action runs. The rules: a user outside
`TRIAGE_BOT_SLACK_ALLOWED_USERS` (when that list is set) is refused everything; when rules
in the config file cover the action and the namespace, the user must be named in one of
them (directly or through a Slack user group); when no rule covers them, the allowed-users
list decides alone, and with neither configured nobody may act.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase

from bot.config_sections.slack import ActionRule

GroupMembers = Callable[[str], Awaitable[frozenset[str]]]


@dataclass(frozen=True)
class Decision:
    """Allowed or not, and why (shown to the user when refused, kept in the audit log)."""

    allowed: bool
    reason: str


def covering(rules: Sequence[ActionRule], action: str, namespace: str) -> list[ActionRule]:
    """The rules that speak about this action in this namespace."""
    return [
        r
        for r in rules
        if ("*" in r.actions or action in r.actions)
        and any(fnmatchcase(namespace, pattern) for pattern in r.namespaces)
    ]


class Authorizer:
    """Applies the allowed-users list and the per-action rules."""

    def __init__(
        self, allowed_users: Sequence[str], rules: Sequence[ActionRule], members: GroupMembers
    ) -> None:
        self._allowed = frozenset(allowed_users)
        self._rules = tuple(rules)
        self._members = members

    async def check(self, user: str, action: str, namespace: str) -> Decision:
        """May `user` run `action` on a workload in `namespace`?"""
        if self._allowed and user not in self._allowed:
            return Decision(False, "you are not in the list of users allowed to run actions")
        rules = covering(self._rules, action, namespace)
        if not rules:
            if self._allowed:
                return Decision(True, "in the allowed users")
            return Decision(False, "no one is allowed to run actions here (no rule, no list)")
        for rule in rules:
            if user in rule.users:
                return Decision(True, "named in a rule")
            for ref in rule.users:
                if ref.startswith("S") and user in await self._members(ref):
                    return Decision(True, f"member of user group {ref}")
        where = namespace or "this workload"
        return Decision(False, f"no rule lets you run {action} in {where}")
