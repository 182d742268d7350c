"""A click delivered to two replicas runs once: two dispatchers on one PostgreSQL database.

Each replica has its own pool, Slack tables, notifier (sender running), audit log and
action runner over `PostgresLedger`, as two pods behind one Service would. Slack (or a
retrying proxy) delivering the same click to both must run the action once, answer the
other with "already", and leave one outcome in the thread.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import aiohttp
import pytest

from bot.actions.acknowledge import AcknowledgeAction
from bot.actions.authz import Authorizer
from bot.actions.pg_audit import PgAuditLog
from bot.actions.pg_ledger import PostgresLedger
from bot.actions.runner import ActionRunner
from bot.model.change import Change
from bot.slack.client import make_client
from bot.slack.dispatch import Dispatcher
from bot.slack.notifier import SlackNotifier
from bot.slack.payloads import InteractionPayload
from bot.slack.pg_outbox import PgSlackTables
from bot.slack.usergroups import UserGroupMembers
from bot.store.postgres.store import PostgresStore
from tests.fakes.fake_slack import FakeSlack
from tests.slack.clicks import click_payload
from tests.slack.conftest import MakeSettings
from tests.slack.reports import isvc, report

Replica = tuple[Dispatcher, SlackNotifier, PgAuditLog]


@pytest.fixture
async def replicas(
    postgres_url: str, make_settings: MakeSettings, session: aiohttp.ClientSession
) -> AsyncIterator[list[Replica]]:
    settings = make_settings()
    stores = [PostgresStore(postgres_url) for _ in range(2)]
    await asyncio.gather(*(s.open() for s in stores))
    made: list[Replica] = []
    for n, store in enumerate(stores):
        client = make_client(settings, session)
        tables = PgSlackTables(store.pool, f"replica-{n}")
        notifier = SlackNotifier(make_client(settings, session, retries=False), tables, settings)
        notifier.sender.start()
        audit = PgAuditLog(store.pool)
        members = UserGroupMembers(client, 60)
        dispatcher = Dispatcher(
            client=client,
            tables=tables,
            notifier=notifier,
            authorizer=Authorizer(["U1", "U2"], (), members),
            runner=ActionRunner(PostgresLedger(store.pool), {"ack": AcknowledgeAction()}),
            audit=audit,
        )
        made.append((dispatcher, notifier, audit))
    yield made
    for dispatcher, notifier, _ in made:
        await dispatcher.drain(5)
        await notifier.close()
    await asyncio.gather(*(s.close() for s in stores))


async def test_a_click_delivered_to_two_replicas_runs_once(
    slack: FakeSlack, replicas: list[Replica]
) -> None:
    (one, notifier_one, audit), (two, notifier_two, _) = replicas
    await notifier_one.notify(report(isvc()), Change("new"))
    await notifier_one.sender.idle()
    [message] = slack.channel_messages("C1")

    click = InteractionPayload.model_validate(click_payload(message, "tb:ack", user="U2"))
    one.submit(click, "http")
    two.submit(click, "http")
    await asyncio.gather(one.drain(10), two.drain(10))
    for notifier in (notifier_one, notifier_two):
        await notifier.sender.idle()

    decisions = sorted(e["decision"] for e in await audit.recent())
    assert decisions == ["allowed", "duplicate"]  # whichever replica came second
    [already] = slack.ephemeral
    assert already["user"] == "U2" and already["text"].startswith("Already ")
    [outcome] = slack.thread("C1", message.ts)  # one outcome in the thread
    assert outcome.text.startswith("✅")
    assert "Acknowledged by <@U2>" in json.dumps(slack.channel_messages("C1")[0].blocks)
    assert len(slack.channel_messages("C1")) == 1
