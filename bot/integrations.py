"""What the settings switch on, in words: for the start log and `check-config`.

Called by `cli` (check-config) and `service` (the "starting" log line). Pure; secrets are
reported as set or not set, never shown.
"""

from __future__ import annotations

from bot.config import Settings
from bot.config_names import unknown_variables


def _set(value: object) -> str:
    return "set" if value is not None else "not set"


def ignored_variables() -> list[str]:
    """Warnings for `TRIAGE_BOT_*` variables that are no setting (a typo, a removed one)."""
    return [
        f"{name} is not a setting and is ignored (docs/configuration.md lists them)"
        for name in unknown_variables(Settings.model_fields)
    ]


def _store(settings: Settings) -> str:
    if settings.database_url is None:
        return f"sqlite {settings.database_path}"
    from bot.backends import replica_name
    from bot.store.postgres.setup import where  # asyncpg only when the URL is set

    url = settings.database_url.get_secret_value()
    return f"postgresql {where(url)} (replica {replica_name(settings)})"


def integrations(settings: Settings) -> dict[str, str]:
    """Each integration and its state, in the order a reader checks them."""
    if settings.in_cluster is False and settings.kubeconfig is None:
        cluster = "off (in_cluster: false)"
    elif settings.kubeconfig is not None:
        cluster = f"kubeconfig {settings.kubeconfig}"
    elif settings.cluster_configured:
        cluster = "in-cluster service account"
    else:
        cluster = "off (no KUBECONFIG, not in a cluster)"
    models = settings.drift.models
    drift = (
        ", ".join(
            f"{m.namespace}/{m.name} ({m.reference or f'capture {m.capture_rows} rows'})"
            for m in models
        )
        if models
        else "no models"
    )
    if settings.slack_bot_token is None:
        slack = "off (triages printed to stdout)"
    else:
        channel = settings.slack_channel or "NO CHANNEL"
        routes = len(settings.slack.routes)
        slack = f"bot token set, channel {channel}, {routes} route{'s' if routes != 1 else ''}"
    return {
        "data_dir": str(settings.data_dir),
        "store": _store(settings),
        "webhook_token": _set(settings.webhook_token)
        + ("" if settings.webhook_token else " (POST /alertmanager open to anyone)"),
        "api_token": _set(settings.api_token)
        + ("" if settings.api_token else " (api.public: /api/* open to anyone)"),
        "cluster": cluster,
        "prometheus": settings.prometheus_url or "off (no TRIAGE_BOT_PROMETHEUS_URL)",
        "alertmanager": settings.alertmanager_url or "off (silences unavailable)",
        "drift_models": drift,
        "slack": slack,
        "slack_signing_secret": _set(settings.slack_signing_secret)
        + ("" if settings.slack_signing_secret else " (button clicks refused)"),
        "slack_socket_mode": "on" if settings.slack_app_token is not None else "off",
        "log": f"{settings.log_format} {settings.log_level}",
    }
