"""What the Slack pieces need from the store: one interface, a SQLite and a PostgreSQL table set.

`slack.notifier` queues a group's message and replies, `slack.sender` claims and sends
them and records the outcome, `slack.dispatch` reads and saves a message's state and the
API (`SlackService.undelivered`) reads what waits. `slack.outbox.SlackTables` (SQLite,
one process) and `slack.pg_outbox.PgSlackTables` (PostgreSQL, any number of replicas)
both meet `SlackStore`; `app` builds the one its store calls for.

The rules both keep: a group has at most one unsent rendering of its message (a newer
one replaces its body); `claim` takes only ops nobody is sending and returns only what it
took, with where the group's message is at that moment; `sent` records the outcome and
the message's ts in one commit, and a first post's ts only while the group has none, so
a group never gets a second top-level message recorded; an op whose outcome is unknown
comes back `look_first`: its sender searches the channel before posting again.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, Protocol

from bot.model.report import TriageReport
from bot.slack.render import MessageState

OpKind = Literal["message", "reply", "chart"]


@dataclass(frozen=True)
class Op:
    """One Slack write waiting in the outbox; once claimed, also where the group's message
    is (`ts`, None before its first post) and whether to look for it first."""

    kind: OpKind
    channel: str
    body: dict[str, Any]
    data: bytes | None = None
    id: int = 0
    ts: str | None = None
    look_first: bool = False


@dataclass(frozen=True)
class Head:
    """The op of a group that may go next: its unsent message if any (the newest state
    first; replies and charts need it posted), else its oldest unsent op."""

    op_id: int
    group_id: str
    kind: OpKind
    channel: str
    ts: str | None
    created_at: datetime


@dataclass(frozen=True)
class GroupMessage:
    """What the store knows about a group's Slack message."""

    group_id: str
    group_key: str
    channel: str
    ts: str | None
    report: TriageReport
    state: MessageState

    @classmethod
    def from_row(cls, group_id: str, row: Sequence[Any]) -> GroupMessage:
        """From a `slack_messages` row read as (group_key, channel, ts, report, state) on
        either back end (the report as JSON text)."""
        report = TriageReport.from_dict(json.loads(row[3]))
        state = MessageState.from_json(row[4] or None)
        return cls(group_id, str(row[0]), str(row[1]), row[2], report, state)


@dataclass(frozen=True)
class MessageRef:
    """Where a send left the group's message: `ts` replaces the stored one only if that is
    still `previous` (None for a first post), so two posts can never both be recorded."""

    channel: str
    ts: str
    previous: str | None
    posted: bool = True  # False: an earlier post found again (see `slack.delivery`)


@dataclass(frozen=True)
class DigestClaim:
    """A channel's storm digest, claimed for a post or an update: its message (None before
    the first post) and every group any replica listed in it, in order."""

    ts: str | None
    listed: tuple[str, ...]


class DigestStore(Protocol):
    """The storm digests' rows (`slack.digest_tables`), one per channel."""

    async def claim_digest(self, channel: str, listed: list[str]) -> DigestClaim | None:
        """Claim the channel's digest, adding `listed` to its groups; None while another
        replica holds it."""

    async def digest_done(self, channel: str, posted: str | None, previous: str | None) -> None:
        """Release the digest claim; with `posted`, record its first post's ts (only while
        the digest still has `previous`)."""

    async def end_digest(self, channel: str) -> None:
        """The storm is over: forget the channel's digest (the next storm posts anew)."""


class SlackStore(Protocol):
    """The outbox and message rows, whichever database holds them."""

    @property
    def digests(self) -> DigestStore:
        """The channels' storm digests, on the same database."""

    async def ensure(self) -> None:
        """Create the tables when missing (PostgreSQL: the migrations did)."""

    async def save_group(
        self, group_id: str, report: TriageReport, channel: str, ops: list[Op]
    ) -> None:
        """Record the group's latest report and queue its sends, in one commit."""

    async def enqueue(self, group_id: str, ops: list[Op]) -> None:
        """Queue sends for a group that already has a row."""

    async def heads(self) -> list[Head]:
        """Every group's next op (see `Head`), oldest first."""

    async def pending(self, group_id: str) -> list[Op]:
        """The group's ops nobody is sending, oldest first."""

    async def claim(self, group_id: str, op_ids: list[int]) -> list[Op]:
        """Take the ops for sending, with the group's message ts read in the same step;
        only those still free, none while another op of the group is being sent."""

    async def unclaim_all(self) -> None:
        """At start: what this process (or a dead one, past its claim) was sending is
        pending again."""

    async def sent(self, op_ids: list[int], ref: MessageRef | None) -> bool:
        """Record the ops sent and, with `ref`, where the message is, in one commit;
        False (nothing recorded) when the claim was no longer ours."""

    async def failed(self, op_ids: list[int], error: str, *, permanent: bool = False) -> None:
        """Give claimed ops back (pending, tried again later) or bury them (dead)."""

    async def unknown(self, op_ids: list[int], error: str) -> None:
        """A send that may have reached Slack: pending again, marked `look_first`."""

    async def note(self, group_id: str, error: str) -> None:
        """Say why a group's pending ops cannot go yet (no channel), without a try."""

    async def set_channel(self, group_id: str, channel: str) -> None:
        """Give a group that had no channel its channel."""

    async def undelivered(self) -> dict[str, dict[str, Any]]:
        """Per group key with unsent or dead ops: counts and the last error."""

    async def load(self, group_id: str) -> GroupMessage | None:
        """The group's message row, if the group was ever notified."""

    async def save_state(self, group_id: str, state: MessageState) -> None:
        """Store what people did with the message."""
