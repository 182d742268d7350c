"""Posting and refreshing a channel's storm digest: one digest message per channel.

Called by `slack.sender` for each channel `slack.digest.Storm` says is due. The digest's
message lives in the Slack tables (`SlackStore.digests`): a replica claims the
channel's digest row before a post or an update (PostgreSQL: a row lock and a claim
expiry, so two replicas never post a digest for the same storm), adds the groups its own
storm listed, and renders every group any replica listed. The ts of its first post is
recorded only while the channel has none (`digest_done`). When the storm is over and
every listed group has its own message, the row ends: the next storm gets a new digest.
"""

from __future__ import annotations

import logging

from slack_sdk.web.async_client import AsyncWebClient

from bot.slack.digest import Storm, render_digest
from bot.slack.errors import describe as _error
from bot.slack.errors import retry_after as _retry_after
from bot.slack.pace import Key, Pacer
from bot.slack.tables import DigestClaim, GroupMessage, SlackStore

log = logging.getLogger(__name__)


class DigestSender:
    """The digest calls of one sender, paced by that sender's `Pacer`."""

    def __init__(
        self,
        client: AsyncWebClient,
        tables: SlackStore,
        storm: Storm,
        pacer: Pacer,
        retry_interval: float,
    ) -> None:
        self._client = client
        self._tables = tables
        self._storm = storm
        self._pacer = pacer
        self._retry_interval = retry_interval

    async def refresh(self, channel: str, now: float) -> float:
        """Post or refresh the channel's digest; seconds until it may be refreshed again."""
        storm = self._storm
        # Changes from now on need another refresh; this one may have read before them.
        storm.dirty.discard(channel)
        claim = await self._tables.digests.claim_digest(channel, storm.listed.get(channel, []))
        if claim is None:  # another replica is posting or updating it right now
            storm.dirty.add(channel)
            return storm.interval
        posted: str | None = None
        try:
            if claim.ts is not None:
                storm.digest_ts[channel] = claim.ts  # later groups join this digest
            wait, posted = await self._refresh(channel, now, claim)
            return wait
        finally:
            if channel in storm.listed:  # (ended: the row is gone with its claim)
                await self._tables.digests.digest_done(channel, posted, claim.ts)

    async def _refresh(
        self, channel: str, now: float, claim: DigestClaim
    ) -> tuple[float, str | None]:
        storm = self._storm
        groups: list[GroupMessage] = []
        for gid in claim.listed:
            stored = await self._tables.load(gid)
            if stored is not None:
                groups.append(stored)
        body = render_digest(groups, raging=storm.raging(channel, now))
        text = body["text"] + repr(body["blocks"])
        if text == storm.last_body.get(channel):
            storm.sent_at[channel] = now
            if not storm.raging(channel, now) and all(g.ts for g in groups):
                # The storm is over and every group has its own message: the next storm
                # gets a digest of its own.
                del storm.listed[channel]
                storm.digest_ts.pop(channel, None)
                storm.last_body.pop(channel, None)
                await self._tables.digests.end_digest(channel)
            return storm.interval, None
        ts = claim.ts
        key: Key = ("update",) if ts else ("post", channel)
        wait = self._pacer.wait(key, now)
        if wait > 0:
            storm.dirty.add(channel)
            return wait, None
        self._pacer.take(key, now)
        posted: str | None = None
        try:
            if ts:
                await self._client.chat_update(channel=channel, ts=ts, **body)
            else:
                resp = await self._client.chat_postMessage(
                    channel=channel, unfurl_links=False, unfurl_media=False, **body
                )
                posted = storm.digest_ts[channel] = str(resp["ts"])
        except Exception as exc:
            retry_after = _retry_after(exc)
            backoff = retry_after or self._retry_interval
            self._pacer.block(key, now + backoff, drain=retry_after is not None)
            log.warning("digest deferred", extra={"channel": channel, "error": _error(exc)})
            storm.dirty.add(channel)
            return retry_after or 1.0, None
        storm.sent_at[channel] = now
        storm.last_body[channel] = text
        return storm.interval, posted
