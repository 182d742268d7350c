"""The bot's own Prometheus metrics, on a registry of its own per application.

Created by `app` and handed to the receiver, the worker and the notifiers; served at
`GET /metrics`. A registry per app (not the process-global one) keeps tests independent.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

WEBHOOK_OUTCOMES = (
    "accepted",
    "duplicate",
    "unauthorized",
    "too_large",
    "bad_content_type",
    "malformed",
    "invalid",
    "queue_full",
    "disk_full",
    "store_error",
    "slow_body",
)


class BotMetrics:
    """Counters, gauges and histograms of the service."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        self.webhooks = Counter(
            "triage_bot_webhooks",
            "Alertmanager webhooks received, by outcome.",
            ["outcome"],
            registry=self.registry,
        )
        for outcome in WEBHOOK_OUTCOMES:
            self.webhooks.labels(outcome)
        self.queue_depth = Gauge(
            "triage_bot_queue_depth",
            "Notifications accepted and not yet triaged.",
            registry=self.registry,
        )
        self.triage_seconds = Histogram(
            "triage_bot_triage_duration_seconds",
            "Time to triage one notification, collectors and verdict.",
            buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 16, 30),
            registry=self.registry,
        )
        self.triages = Counter(
            "triage_bot_triages",
            "Triages finished, by verdict category.",
            ["verdict"],
            registry=self.registry,
        )
        self.notifier_errors = Counter(
            "triage_bot_notifier_errors",
            "Notifications a notifier failed to deliver.",
            ["notifier"],
            registry=self.registry,
        )
        self.collector_notes = Counter(
            "triage_bot_collector_failures",
            "Collectors that returned a note instead of evidence.",
            ["collector"],
            registry=self.registry,
        )
