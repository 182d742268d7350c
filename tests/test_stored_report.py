"""Reports stored before evidence became a tagged union still load, and in the same form.

`tests/fixtures/stored-report.json` was written by `TriageReport.to_dict` of the code at
0857aa2 (the hand-made evidence registry), with one evidence of every kind: what the
`triages.report` column of a SQLite or PostgreSQL store holds today.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from bot.model.cluster_evidence import (
    AutoscalerEvidence,
    EventsEvidence,
    LogsEvidence,
    NodesEvidence,
    PodsEvidence,
)
from bot.model.kserve_evidence import InferenceServiceEvidence
from bot.model.report import TriageReport
from bot.model.results import known_kinds
from bot.model.signal_evidence import DriftEvidence, MetricsEvidence

STORED: dict[str, Any] = json.loads(
    (Path(__file__).parent / "fixtures" / "stored-report.json").read_text()
)


def test_a_stored_report_reads_back_with_every_evidence_kind_typed() -> None:
    report = TriageReport.from_dict(STORED)

    kinds = [type(e) for e in report.evidence()]
    assert kinds == [
        InferenceServiceEvidence,
        PodsEvidence,
        EventsEvidence,
        LogsEvidence,
        NodesEvidence,
        AutoscalerEvidence,
        MetricsEvidence,
        DriftEvidence,
    ]
    assert {e.kind for e in report.evidence()} == known_kinds()
    assert report.notes() == ["collector 0: Prometheus: timeout after 3 s"]
    pods = report.find(PodsEvidence)
    assert isinstance(pods, PodsEvidence)
    assert pods.pods[0].containers[0].last_terminated_reason == "OOMKilled"
    metrics = report.find(MetricsEvidence)
    assert isinstance(metrics, MetricsEvidence) and metrics.series[0].points[1] == (
        1764010909.0,
        0.09,
    )
    assert report.alert_count == 1 and report.verdict.action_kind == "rollback"


def test_a_stored_report_writes_back_the_form_it_was_stored_in() -> None:
    # The API serves this form and `triage --json` prints it: readers see no change.
    assert TriageReport.from_dict(STORED).to_dict() == STORED
    assert STORED["results"][1]["seconds"] == 0.1235  # stored to 0.1 ms


def test_evidence_of_a_kind_this_version_does_not_know_reads_as_none() -> None:
    # A newer replica sharing the PostgreSQL store during a rolling upgrade wrote it.
    newer = copy.deepcopy(STORED)
    newer["results"][2]["evidence"] = {"kind": "gpu", "devices": [{"uuid": "GPU-1"}]}

    report = TriageReport.from_dict(newer)

    assert report.results[2].collector == "EventsEvidence"
    assert report.results[2].evidence is None
    assert len(report.evidence()) == 7
    assert STORED["results"][2]["evidence"]["kind"] == "events"  # the input was not changed
