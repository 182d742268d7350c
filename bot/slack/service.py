"""Everything Slack, wired once: what `app` opens at start and closes at shutdown.

`app` constructs `SlackService(settings, store, registry)`, registers `routes()` (they
answer 503 until `start()` ran), awaits `start()`, hands `notifier()` to the worker, and
awaits `close()` at shutdown. Inside: the HTTP session and Slack client, the store tables
(outbox, messages, audit, action ledger), the notifier, the dispatcher, the actions
(rollback and retrain only when a cluster is configured) and Socket Mode when an app
token is set.
"""

from __future__ import annotations

import logging

import aiohttp
from aiohttp import web
from kubernetes_asyncio import client as kube_client
from prometheus_client import CollectorRegistry, Counter

from bot.actions.acknowledge import AcknowledgeAction
from bot.actions.audit import AuditLog, audit_handler
from bot.actions.authz import Authorizer
from bot.actions.base import Action
from bot.actions.kube import KubeWriter
from bot.actions.ledger import Ledger
from bot.actions.retrain import RetrainAction
from bot.actions.rollback import RollbackAction
from bot.actions.runner import ActionRunner
from bot.actions.silence import SilenceAction
from bot.cluster.client import open_api_client
from bot.cluster.reader import KubeReader
from bot.config import Settings
from bot.model.notifier import Notifier
from bot.promql.chart import render_chart
from bot.slack.client import make_client
from bot.slack.dispatch import Dispatcher
from bot.slack.interactions import Submit, interactions_handler
from bot.slack.notifier import SlackNotifier
from bot.slack.outbox import SlackTables
from bot.slack.socket_mode import SocketModeListener
from bot.slack.usergroups import UserGroupMembers
from bot.store.sqlite import Store

log = logging.getLogger(__name__)


class SlackService:
    """The Slack notifier, interactivity and actions, with their shared resources."""

    def __init__(self, settings: Settings, store: Store, registry: CollectorRegistry) -> None:
        self._settings = settings
        self._store = store
        self._audit = AuditLog(store)
        self._actions_total = Counter(
            "triage_bot_slack_actions",
            "Clicks on the bot's buttons by action and decision.",
            ["action", "decision"],
            registry=registry,
        )
        self._session: aiohttp.ClientSession | None = None
        self._kube: kube_client.ApiClient | None = None
        self._notifier: SlackNotifier | None = None
        self._dispatcher: Dispatcher | None = None
        self._socket: SocketModeListener | None = None

    async def start(self) -> None:
        """Open the tables, the client, the actions; resend the outbox; connect Socket Mode."""
        settings = self._settings
        tables, ledger = SlackTables(self._store), Ledger(self._store)
        for part in (tables, self._audit, ledger):
            await part.ensure()
        self._session = aiohttp.ClientSession()
        web_client = make_client(settings, self._session)
        sending = make_client(settings, self._session, retries=False)
        self._notifier = SlackNotifier(sending, tables, settings, chart=render_chart)
        actions: dict[str, Action] = {
            "ack": AcknowledgeAction(),
            "silence": SilenceAction(
                self._session, settings.alertmanager_url, settings.actions.silence_durations
            ),
        }
        if settings.cluster_configured:
            self._kube = await open_api_client(settings.kubeconfig)
            reader, writer = KubeReader(self._kube), KubeWriter(self._kube)
            poll = settings.actions.poll_seconds
            actions["rollback"] = RollbackAction(
                reader, writer, timeout=settings.actions.rollback_timeout_seconds, poll=poll
            )
            actions["retrain"] = RetrainAction(reader, writer, settings.actions.retrain, poll=poll)
        members = UserGroupMembers(web_client, settings.slack.usergroup_cache_seconds)
        authorizer = Authorizer(settings.slack_allowed_users, settings.slack.rules, members)
        if not settings.slack_allowed_users and not settings.slack.rules:
            log.warning(
                "no Slack user may run actions: set TRIAGE_BOT_SLACK_ALLOWED_USERS or rules"
            )
        self._dispatcher = Dispatcher(
            client=web_client,
            tables=tables,
            notifier=self._notifier,
            authorizer=authorizer,
            runner=ActionRunner(ledger, actions),
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
        return await SlackTables(self._store).undelivered()

    @property
    def interactions_in_flight(self) -> int:
        """Clicks accepted and still being handled (tests check a refusal started none)."""
        return self._dispatcher.in_flight if self._dispatcher else 0

    def _submit(self) -> Submit | None:
        return self._dispatcher.submit if self._dispatcher else None

    def routes(self) -> list[web.RouteDef]:
        """`POST /slack/interactions` and `GET /api/audit`."""
        return [
            web.post("/slack/interactions", interactions_handler(self._settings, self._submit)),
            web.get("/api/audit", audit_handler(lambda: self._audit if self._dispatcher else None)),
        ]

    async def close(self) -> None:
        """Stop Socket Mode, let running actions finish (bounded), close clients."""
        if self._socket is not None:
            await self._socket.close()
        if self._dispatcher is not None:
            await self._dispatcher.drain(self._settings.shutdown_timeout_seconds)
        if self._notifier is not None:
            await self._notifier.close()
        if self._kube is not None:
            await self._kube.close()
        if self._session is not None:
            await self._session.close()
