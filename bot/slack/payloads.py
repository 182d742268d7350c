"""Pydantic models of the interaction payloads Slack sends (block actions).

Parsed by `slack.interactions` (HTTP) and `slack.socket_mode`; `slack.dispatch` reads the
typed result. Unknown fields are ignored; missing required ones make the request a 400.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class SlackUser(_Model):
    """Who clicked."""

    id: str = Field(min_length=1, max_length=64)
    username: str = ""
    name: str = ""


class SlackChannel(_Model):
    """Where the message is."""

    id: str = Field(min_length=1, max_length=64)
    name: str = ""


class SelectedOption(_Model):
    """The chosen option of a select menu."""

    value: str = Field(max_length=2000)


class BlockAction(_Model):
    """One element's action: a button click (value) or a select (selected option)."""

    action_id: str = Field(max_length=255)
    type: str = ""
    value: str = Field(default="", max_length=2000)
    selected_option: SelectedOption | None = None
    action_ts: str = ""

    @property
    def chosen(self) -> str:
        """The value the element carried."""
        return self.selected_option.value if self.selected_option else self.value


class Container(_Model):
    """The message the element lives in."""

    type: str = ""
    message_ts: str = ""
    channel_id: str = ""


class InteractionPayload(_Model):
    """The `payload` form field of an interactivity request."""

    type: str = Field(min_length=1)
    user: SlackUser
    channel: SlackChannel | None = None
    container: Container | None = None
    actions: list[BlockAction] = Field(default_factory=list, max_length=25)
    trigger_id: str = ""
    response_url: str = ""

    @property
    def channel_id(self) -> str:
        """The channel of the clicked message, wherever Slack put it."""
        if self.channel is not None:
            return self.channel.id
        return self.container.channel_id if self.container else ""
