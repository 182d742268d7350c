"""The evidence sources the settings call for, assembled into a triage pipeline.

Called by `app` (the service, with the drift collector and test collectors as extras)
and `offline` (`triage-bot triage`), each over the clients it opened with
`assembly.open_clients`: the collectors use them, never open their own.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.assembly import Clients
from bot.config import Settings
from bot.config_sections.triage import DiagnosisSettings
from bot.model.collector import Collector
from bot.promql.client import PrometheusClient
from bot.promql.collector import prometheus_collectors
from bot.promql.drift import PrometheusDriftCollector
from bot.triage.log_pattern import LogPattern, pattern
from bot.triage.log_patterns import CATALOGUE
from bot.triage.pipeline import Pipeline
from bot.triage.target import NameGuard
from bot.triage.verdict import Diagnosis


def user_patterns(settings: DiagnosisSettings) -> tuple[LogPattern, ...]:
    """The configured log patterns, compiled, in their order."""
    return tuple(
        pattern(
            p.name, p.pattern, p.cause, p.category, p.strength, p.summary, p.action, p.action_kind
        )
        for p in settings.log_patterns
    )


def build_pipeline(
    settings: Settings,
    clients: Clients,
    extra: Sequence[Collector] = (),
    *,
    drift_engine: bool = False,
) -> Pipeline:
    """The pipeline with `extra` collectors, the cluster's and Prometheus's.

    Without a drift engine in this process (`drift_engine`), drift evidence comes from
    what others left: the store's drift history under the data dir, else the drift gauges
    in Prometheus.
    """
    collectors = [*extra]
    if clients.kube is not None:
        # Imported only when used: the Kubernetes client is a large import.
        from bot.cluster.factory import collectors_over

        # Names from alert labels reach the Kubernetes API only when valid (triage.target).
        cluster = collectors_over(clients.kube, settings.collectors)
        collectors += [NameGuard(c, settings.target_labels) for c in cluster]
    session = clients.session
    collectors += prometheus_collectors(settings.prometheus_url, settings.collectors, session)
    if not drift_engine:
        if settings.database_path.is_file():
            # Here, not at the top: it brings numpy, which the service never needs for it.
            from bot.drift.stored_evidence import StoredDriftCollector

            collectors.append(StoredDriftCollector(settings.database_path))
        elif settings.prometheus_url:
            client = PrometheusClient(
                session,
                settings.prometheus_url,
                timeout=settings.collectors.prometheus_timeout_seconds,
            )
            timeout = settings.collectors.prometheus_timeout_seconds
            collectors.append(PrometheusDriftCollector(client, timeout))
    return Pipeline(
        collectors,
        Diagnosis(user_patterns(settings.diagnosis) + CATALOGUE),
        budget_seconds=settings.collectors.budget_seconds,
        labels=settings.target_labels,
    )
