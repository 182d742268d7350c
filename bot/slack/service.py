"""Everything Slack, wired from what `app` built: started at start, closed at shutdown.

`app` (the composition root) builds the collaborators (the tables, the audit log and the
action ledger of the chosen back end, the shared HTTP session, the actions over the
shared Kubernetes client) and constructs `SlackService` with them at start, awaits
`start()`, hands `notifier()` to the worker, and awaits `close()` at shutdown. Inside:
the Slack clients over the session, the notifier, the dispatcher and Socket Mode when an
app token is set. The session and the Kubernetes client belong to `app`: not closed here.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass

import aiohttp
from aiohttp import web
from prometheus_client import CollectorRegistry, Counter

from bot.actions.audit import Audit, audit_handler
from bot.actions.authz import Authorizer
from bot.actions.base import Action
from bot.actions.ledger import ActionLedger
from bot.actions.runner import ActionRunner
from bot.config import Settings
from bot.model.notifier import Notifier
from bot.promql.chart import render_chart
from bot.slack.client import make_client
from bot.slack.dispatch import Dispatcher
from bot.slack.interactions import Submit, interactions_handler
from bot.slack.notifier import SlackNotifier
from bot.slack.socket_mode import SocketModeListener
from bot.slack.tables import SlackStore
from bot.slack.usergroups import UserGroupMembers

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SlackTablesOf:
    """The tables Slack writes, of the back end `app` chose (`bot.backends`)."""

    tables: SlackStore
    audit: Audit
    ledger: ActionLedger


class SlackService:
    """The Slack notifier, interactivity and actions, over collaborators built by `app`."""

    def __init__(
        self,
        settings: Settings,
        tables: SlackTablesOf,
        session: aiohttp.ClientSession,
        actions: Mapping[str, Action],
        registry: CollectorRegistry,
    ) -> None:
        self._settings = settings
        self._tables = tables.tables
        self._audit = tables.audit
        self._ledger = tables.ledger
        self._session = session
        self._actions = dict(actions)
        self._actions_total = Counter(
            "triage_bot_slack_actions",
            "Clicks on the bot's buttons by action and decision.",
            ["action", "decision"],
            registry=registry,
        )
        self._notifier: SlackNotifier | None = None
        self._dispatcher: Dispatcher | None = None
        self._socket: SocketModeListener | None = None

    async def start(self) -> None:
        """Build the clients, the notifier and the dispatcher; resend the outbox; connect
        Socket Mode."""
        settings = self._settings
        web_client = make_client(settings, self._session)
        sending = make_client(settings, self._session, retries=False)
        self._notifier = SlackNotifier(sending, self._tables, settings, chart=render_chart)
        members = UserGroupMembers(web_client, settings.slack.usergroup_cache_seconds)
        authorizer = Authorizer(settings.slack_allowed_users, settings.slack.rules, members)
        if not settings.slack_allowed_users and not settings.slack.rules:
            log.warning(
                "no Slack user may run actions: set TRIAGE_BOT_SLACK_ALLOWED_USERS or rules"
            )
        self._dispatcher = Dispatcher(
            client=web_client,
            tables=self._tables,
            notifier=self._notifier,
            authorizer=authorizer,
            runner=ActionRunner(self._ledger, self._actions),
            audit=self._audit,
            counter=self._actions_total,
        )
        await self._notifier.start()
        if settings.slack_app_token is not None:
            token = settings.slack_app_token.get_secret_value()
            self._socket = SocketModeListener(token, web_client, self._dispatcher.submit)
            await self._socket.start()

    def notifier(self) -> Notifier:
        """The Slack notifier for the worker (after `start()`)."""
        if self._notifier is None:
            raise RuntimeError("SlackService.start() must run before notifier()")
        return self._notifier

    async def undelivered(self) -> dict[str, dict[str, object]]:
        """Per group key: what is waiting in the outbox or died there, and why."""
        if self._notifier is None:
            return {}
        return await self._tables.undelivered()

    @property
    def interactions_in_flight(self) -> int:
        """Clicks accepted and still being handled (tests check a refusal started none)."""
        return self._dispatcher.in_flight if self._dispatcher else 0

    def submit(self) -> Submit | None:
        """What takes a verified click (None until `start()` ran)."""
        return self._dispatcher.submit if self._dispatcher else None

    def audit(self) -> Audit | None:
        """The audit log for `GET /api/audit` (None until `start()` ran)."""
        return self._audit if self._dispatcher else None

    def routes(self) -> list[web.RouteDef]:
        """`POST /slack/interactions` and `GET /api/audit` (for a service without `app`)."""
        return [
            web.post("/slack/interactions", interactions_handler(self._settings, self.submit)),
            web.get("/api/audit", audit_handler(self.audit)),
        ]

    async def close(self) -> None:
        """Stop Socket Mode, let running actions finish (bounded), stop the sender."""
        if self._socket is not None:
            await self._socket.close()
        if self._dispatcher is not None:
            await self._dispatcher.drain(self._settings.shutdown_timeout_seconds)
        if self._notifier is not None:
            await self._notifier.close()
