"""POST /ingest/kserve and /ingest/feedback through aiohttp, as KServe's logger calls them."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from prometheus_client import generate_latest

from bot.model.alert import Notification
from bot.model.collector import TriageContext
from bot.model.signal_evidence import DriftEvidence
from bot.model.target import Target
from tests.drift.conftest import (
    FEATURES,
    NAME,
    NAMESPACE,
    Harness,
    binary_headers,
    drift_settings,
    rows,
    v2_request,
)

Start = Callable[..., Any]


async def _fill(h: Harness, count: int, seed: int, shift: float = 0.0, prefix: str = "r") -> None:
    batch = rows(count, seed, shift)
    for i in range(0, count, 50):
        status, body = await h.post_event(f"{prefix}{seed}-{i}", v2_request(batch[i : i + 50]))
        assert status == 200, body


async def test_v1_and_v2_requests_fill_reference_then_window(
    start_harness: Start, tmp_path: Path
) -> None:
    h: Harness = await start_harness(drift_settings(tmp_path))
    v1 = {"instances": rows(100, 1)}
    status, body = await h.post_event("a", v1)
    assert (status, body["rows"]) == (200, 100)
    await _fill(h, 100, 2)  # v2: reference (200 rows) now complete
    monitor = h.service.monitors[f"{NAMESPACE}/{NAME}"]
    assert monitor.reference is not None and monitor.window.rows == 0
    structured = {
        "specversion": "1.0", "id": "s1", "source": "x",
        "type": "org.kubeflow.serving.inference.request",
        "inferenceservicename": NAME, "namespace": NAMESPACE,
        "datacontenttype": "application/json", "data": {"instances": rows(60, 3)},
    }  # fmt: skip
    response = await h.client.post(
        "/ingest/kserve",
        data=json.dumps(structured),
        headers={"Content-Type": "application/cloudevents+json"},
    )
    assert response.status == 200
    assert monitor.window.rows == 60
    evaluated = await (await h.client.post(f"/api/drift/{NAMESPACE}/{NAME}/evaluate")).json()
    assert evaluated["inputs"]["window_rows"] == 60
    assert [f["name"] for f in evaluated["inputs"]["features"]] == list(FEATURES)
    assert evaluated["inputs"]["drift"] is False


async def test_shifted_inputs_drift_and_gauges_and_collector(
    start_harness: Start, tmp_path: Path
) -> None:
    reference = tmp_path / "reference.csv"
    lines = [",".join(FEATURES)] + [",".join(str(v) for v in r) for r in rows(1_000, 10)]
    reference.write_text("\n".join(lines) + "\n")
    h: Harness = await start_harness(drift_settings(tmp_path, reference=reference))
    await _fill(h, 300, 11, shift=1.5)
    await h.service.evaluate_all()
    await _fill(h, 300, 12, shift=1.5, prefix="again")
    await h.service.evaluate_all()
    text = generate_latest(h.registry).decode()
    # namespace and model apart: the labels the PrometheusRule groups by
    model = f'model="{NAME}",namespace="{NAMESPACE}"'
    assert f'triage_bot_drift_feature_drifted{{feature="acidity",{model}}} 1.0' in text
    assert f'triage_bot_drift_feature_drifted{{feature="sugar",{model}}} 0.0' in text
    assert f"triage_bot_drift_window_rows{{{model}}} 600.0" in text
    assert f"triage_bot_drift_rows_total{{{model}}} 600.0" in text
    assert "triage_bot_drift_last_evaluation_timestamp_seconds" in text
    assert "triage_bot_drift_memory_bytes" in text

    fixture = Path(__file__).parent.parent / "fixtures" / "high-error-rate-firing.json"
    notification = Notification.model_validate_json(fixture.read_text())
    now = datetime.now(UTC) + timedelta(seconds=1)
    context = TriageContext(
        notification=notification,
        target=Target(namespace=NAMESPACE, inference_service=NAME),
        alert_start=now,
        now=now,
    )
    evidence = await h.service.collector().collect(context)
    assert isinstance(evidence, DriftEvidence)
    drifted = {f.name: f for f in evidence.features if f.drifted}
    assert set(drifted) == {"acidity"}
    first = h.service.monitors[f"{NAMESPACE}/{NAME}"].history[0].at
    assert drifted["acidity"].drifted_since == first
    assert evidence.window_rows == 600 and evidence.drift_share == 0.25


async def test_bad_payloads_get_4xx_and_counters(start_harness: Start, tmp_path: Path) -> None:
    h: Harness = await start_harness(drift_settings(tmp_path))
    cases: list[tuple[dict[str, str], bytes, int, str, str]] = [
        (binary_headers("m1"), b"{not json", 400, "malformed", "not valid JSON"),
        (binary_headers("m2"), b'{"nothing": 1}', 400, "malformed", "neither instances"),
        (binary_headers("u1", name="other"), b'{"instances": [[1]]}', 404, "unknown_model",
         "unknown model models/other"),
        (binary_headers("s1"), json.dumps({"instances": [[1.0, 2.0]]}).encode(), 422,
         "shape_mismatch", "2 features per row, the model has 4"),
        (binary_headers("s2"), json.dumps({"inputs": [{"name": "x", "shape": [2, 4],
         "datatype": "FP64", "data": [1, 2, 3]}]}).encode(), 422, "shape_mismatch",
         "needs 8 values, data has 3"),
        (binary_headers("s3"), json.dumps({"instances": [[1, 2, 3, "red"], [1, 2]]}).encode(),
         422, "shape_mismatch", "instances[1]"),
        ({**binary_headers("t1"), "ce-type": "dev.example.other"}, b"{}", 400,
         "unsupported_type", "unsupported CloudEvent type"),
        ({"Content-Type": "application/json"}, b"{}", 400, "malformed", "not a CloudEvent"),
        (binary_headers("big"), b'{"instances": [' + b"[1,2,3,4]," * 8000 + b"[1,2,3,4]]}",
         413, "too_large", "larger than"),
        ({"Content-Type": "application/cloudevents+json"}, b'{"specversion": "1.0"}', 400,
         "malformed", "id"),
    ]  # fmt: skip
    for headers, body, status, outcome, message in cases:
        before = h.counter(outcome)
        response = await h.client.post("/ingest/kserve", data=body, headers=headers)
        payload = await response.json()
        assert response.status == status, (outcome, payload)
        assert message in payload["error"]
        assert h.counter(outcome) == before + 1


async def test_replayed_event_counts_once(start_harness: Start, tmp_path: Path) -> None:
    h: Harness = await start_harness(drift_settings(tmp_path))
    body = {"instances": rows(30, 4)}
    assert (await h.post_event("same-id", body))[1]["status"] == "accepted"
    status, again = await h.post_event("same-id", body)
    assert (status, again["status"]) == (200, "duplicate")
    monitor = h.service.monitors[f"{NAMESPACE}/{NAME}"]
    assert monitor.rows_ingested == 30 and h.counter("duplicate") == 1
    # the response of the same request id is another event, not a replay
    assert (await h.post_event("same-id", {"predictions": [1] * 30}, "response"))[0] == 200


async def test_feedback_gives_accuracy_in_either_order(
    start_harness: Start, tmp_path: Path
) -> None:
    h: Harness = await start_harness(drift_settings(tmp_path, accuracy_baseline=0.9))
    await h.post_event("q1", {"instances": rows(2, 5)})
    v2_response = {
        "model_name": NAME,
        "outputs": [{"name": "probs", "shape": [2, 3], "datatype": "FP32",
                     "data": [0.1, 0.8, 0.1, 0.7, 0.2, 0.1]}],
    }  # fmt: skip
    assert (await h.post_event("q1", v2_response, "response"))[0] == 200
    post = h.client.post
    labels = {"namespace": NAMESPACE, "name": NAME, "labels": [{"id": "q1", "label": [1, 2]}]}
    response = await post("/ingest/feedback", json=labels)
    assert (await response.json())["joined"] == 2
    early = {"namespace": NAMESPACE, "name": NAME, "labels": [{"id": "q2", "label": "3"}]}
    assert (await (await post("/ingest/feedback", json=early)).json())["joined"] == 0
    await h.post_event("q2", {"predictions": [3]}, "response")
    quality = h.service.monitors[f"{NAMESPACE}/{NAME}"].feedback.quality()
    assert quality.labelled == 3 and quality.accuracy == 2 / 3
    await h.service.evaluate_all()
    text = generate_latest(h.registry).decode()
    model = f'model="{NAME}",namespace="{NAMESPACE}"'
    assert f"triage_bot_drift_accuracy{{{model}}} {2 / 3!r}" in text
    assert f"triage_bot_drift_accuracy_baseline{{{model}}} 0.9" in text
    wrong = {"namespace": NAMESPACE, "name": NAME, "labels": [{"id": "q3", "label": [1, 2]}]}
    await h.post_event("q3", {"predictions": [1]}, "response")
    response = await post("/ingest/feedback", json=wrong)
    assert (
        response.status == 422
        and "2 labels for a request with 1 rows" in (await response.json())["error"]
    )
    response = await post("/ingest/feedback", json={"namespace": NAMESPACE, "labels": []})
    assert response.status == 400 and "name" in (await response.json())["error"]
    unknown = {"namespace": "x", "name": "y", "labels": [{"id": "1", "label": 1}]}
    assert (await post("/ingest/feedback", json=unknown)).status == 404


async def test_restart_keeps_windows_reference_and_history(
    start_harness: Start, tmp_path: Path
) -> None:
    settings = drift_settings(tmp_path)
    h: Harness = await start_harness(settings)
    await _fill(h, 300, 6)  # 200 captured as reference, 100 in the window
    await h.post_event("p1", {"predictions": [1, 0, 1]}, "response")
    await h.service.evaluate_all()
    before = h.service.monitors[f"{NAMESPACE}/{NAME}"]
    await h.stop()
    # the history is in SQLite now, not in the per-model JSON beside the arrays
    (meta,) = (tmp_path / "drift").glob("*/meta.json")
    assert "history" not in json.loads(meta.read_text())

    again: Harness = await start_harness(settings)
    after = again.service.monitors[f"{NAMESPACE}/{NAME}"]
    assert after.reference is not None and after.window.rows == 100
    assert len(after.history) == 1
    assert after.history[0] == before.history[0]
    served = await (await again.client.get(f"/api/drift/{NAMESPACE}/{NAME}")).json()
    assert [e["at"] for e in served["history"]] == [before.history[0].at.isoformat()]
    assert after.history[0].inputs is not None
    assert after.history[0].inputs.window_rows == before.history[0].inputs.window_rows  # type: ignore[union-attr]
    assert after.arrays(time.time())["pred_ref"].tolist() == ["1", "0", "1"]  # capture goes on
    old = before.window.snapshot(before.history[0].at.timestamp())[0]
    new = after.window.snapshot(before.history[0].at.timestamp())[0]
    assert np.array_equal(old, new)
    assert (await again.post_event("r6-0", v2_request(rows(5, 99))))[1]["status"] == "duplicate"


async def test_history_table_keeps_the_last_evaluations_per_model(
    start_harness: Start, tmp_path: Path
) -> None:
    base = drift_settings(tmp_path)
    settings = base.model_copy(update={"drift": base.drift.model_copy(update={"history": 2})})
    h: Harness = await start_harness(settings)
    assert (await h.client.get("/api/drift/other/model")).status == 404
    await _fill(h, 200, 7)  # the captured reference
    await _fill(h, 100, 8, shift=3.0)  # a shifted window
    for _ in range(3):
        await h.service.evaluate_all()
    monitor = h.service.monitors[f"{NAMESPACE}/{NAME}"]
    async with h.store.connection.execute(
        "SELECT namespace, model, evaluated_at, drift_share, dataset_drift, window_rows"
        " FROM drift_evaluations ORDER BY id"
    ) as cur:
        stored = [tuple(row) for row in await cur.fetchall()]
    kept = [e.at.isoformat() for e in monitor.history]
    assert len(stored) == 2 and [r[2] for r in stored] == kept  # the first one was pruned
    assert {(r[0], r[1], r[5]) for r in stored} == {(NAMESPACE, NAME, 100)}
    assert stored[-1][3] == monitor.history[-1].inputs.drift_share > 0  # type: ignore[union-attr]
    assert stored[-1][4] == int(monitor.history[-1].inputs.dataset_drift)  # type: ignore[union-attr]
    served = await (await h.client.get(f"/api/drift/{NAMESPACE}/{NAME}")).json()
    assert [e["at"] for e in served["history"]] == kept[::-1]  # newest first
    assert served["history"][0]["inputs"]["drift"] is True
    await h.stop()

    again: Harness = await start_harness(settings)
    restored = again.service.monitors[f"{NAMESPACE}/{NAME}"].history
    assert [e.at.isoformat() for e in restored] == kept
