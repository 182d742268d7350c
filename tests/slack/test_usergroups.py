"""User group lookups: cached members, and refusal (no members) when Slack cannot say."""

from __future__ import annotations

import aiohttp

from bot.config import Settings
from bot.slack.client import make_client
from bot.slack.usergroups import UserGroupMembers
from tests.fakes.fake_slack import BOT_TOKEN, FakeSlack
from tests.fakes.servers import free_port


def _settings(url: str) -> Settings:
    return Settings.model_validate(
        {"slack_bot_token": BOT_TOKEN, "slack_api_url": url,
         "slack": {"retries": 1, "retry_interval_seconds": 0.01}}
    )  # fmt: skip


async def test_members_are_cached_for_the_ttl(slack: FakeSlack) -> None:
    slack.usergroups["S1"] = ["U1", "U2"]
    async with aiohttp.ClientSession() as session:
        members = UserGroupMembers(make_client(_settings(slack.base_url), session), ttl=60)
        assert await members("S1") == {"U1", "U2"}
        slack.usergroups["S1"] = ["U3"]
        assert await members("S1") == {"U1", "U2"}  # from the cache
        assert await UserGroupMembers(make_client(_settings(slack.base_url), session), 0)("S1") == {
            "U3"
        }


async def test_unknown_group_and_unreachable_slack_give_no_members(slack: FakeSlack) -> None:
    async with aiohttp.ClientSession() as session:
        members = UserGroupMembers(make_client(_settings(slack.base_url), session), ttl=60)
        assert await members("S-NOPE") == frozenset()
        dead = f"http://127.0.0.1:{free_port()}/api/"
        unreachable = UserGroupMembers(make_client(_settings(dead), session), ttl=60)
        assert await unreachable("S1") == frozenset()
