"""The store: one interface (`interface`), two implementations.

`sqlite` is the embedded default (one replica, a file under the data dir, writes
group-committed by `group_commit`); `postgres` is the shared store of several replicas
(`TRIAGE_BOT_DATABASE_URL`). Tables that belong to one feature (the Slack outbox, the
audit log, the action ledger, triage attempts, drift history) live with that feature,
one class per back end, built by `app`.
"""
