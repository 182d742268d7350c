"""The PostgreSQL store: the shared store of several replicas (`TRIAGE_BOT_DATABASE_URL`).

`migrations` brings the schema up under an advisory lock, `store` meets the store
interface, `leases` claims a group's notifications for one replica at a time, `outbox`
claims Slack sends (`bot.actions.pg_ledger` makes a click run once), `periodic` runs work on one
replica at a time (`retention` is such work), `setup` builds the store from the settings
and `copy` is `migrate-store`.
"""
