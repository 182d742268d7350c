"""Serves corpus cases to the fake API (and the real Prometheus) and triages them offline.

Used by tests/corpus/test_diagnosis.py and bench/diagnosis.py. Each case is loaded into
one running `FakeKube` (objects, logs, faults), its Prometheus series are backfilled with
`promtool tsdb create-blocks-from openmetrics` into a real Prometheus started once for the
run, its drift state is written where the case says a triage finds it (a store under a
data dir, or `triage_bot_drift_*` series), and the triage runs through the same engine
as `triage-bot triage --json` (`bot.offline.triage_offline`).
"""

from __future__ import annotations

import contextlib
import re
import subprocess
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bot.config import Settings
from bot.model.alert import Notification
from bot.model.collector import TriageContext
from bot.model.report import TriageReport
from bot.model.results import AnyEvidence, evidence_from_dict
from bot.offline import triage_offline
from bot.triage.pipeline import Pipeline
from bot.triage.verdict import Diagnosis
from tests.corpus.schema import Case, duration_seconds, expand_values, parse_time
from tests.corpus.stores import drift_samples, write_drift_store
from tests.fakes.fake_kube import FakeKube, running_fake_kube
from tests.fakes.servers import ServerProcess, running_prometheus

_SERIES = re.compile(r"^(?P<name>[a-zA-Z_:][\w:]*)(?P<labels>\{.*\})?$")


def webhook(case: Case) -> dict[str, Any]:
    """The Alertmanager v4 body around the case's one firing alert."""
    alert = case.alert
    labels = dict(alert.labels)
    group = {k: labels[k] for k in ("alertname", "namespace") if k in labels}
    return {
        "version": "4",
        "groupKey": "{}:{" + ",".join(f'{k}="{v}"' for k, v in group.items()) + "}",
        "truncatedAlerts": 0,
        "status": "firing",
        "receiver": "triage-bot",
        "groupLabels": group,
        "commonLabels": labels,
        "commonAnnotations": dict(alert.annotations),
        "externalURL": "http://alertmanager.example:9093",
        "alerts": [
            {
                "status": "firing",
                "labels": labels,
                "annotations": dict(alert.annotations),
                "startsAt": alert.startsAt,
                "endsAt": "0001-01-01T00:00:00Z",
                "generatorURL": alert.generatorURL or "",
                "fingerprint": "0123456789abcdef",
            }
        ],
    }


def load_into(kube: FakeKube, case: Case) -> None:
    """Replace the fake cluster's state with the case's snapshot."""
    kube.objects.clear()
    kube.logs.clear()
    kube.faults.clear()
    for obj in case.objects:
        kube.add(obj)
    for log in case.logs:
        kube.set_log(log.namespace, log.pod, log.container, log.text, previous=log.previous)
    for fault in case.faults:
        kube.fault(fault.path, status=fault.status, delay=fault.delay or 0.0)


def openmetrics(cases: list[Case]) -> str:
    """Every case's series as one OpenMetrics text for promtool's backfill."""
    families: dict[str, list[str]] = {}
    for case in cases:
        if case.prometheus is None:
            continue
        start = parse_time(case.alert.startsAt).timestamp()
        first = start + duration_seconds(case.prometheus.start)
        step = duration_seconds(case.prometheus.interval)
        for series in case.prometheus.series:
            match = _SERIES.match(series.series.strip())
            if match is None:
                raise ValueError(f"cannot read series {series.series!r}")
            lines = families.setdefault(match["name"], [])
            for i, value in enumerate(expand_values(series.values)):
                if isinstance(value, float):
                    lines.append(f"{series.series.strip()} {value!r} {first + i * step:.3f}")
    for case in cases:
        if case.drift is not None and case.drift.via == "prometheus":
            for sample, value, at in drift_samples(case):
                name = sample.split("{", 1)[0]
                families.setdefault(name, []).append(f"{sample} {value!r} {at:.3f}")
    body = "\n".join(line for name in sorted(families) for line in families[name])
    return body + "\n# EOF\n"


@contextlib.asynccontextmanager
async def prometheus_with(cases: list[Case], workdir: Path) -> AsyncIterator[str | None]:
    """A real Prometheus holding the cases' series (None when no case has any)."""
    text = openmetrics(cases)
    if text.strip() == "# EOF":
        yield None
        return
    source = workdir / "series.om"
    source.write_text(text)
    tsdb = workdir / "tsdb"
    tsdb.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        ["promtool", "tsdb", "create-blocks-from", "openmetrics", str(source), str(tsdb)],
        check=True,
        capture_output=True,
        timeout=120,
    )
    config: dict[str, Any] = {"global": {"scrape_interval": "1h"}, "scrape_configs": []}
    server: ServerProcess
    async with running_prometheus(workdir, config, retention="100y") as server:
        yield server.url


@dataclass(frozen=True)
class Outcome:
    """One case's triage and how long it took."""

    name: str
    case: Case
    report: TriageReport
    seconds: float


class Replay:
    """A collector that hands back one piece of an exported incident's evidence."""

    timeout = 2.0

    def __init__(self, evidence: AnyEvidence) -> None:
        self._evidence = evidence
        self.name = f"replay {evidence.kind}"

    async def collect(self, context: TriageContext) -> AnyEvidence:
        """The stored evidence, as it was gathered."""
        return self._evidence


async def triage_incident(name: str, case: Case) -> Outcome:
    """An exported incident through the pipeline and the verdict, its evidence replayed."""
    replays = [Replay(evidence_from_dict(d)) for d in case.evidence]
    pipeline = Pipeline(replays, Diagnosis())
    began = datetime.now(UTC)
    report = await pipeline.run(Notification.model_validate(webhook(case)))
    return Outcome(name, case, report, (datetime.now(UTC) - began) / timedelta(seconds=1))


async def triage_case(
    name: str, case: Case, kube: FakeKube, kubeconfig: Path, workdir: Path, prom: str | None
) -> Outcome:
    """Load the case, triage it offline, and time the triage alone."""
    load_into(kube, case)
    drift = case.drift
    data_dir = workdir / "data" / name
    if drift is not None and drift.via == "data-dir":
        await write_drift_store(data_dir, case)
    uses_prometheus = case.prometheus is not None or (
        drift is not None and drift.via == "prometheus"
    )
    settings = Settings(
        kubeconfig=kubeconfig,
        in_cluster=False,
        data_dir=data_dir,
        prometheus_url=prom if uses_prometheus else None,
    )
    notification = Notification.model_validate(webhook(case))
    began = datetime.now(UTC)
    report = await triage_offline(settings, notification)
    seconds = (datetime.now(UTC) - began) / timedelta(seconds=1)
    return Outcome(name, case, report, seconds)


async def run_corpus(cases: dict[str, Case], workdir: Path) -> list[Outcome]:
    """Every case triaged against one fake API server and one Prometheus."""
    workdir.mkdir(parents=True, exist_ok=True)
    outcomes = []
    async with running_fake_kube() as kube, prometheus_with(list(cases.values()), workdir) as prom:
        kubeconfig = kube.write_kubeconfig(workdir / "kubeconfig")
        for name, case in cases.items():
            if case.evidence:
                outcomes.append(await triage_incident(name, case))
                continue
            outcomes.append(await triage_case(name, case, kube, kubeconfig, workdir, prom))
    return outcomes
