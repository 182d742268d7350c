"""The storm digest: one message listing every group that opened in a storm (pure).

Rendered by `slack.sender` whenever more groups open in one channel within a minute than
`storm_groups_per_minute`, and again (updated in place) as their triages change. Each
line is a group's latest state, so during a storm the channel shows every group's state
long before the paced individual messages are all out. Escaped like every message.
`Storm` keeps, per channel, which groups opened when and the digest's message.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from typing import Any

from bot.slack.limits import MAX_BLOCKS, MAX_TEXT, clip
from bot.slack.mrkdwn import escape, plain
from bot.slack.tables import GroupMessage

STORM_WINDOW = 60.0
LINES_PER_SECTION = 12
LINE_CHARS = 240


def _line(group: GroupMessage) -> str:
    r = group.report
    icon = "✅" if r.status == "resolved" else ("🔴" if r.severity == "critical" else "🟠")
    what = f"{r.alertname or 'alert group'} · {r.target.describe()}"
    verdict = f"{r.verdict.category}: {r.verdict.summary}"
    own = "" if group.ts else " · own message queued"
    text = f"{icon} *{escape(clip(what, 90))}* · {r.alert_count} alerts · {escape(verdict)}{own}"
    return clip(text, LINE_CHARS)


def render_digest(groups: Sequence[GroupMessage], *, raging: bool) -> dict[str, Any]:
    """`text` and `blocks` of the digest for the groups given (in opening order)."""
    firing = sum(1 for g in groups if g.report.status == "firing")
    state = "alert storm" if raging else "alert storm (calming down)"
    title = f"⛈️ {state}: {len(groups)} alert groups opened, {firing} firing"
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": plain(title), "emoji": True}},
        {
            "type": "context",
            "elements": [
                {
                    "type": "mrkdwn",
                    "text": "Each group also gets its own message, posted as Slack's pace"
                    " allows; this list is updated in place.",
                }
            ],
        },
    ]
    lines = [_line(g) for g in groups]
    for start in range(0, len(lines), LINES_PER_SECTION):
        if len(blocks) == MAX_BLOCKS - 1 and start + LINES_PER_SECTION < len(lines):
            rest = len(lines) - start
            text = f"… and {rest} more groups"
            blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": text}})
            break
        chunk = "\n".join(lines[start : start + LINES_PER_SECTION])
        blocks.append(
            {"type": "section", "text": {"type": "mrkdwn", "text": clip(chunk, MAX_TEXT)}}
        )
    return {"text": title, "blocks": blocks, "attachments": []}


class Storm:
    """Groups opened per channel in the last minute, and the channel's digest message."""

    def __init__(self, threshold: int, interval: float) -> None:
        self.threshold = threshold
        self.interval = interval
        self.opened: dict[str, deque[tuple[float, str]]] = {}
        self.digest_ts: dict[str, str] = {}
        self.listed: dict[str, list[str]] = {}
        self.sent_at: dict[str, float] = {}
        self.last_body: dict[str, str] = {}
        # Channels whose digest may show something new: refreshed when next due, even if
        # nothing else wakes the sender then.
        self.dirty: set[str] = set()

    def open(self, channel: str, gid: str, now: float) -> None:
        """A group's first message was queued in `channel`."""
        seen = self.opened.setdefault(channel, deque())
        seen.append((now, gid))
        listed = self.listed.setdefault(channel, [])
        if len(self._recent(channel, now)) > self.threshold or channel in self.digest_ts:
            for _, g in seen:
                if g not in listed:
                    listed.append(g)

    def touch(self) -> None:
        """Something was queued: every listed digest may need a refresh."""
        self.dirty.update(c for c, listed in self.listed.items() if listed)

    def _wanted(self, channel: str, now: float) -> bool:
        """The digest may show something new: a change, or the storm has calmed (its title
        changes, and once every group has its own message the digest ends)."""
        return bool(self.listed.get(channel)) and (
            channel in self.dirty or not self.raging(channel, now)
        )

    def next_due(self, now: float) -> float | None:
        """Seconds until the soonest wanted digest may be refreshed (None: none wanted)."""
        waits = [
            self.sent_at.get(c, -1e9) + self.interval - now
            for c in list(self.listed)
            if self._wanted(c, now)
        ]
        return max(0.0, min(waits)) if waits else None

    def next_calm(self, now: float) -> float | None:
        """Seconds until the soonest raging storm calms down (None: none rages).

        A timer, not work: the sender is idle until then (nothing could be sent now), and
        wakes then to refresh the digest without anything else waking it.
        """
        waits = []
        for channel in self.listed:
            opened = sorted(t for t, _ in self.opened.get(channel, ()) if t >= now - STORM_WINDOW)
            excess = len(opened) - self.threshold
            if excess > 0:
                waits.append(opened[excess - 1] + STORM_WINDOW - now)
        return max(0.0, min(waits)) if waits else None

    def _recent(self, channel: str, now: float) -> list[str]:
        seen = self.opened.get(channel, deque())
        while seen and seen[0][0] < now - STORM_WINDOW:
            seen.popleft()
        return [g for _, g in seen]

    def raging(self, channel: str, now: float) -> bool:
        """More groups opened in the last minute than the threshold."""
        return len(self._recent(channel, now)) > self.threshold

    def due(self, now: float) -> list[str]:
        """Channels whose digest should be posted or refreshed now: wanted (see `_wanted`)
        and its last refresh at least `interval` ago. An unchanged digest of a raging
        storm is not refreshed on a timer: that would keep the sender busy (never idle)
        for the whole storm, reading the tables every interval for nothing."""
        return [
            c
            for c in list(self.listed)
            if self._wanted(c, now) and now - self.sent_at.get(c, -1e9) >= self.interval
        ]
