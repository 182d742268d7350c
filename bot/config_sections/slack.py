"""The `slack` section of the settings: routing, mentions, who may act, transport limits.

Read by `bot.slack` (routing, authorization, the sender's pace) and `bot.actions.authz`.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from bot.config_sections.units import MIB


class SlackRoute(BaseModel):
    """Send groups whose labels match every `match` pair to `channel`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    match: dict[str, str] = Field(min_length=1)
    channel: str = Field(min_length=1)


class ActionRule(BaseModel):
    """Who may run which actions in which namespaces (Slack user or user group IDs)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    actions: tuple[Literal["*", "ack", "silence", "rollback", "retrain"], ...] = ("*",)
    namespaces: tuple[str, ...] = ("*",)
    users: tuple[str, ...] = Field(min_length=1)


class SlackSettings(BaseModel):
    """Slack routing, mentions, authorization rules and transport limits (config file)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    routes: tuple[SlackRoute, ...] = ()
    mentions: dict[str, tuple[str, ...]] = Field(default_factory=dict)
    rules: tuple[ActionRule, ...] = ()
    max_interaction_bytes: int = Field(default=1 * MIB, gt=0)
    signature_max_age_seconds: float = Field(default=300.0, gt=0)
    retries: int = Field(default=3, ge=0)
    retry_interval_seconds: float = Field(default=1.0, ge=0)
    outbox_retry_seconds: float = Field(default=30.0, gt=0)
    charts: bool = True
    usergroup_cache_seconds: float = Field(default=60.0, ge=0)
    # Links, delivery pace and storms (docs/slack.md). Hosts whose URLs become links besides
    # the Prometheus and Alertmanager URLs; Slack's limits the sender keeps under.
    link_hosts: tuple[str, ...] = ()
    channel_messages_per_second: float = Field(default=1.0, gt=0)
    channel_burst: int = Field(default=2, ge=1)
    updates_per_minute: float = Field(default=45.0, gt=0)
    storm_groups_per_minute: int = Field(default=10, ge=1)
    digest_interval_seconds: float = Field(default=5.0, gt=0)
    max_triage_attempts: int = Field(default=3, ge=1)
    body_timeout_seconds: float = Field(default=10.0, gt=0)
    reply_window_seconds: float = Field(default=10.0, ge=0)
