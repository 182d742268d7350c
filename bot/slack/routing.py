"""Where a group's message goes and whom it mentions, from the config file.

Pure; called by `slack.notifier` before rendering. Routes match the group's common labels
(first match wins, else the default channel); mentions are chosen by severity.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from bot.config_sections.slack import SlackRoute


def choose_channel(
    labels: Mapping[str, str], routes: Sequence[SlackRoute], default: str | None
) -> str | None:
    """The channel of the first route whose labels all match; the default otherwise."""
    for route in routes:
        if all(labels.get(k) == v for k, v in route.match.items()):
            return route.channel
    return default


def mention(ref: str) -> str:
    """Slack mention syntax for a user ID, a user group ID, `here` or `channel`."""
    if ref in ("here", "channel", "everyone"):
        return f"<!{ref}>"
    if ref.startswith("S"):
        return f"<!subteam^{ref}>"
    return f"<@{ref}>"


def mentions_for(severity: str, table: Mapping[str, Sequence[str]]) -> tuple[str, ...]:
    """The formatted mentions configured for a severity (`*` applies to any)."""
    refs = list(table.get(severity, ())) or list(table.get("*", ()))
    return tuple(mention(r) for r in refs)
