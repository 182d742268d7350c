"""Versioned schema migrations for the PostgreSQL store, applied at start under a lock.

Called by `postgres.store.PostgresStore.open`. Every replica runs this at start; the
advisory lock makes the first one apply what is missing while the others wait, then find
nothing left to do. A migration is never edited once released: a change is a new version.
"""

from __future__ import annotations

import logging

import asyncpg

log = logging.getLogger(__name__)

# pg_advisory_lock key of the migrations (any constant no other lock of ours uses).
MIGRATION_LOCK = 0x7472_6961_6765_0001

MIGRATIONS: tuple[tuple[int, str], ...] = (
    (
        1,
        """
        CREATE TABLE notifications (
            id BIGSERIAL PRIMARY KEY,
            group_key TEXT NOT NULL,
            status TEXT NOT NULL,
            dedup_key TEXT NOT NULL,
            received_at TIMESTAMPTZ NOT NULL DEFAULT now(),
            body TEXT NOT NULL,
            state TEXT NOT NULL DEFAULT 'pending',
            processed_at TIMESTAMPTZ,
            error TEXT
        );
        CREATE INDEX notifications_pending ON notifications(id) WHERE state = 'pending';
        CREATE INDEX notifications_pending_group ON notifications(group_key, id)
            WHERE state = 'pending';
        CREATE INDEX notifications_received ON notifications(received_at);
        -- The idempotency key: one row per dedup key, taken again only after the window,
        -- so the copies an Alertmanager HA pair sends to two replicas collapse here.
        CREATE TABLE notification_keys (
            dedup_key TEXT PRIMARY KEY,
            notification_id BIGINT NOT NULL,
            received_at TIMESTAMPTZ NOT NULL
        );
        -- One replica triages a group at a time, until `until` (the lease).
        CREATE TABLE group_leases (
            group_key TEXT PRIMARY KEY,
            replica TEXT NOT NULL,
            until TIMESTAMPTZ NOT NULL
        );
        CREATE TABLE triages (
            group_key TEXT PRIMARY KEY,
            status TEXT NOT NULL,
            alertname TEXT NOT NULL,
            severity TEXT NOT NULL,
            alert_count INTEGER NOT NULL,
            truncated_alerts INTEGER NOT NULL,
            verdict TEXT NOT NULL,
            confidence DOUBLE PRECISION NOT NULL,
            notifications INTEGER NOT NULL,
            first_seen TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            resolved_at TEXT,
            report JSONB NOT NULL
        );
        CREATE INDEX triages_updated ON triages(updated_at);
        CREATE TABLE triage_attempts (
            notification_id BIGINT PRIMARY KEY,
            attempts INTEGER NOT NULL,
            last_error TEXT NOT NULL,
            updated_at TIMESTAMPTZ NOT NULL
        );
        CREATE TABLE slack_messages (
            group_id TEXT PRIMARY KEY,
            group_key TEXT NOT NULL,
            channel TEXT NOT NULL,
            ts TEXT,
            report JSONB NOT NULL,
            state TEXT NOT NULL DEFAULT '',
            updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
        );
        CREATE TABLE slack_outbox (
            id BIGSERIAL PRIMARY KEY,
            group_id TEXT NOT NULL REFERENCES slack_messages(group_id),
            kind TEXT NOT NULL,
            channel TEXT NOT NULL,
            body JSONB NOT NULL,
            data BYTEA,
            created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
            state TEXT NOT NULL DEFAULT 'pending',
            attempts INTEGER NOT NULL DEFAULT 0,
            last_error TEXT,
            claimed_by TEXT,
            claim_until TIMESTAMPTZ
        );
        CREATE INDEX slack_outbox_pending ON slack_outbox(group_id, id)
            WHERE state IN ('pending', 'sending');
        -- At most one unsent rendering of a group's message: a newer one replaces its body.
        CREATE UNIQUE INDEX slack_outbox_one_message ON slack_outbox(group_id)
            WHERE kind = 'message' AND state = 'pending';
        CREATE TABLE action_runs (
            key TEXT PRIMARY KEY,
            model TEXT NOT NULL,
            action TEXT NOT NULL,
            user_id TEXT NOT NULL,
            exclusive BOOLEAN NOT NULL DEFAULT TRUE,
            status TEXT NOT NULL,
            started_at TIMESTAMPTZ NOT NULL,
            finished_at TIMESTAMPTZ,
            valid_until TIMESTAMPTZ,
            result TEXT NOT NULL DEFAULT ''
        );
        CREATE INDEX action_runs_model ON action_runs(model, status);
        CREATE TABLE audit_log (
            id BIGSERIAL PRIMARY KEY,
            ref TEXT NOT NULL UNIQUE,
            at TIMESTAMPTZ NOT NULL,
            user_id TEXT NOT NULL,
            user_name TEXT NOT NULL,
            action TEXT NOT NULL,
            group_id TEXT NOT NULL,
            target TEXT NOT NULL,
            arg TEXT NOT NULL,
            decision TEXT NOT NULL,
            reason TEXT NOT NULL,
            outcome TEXT,
            detail TEXT,
            finished_at TIMESTAMPTZ,
            source TEXT NOT NULL
        );
        CREATE INDEX audit_log_at ON audit_log(at);
        CREATE TABLE drift_evaluations (
            id BIGSERIAL PRIMARY KEY,
            namespace TEXT NOT NULL,
            model TEXT NOT NULL,
            evaluated_at TIMESTAMPTZ NOT NULL,
            drift_share DOUBLE PRECISION,
            dataset_drift BOOLEAN,
            prediction_drift BOOLEAN,
            window_rows INTEGER,
            accuracy DOUBLE PRECISION,
            mae DOUBLE PRECISION,
            evaluation JSONB NOT NULL
        );
        CREATE INDEX drift_evaluations_model ON drift_evaluations(namespace, model, id);
        """,
    ),
    (
        2,
        """
        -- A send that timed out after Slack may have accepted it: the next sender looks
        -- for the message by its metadata (the group id) before posting again.
        ALTER TABLE slack_outbox ADD COLUMN outcome_unknown BOOLEAN NOT NULL DEFAULT FALSE;
        """,
    ),
    (
        3,
        """
        -- Drift with several replicas (bot/drift/pg_windows.py): any replica appends the
        -- rows of each payload-logger event it receives as one batch; the replica that
        -- evaluates a round reads a model's batches whole and trims them to the window.
        -- The event id is unique per model and kind, so a replayed event lands once.
        CREATE TABLE drift_batches (
            id BIGSERIAL PRIMARY KEY,
            namespace TEXT NOT NULL,
            model TEXT NOT NULL,
            kind TEXT NOT NULL,
            event_id TEXT NOT NULL,
            received_at DOUBLE PRECISION NOT NULL,
            names TEXT[] NOT NULL,
            rows INTEGER NOT NULL,
            numbers BYTEA NOT NULL,
            texts TEXT[] NOT NULL
        );
        CREATE UNIQUE INDEX drift_batches_event ON drift_batches(namespace, model, kind, event_id);
        CREATE INDEX drift_batches_model ON drift_batches(namespace, model, kind, id);
        -- A reference captured from a model's first rows (no reference file), once complete.
        CREATE TABLE drift_references (
            namespace TEXT NOT NULL,
            model TEXT NOT NULL,
            kind TEXT NOT NULL,
            names TEXT[] NOT NULL,
            rows INTEGER NOT NULL,
            numbers BYTEA NOT NULL,
            texts TEXT[] NOT NULL,
            PRIMARY KEY (namespace, model, kind)
        );
        -- The last evaluation round taken (unix time // interval), so that replicas whose
        -- timers tick apart still evaluate once per interval between them.
        CREATE TABLE drift_rounds (
            name TEXT PRIMARY KEY,
            slot BIGINT NOT NULL
        );
        """,
    ),
    (
        4,
        """
        -- A channel's storm digest, one message for every replica: claimed like an outbox
        -- op (claimed_by, claim_until), its first post's ts kept once, and the groups
        -- each replica listed in it, in order.
        CREATE TABLE slack_digests (
            channel TEXT PRIMARY KEY,
            ts TEXT,
            listed JSONB NOT NULL DEFAULT '[]',
            claimed_by TEXT,
            claim_until TIMESTAMPTZ,
            updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
        );
        """,
    ),
    (
        5,
        """
        -- Ground truth with several replicas (bot/drift/pg_feedback.py): the predictions of
        -- every response and every posted label set, from any replica, in arrival order;
        -- the replica evaluating a round applies them to the model's joined state and
        -- deletes them, so labels join predictions whichever replica received either.
        CREATE TABLE drift_feedback (
            id BIGSERIAL PRIMARY KEY,
            namespace TEXT NOT NULL,
            model TEXT NOT NULL,
            kind TEXT NOT NULL,
            request_id TEXT NOT NULL,
            payload JSONB NOT NULL
        );
        CREATE INDEX drift_feedback_model ON drift_feedback(namespace, model, id);
        CREATE TABLE drift_feedback_state (
            namespace TEXT NOT NULL,
            model TEXT NOT NULL,
            state JSONB NOT NULL,
            PRIMARY KEY (namespace, model)
        );
        """,
    ),
)


async def migrate(conn: asyncpg.Connection) -> list[int]:
    """Apply the migrations this database lacks, each in its own transaction; the versions
    applied (empty when another replica, or an earlier start, already did)."""
    applied: list[int] = []
    await conn.execute("SELECT pg_advisory_lock($1)", MIGRATION_LOCK)
    try:
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"
        )
        done = {r["version"] for r in await conn.fetch("SELECT version FROM schema_migrations")}
        for version, sql in MIGRATIONS:
            if version in done:
                continue
            async with conn.transaction():
                await conn.execute(sql)
                await conn.execute("INSERT INTO schema_migrations (version) VALUES ($1)", version)
            log.info("store schema migrated", extra={"version": version})
            applied.append(version)
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", MIGRATION_LOCK)
    return applied


async def schema_version(conn: asyncpg.Connection) -> int:
    """The highest applied version (0 on an empty database)."""
    exists = await conn.fetchval("SELECT to_regclass('schema_migrations') IS NOT NULL")
    if not exists:
        return 0
    return int(await conn.fetchval("SELECT COALESCE(MAX(version), 0) FROM schema_migrations"))
