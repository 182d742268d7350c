"""A SQLite store from before unknown outcomes and shared digests: `SlackTables.ensure()`
adds what is missing, and what the old outbox held is still sent."""

from __future__ import annotations

import json
import sqlite3

import aiohttp

from bot.slack.client import make_client
from bot.slack.notifier import SlackNotifier
from bot.slack.outbox import SlackTables
from bot.store.sqlite import Store, now_text
from tests.fakes.fake_slack import FakeSlack
from tests.slack.conftest import MakeSettings
from tests.slack.reports import report

OLD_OUTBOX = """
CREATE TABLE slack_outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT, group_id TEXT NOT NULL, kind TEXT NOT NULL,
    channel TEXT NOT NULL, body TEXT NOT NULL, data BLOB, created_at TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending', attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT
);
"""


async def test_an_old_outbox_gains_its_new_column_and_still_sends(
    slack: FakeSlack, store: Store, make_settings: MakeSettings, session: aiohttp.ClientSession
) -> None:
    await store.ensure_schema(OLD_OUTBOX)
    old = SlackTables(store)
    await old.ensure()  # adds outcome_unknown and slack_digests, keeps the rows
    columns = {r[1] for r in sqlite3.connect(store.path).execute("PRAGMA table_info(slack_outbox)")}
    assert "outcome_unknown" in columns
    tables = sqlite3.connect(store.path).execute("SELECT name FROM sqlite_master").fetchall()
    assert ("slack_digests",) in tables
    body = {"text": "queued by the version before", "blocks": [], "attachments": []}
    await old.save_group("G1", report(group_key="g1"), "C1", [])
    await store.write(
        (
            "INSERT INTO slack_outbox (group_id, kind, channel, body, created_at)"
            " VALUES ('G1', 'message', 'C1', ?, ?)",
            (json.dumps(body), now_text()),
        )
    )
    settings = make_settings()
    notifier = SlackNotifier(make_client(settings, session, retries=False), old, settings)
    notifier.sender.start()
    try:
        await notifier.sender.idle()
    finally:
        await notifier.close()
    [message] = slack.channel_messages("C1")
    assert message.text == "queued by the version before"
