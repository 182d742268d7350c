"""Slack user group members, cached: what authorization rules naming a group need.

Called by `actions.authz` through `slack.dispatch` when a rule names a user group (S…).
Uses `usergroups.users.list` (scope `usergroups:read`); a failed lookup (an API error,
or Slack unreachable after the client's retries) counts as "no members", so an outage
refuses rather than allows. Failures are not cached: the next click asks again.
"""

from __future__ import annotations

import logging
import time

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

log = logging.getLogger(__name__)


class UserGroupMembers:
    """`await members(group_id)` → the user IDs, cached for `ttl` seconds."""

    def __init__(self, client: AsyncWebClient, ttl: float) -> None:
        self._client = client
        self._ttl = ttl
        self._cache: dict[str, tuple[float, frozenset[str]]] = {}

    async def __call__(self, group: str) -> frozenset[str]:
        """The members of a user group (empty when Slack cannot say)."""
        hit = self._cache.get(group)
        if hit is not None and time.monotonic() - hit[0] < self._ttl:
            return hit[1]
        try:
            resp = await self._client.usergroups_users_list(usergroup=group)
        except (SlackApiError, aiohttp.ClientError, TimeoutError) as exc:
            log.warning("user group lookup failed", extra={"group": group, "error": str(exc)})
            return frozenset()
        members = frozenset(str(u) for u in resp.get("users") or [])
        self._cache[group] = (time.monotonic(), members)
        return members
