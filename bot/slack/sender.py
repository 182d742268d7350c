"""The sender: drains the Slack outbox under Slack's rate limits, apart from triage.

Started and stopped by `slack.notifier` (which `slack.service` starts); woken by the
notifier whenever it queued something. The worker only writes the desired message to the
outbox (`slack.tables.SlackStore`, SQLite or PostgreSQL), so nothing Slack does (429, 5xx,
a dead network) reaches triage.

Each turn takes the next op of every group (`slack.tables.Head`) and sends those whose
Slack limit has room (`slack.pace`): a group's first message before any update, updates
before thread replies, so every group gets its message first in a storm. Ops are claimed
before they go (on PostgreSQL a replica sends only what it claimed, with the group's ts
read in the claim), sent by `slack.delivery`, and recorded with where the message is in
one commit (`sent`). Only the newest state of a message is ever sent (the outbox replaces
an unsent message in place), and thread replies are held `reply_window_seconds` after
the first of them, then merged into one. A 429 blocks that limit for Retry-After and the
op stays pending; other channels and methods go on. A 5xx or a dropped connection backs
off that limit; a post whose outcome is unknown comes back to be looked for first; a
permanent error marks the op dead with the reason. A group with no channel waits (its
reason shown by `/api/triages`) until a restart with the channel set. Storm mode
(`slack.digest`, `slack.digest_sender`): more than `storm_groups_per_minute` groups
opening in one channel within a minute post one digest message, updated in place,
listing them all.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime

from slack_sdk.web.async_client import AsyncWebClient

from bot.config_sections.slack import SlackSettings
from bot.slack.delivery import SEND_TIMEOUT, Delivery
from bot.slack.digest import Storm
from bot.slack.digest_sender import DigestSender
from bot.slack.errors import describe as _error
from bot.slack.errors import outcome_unknown as _unknown
from bot.slack.errors import retry_after as _retry_after
from bot.slack.errors import transient as _transient
from bot.slack.pace import Key, Pacer
from bot.slack.routing import choose_channel
from bot.slack.tables import Head, Op, SlackStore

log = logging.getLogger(__name__)

NO_CHANNEL = "no Slack channel for this group: set TRIAGE_BOT_SLACK_CHANNEL or a route"
MAX_WAIT = 1.0


def _key(head: Head) -> Key:
    if head.kind == "message" and head.ts is not None:
        return ("update",)
    return ("post", head.channel)


def _rank(head: Head) -> int:
    """First posts, then updates, then replies and charts."""
    if head.kind == "message":
        return 0 if head.ts is None else 1
    return 2


class Sender:
    """One background task draining the outbox; see the module docstring."""

    def __init__(
        self,
        client: AsyncWebClient,
        tables: SlackStore,
        slack: SlackSettings,
        default_channel: str | None,
        clock: Callable[[], float] = time.monotonic,
        send_timeout: float = SEND_TIMEOUT,
    ) -> None:
        self._client = client
        self._delivery = Delivery(client, send_timeout)
        self._tables = tables
        self._slack = slack
        self._default_channel = default_channel
        self._clock = clock
        self._pacer = Pacer(
            {
                "post": (slack.channel_messages_per_second, float(slack.channel_burst)),
                "update": (slack.updates_per_minute / 60.0, 2.0),
            }
        )
        self._storm = Storm(slack.storm_groups_per_minute, slack.digest_interval_seconds)
        self._digests = DigestSender(
            client, tables, self._storm, self._pacer, slack.retry_interval_seconds
        )
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._noted: set[str] = set()
        self._rerouted = False
        self._wakes = 0  # a wake during a turn means that turn may have missed something

    # --- what the notifier uses -------------------------------------------------------

    def wake(self) -> None:
        """Something was queued: look at the outbox now (and at the digests it may change)."""
        self._storm.touch()
        self._idle.clear()
        self._wakes += 1
        self._wake.set()

    def opened(self, channel: str, gid: str) -> None:
        """A group's first message was queued (storm detection)."""
        self._storm.open(channel, gid, self._clock())

    def start(self) -> None:
        """Start draining (what a previous run left pending goes first); in a running loop."""
        self._task = asyncio.create_task(self._run(), name="slack-sender")
        self.wake()

    async def close(self) -> None:
        """Stop draining; unsent ops stay in the outbox for the next start."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def idle(self, timeout: float = 10.0) -> None:
        """Wait until nothing is left that could be sent now (tests, shutdown)."""
        self.wake()
        async with asyncio.timeout(timeout):
            await self._idle.wait()

    # --- the loop ---------------------------------------------------------------------

    async def _run(self) -> None:
        await self._tables.unclaim_all()
        while True:
            wakes = self._wakes
            try:
                wait = await self._turn()
            except asyncio.CancelledError:
                raise
            except Exception:  # a store hiccup must not end delivery for good
                log.exception("slack sender turn failed")
                wait = MAX_WAIT
            if wait is None and wakes != self._wakes:
                wait = 0.0
            elif wait is None:
                self._idle.set()
                calm = self._storm.next_calm(self._clock())
                wait = MAX_WAIT * 30 if calm is None else min(calm + 0.01, MAX_WAIT * 30)
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=wait)

    async def _turn(self) -> float | None:
        """Send what may go now; seconds until more could, None when nothing waits."""
        now = self._clock()
        soonest: float | None = None
        for channel in self._storm.due(now):
            wait = await self._digests.refresh(channel, now)
            soonest = wait if soonest is None else min(soonest, wait)
        later = self._storm.next_due(now)  # a change waiting for the digest's interval
        if later is not None:
            soonest = later if soonest is None else min(soonest, later)
        every = await self._tables.heads()
        heads = [h for h in every if await self._routed(h)]
        heads.sort(key=lambda h: (_rank(h), h.op_id))
        sent = self._rerouted
        self._rerouted = False
        wall = datetime.now(UTC)
        window = self._slack.reply_window_seconds
        for head in heads:
            now = self._clock()
            wait = self._pacer.wait(_key(head), now)
            if head.kind == "reply":  # let the window's other changes join this reply
                wait = max(wait, window - (wall - head.created_at).total_seconds())
            if wait > 0:
                soonest = wait if soonest is None else min(soonest, wait)
                continue
            self._pacer.take(_key(head), now)
            await self._send_head(head)
            sent = True
        if sent:
            self._storm.touch()  # a group's own message changes its line in the digest
            return 0.0
        if soonest is None:
            return None
        return min(max(soonest, 0.01), MAX_WAIT)

    async def _routed(self, head: Head) -> bool:
        """True when the group has a channel (choosing one now if the config gives one)."""
        if head.channel:
            return True
        stored = await self._tables.load(head.group_id)
        labels = stored.report.common_labels if stored else {}
        channel = choose_channel(labels, self._slack.routes, self._default_channel)
        if channel:
            await self._tables.set_channel(head.group_id, channel)
            self._rerouted = True  # the next turn sees it with its channel
            return False
        if head.group_id not in self._noted:
            self._noted.add(head.group_id)
            await self._tables.note(head.group_id, NO_CHANNEL)
            log.error("slack message held", extra={"group": head.group_id, "error": NO_CHANNEL})
        return False

    async def _send_head(self, head: Head) -> None:
        ops = await self._tables.pending(head.group_id)
        if not ops:
            return
        batch = [op for op in ops if op.id == head.op_id]
        if head.kind == "reply":  # every change waiting for the thread goes in one reply
            batch = [op for op in ops if op.kind == "reply"]
        if not batch:
            return
        batch = await self._tables.claim(head.group_id, [op.id for op in batch])
        if not batch:  # another replica took them first
            return
        ids = [op.id for op in batch]
        try:
            ref = await self._delivery.send(head, batch)
        except Exception as exc:
            await self._failed(head, batch, exc)
        else:
            if not await self._tables.sent(ids, ref):
                # Our claim ran out and another replica took the op: if we posted a new
                # message, the group's is the other's, and ours must not stay beside it.
                log.warning("claim lost during a send", extra={"group": head.group_id})
                if ref is not None and ref.posted:
                    await self._delivery.withdraw(ref)

    async def _failed(self, head: Head, batch: list[Op], exc: Exception) -> None:
        ids = [op.id for op in batch]
        error = _error(exc)
        retry_after = _retry_after(exc)
        now = self._clock()
        if retry_after is not None:
            self._pacer.block(_key(head), now + retry_after, drain=True)
        elif _transient(exc):
            self._pacer.block(_key(head), now + self._slack.retry_interval_seconds)
        else:
            log.error("slack send failed", extra={"group": head.group_id, "error": error})
            await self._tables.failed(ids, error, permanent=True)
            return
        log.warning("slack send deferred", extra={"group": head.group_id, "error": error})
        if batch[0].kind == "message" and _unknown(exc):
            # It may have been posted: the next try looks for it before posting again.
            await self._tables.unknown(ids, error)
        else:
            await self._tables.failed(ids, error)
