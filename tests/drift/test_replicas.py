"""Two drift services on one real PostgreSQL, as two replicas behind one Service.

Events are split between the replicas; each model is evaluated once per interval between
them, with the result one replica receiving every event computes (the SQLite service of
`start_harness`), and both replicas serve and export the same evaluation.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from prometheus_client import CollectorRegistry, generate_latest

from bot.config import Settings
from bot.drift.service import DriftService
from bot.model.alert import Notification
from bot.model.collector import TriageContext
from bot.model.signal_evidence import DriftEvidence
from bot.model.target import Target
from bot.store.postgres.store import PostgresStore
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
from tests.fakes.servers import wait_for

KEY = f"{NAMESPACE}/{NAME}"
INTERVAL = 3600.0
# Now, at the start of its interval (the rows' ages count from their arrival, now).
ROUND_1 = time.time() // INTERVAL * INTERVAL + 1.0
Event = tuple[str, str, Any]  # id, kind, body


class Replica:
    """One DriftService on its own pool, behind its own test client."""

    def __init__(
        self,
        service: DriftService,
        store: PostgresStore,
        client: TestClient[Any, Any],
        registry: CollectorRegistry,
    ):
        self.service = service
        self.store = store
        self.client = client
        self.registry = registry

    async def post(self, event_id: str, body: Any, kind: str = "request") -> dict[str, Any]:
        response = await self.client.post(
            "/ingest/kserve", data=json.dumps(body), headers=binary_headers(event_id, kind)
        )
        assert response.status == 200, await response.text()
        return dict(await response.json())

    def gauge(self, name: str, **labels: str) -> float | None:
        return self.registry.get_sample_value(
            f"triage_bot_drift_{name}", {"namespace": NAMESPACE, "model": NAME, **labels}
        )


Start = Callable[[Settings, str], Any]


@pytest.fixture
async def start_replica(
    aiohttp_client: Callable[..., Any], postgres_url: str, tmp_path: Path
) -> AsyncIterator[Start]:
    opened: list[tuple[DriftService, PostgresStore]] = []

    async def start(settings: Settings, name: str) -> Replica:
        store = PostgresStore(postgres_url)
        await store.open()
        registry = CollectorRegistry()
        service = DriftService(settings.drift, registry, store, data_dir=tmp_path / name)
        await service.start()
        opened.append((service, store))
        app = web.Application()
        app.add_routes(service.routes())
        return Replica(service, store, await aiohttp_client(app), registry)

    yield start
    for service, store in opened:
        await service.close()
        await store.close()


def _events(count: int, seed: int, batch: int, shift: float = 0.0) -> list[Event]:
    """Request events of `batch` rows, each followed by the response of its predictions."""
    data = rows(count, seed, shift)
    events: list[Event] = []
    for i in range(0, count, batch):
        part = data[i : i + batch]
        events.append((f"e{seed}-{i}", "request", v2_request(part)))
        predictions = [int(r[0] > 7 + shift / 2) for r in part]
        events.append((f"e{seed}-{i}", "response", {"predictions": predictions}))
    return events


def _settings(tmp_path: Path, **drift: Any) -> Settings:
    base = drift_settings(tmp_path)
    update = {"interval_seconds": INTERVAL, **drift}
    return base.model_copy(update={"drift": base.drift.model_copy(update=update)})


def _results(document: dict[str, Any]) -> dict[str, Any]:
    """What an evaluation found, without when it ran."""
    return {k: document[k] for k in ("inputs", "predictions", "quality", "note")}


def _labels(events: list[Event]) -> list[dict[str, Any]]:
    """Ground truth for each request: acidity above 7 (the predictions' rule at no shift)."""
    return [
        {"id": event_id, "label": [float(row[0] > 7) for row in body_rows(body)]}
        for event_id, kind, body in events
        if kind == "request"
    ]


def body_rows(body: dict[str, Any]) -> list[list[Any]]:
    """The rows of a v2 request made by `v2_request`."""
    columns = [tensor["data"] for tensor in body["inputs"]]
    return [list(row) for row in zip(*columns, strict=True)]


async def _history(replica: Replica) -> list[dict[str, Any]]:
    response = await replica.client.get(f"/api/drift/{NAMESPACE}/{NAME}")
    assert response.status == 200
    return list((await response.json())["history"])


async def test_two_replicas_evaluate_once_and_agree_with_one_replica(
    start_replica: Start, start_harness: Callable[[Settings], Any], tmp_path: Path
) -> None:
    """No reference file: the first 200 rows (across both replicas, 30-row events so one
    event straddles the reference and the window) become the reference, as on one replica."""
    settings = _settings(tmp_path, window_rows=250)
    a: Replica = await start_replica(settings, "a")
    b: Replica = await start_replica(settings, "b")
    single: Harness = await start_harness(settings)
    events = _events(300, 1, 30) + _events(240, 2, 30, shift=2.0)
    for i, (event_id, kind, body) in enumerate(events):
        await (a if i % 4 < 2 else b).post(event_id, body, kind)
        status, answer = await single.post_event(event_id, body, kind)
        assert status == 200, answer
    # Labels for every request, half posted to each replica (joined at the round).
    labels = _labels(events)
    for replica, part in ((b, labels[:9]), (a, labels[9:])):
        feedback = {"namespace": NAMESPACE, "name": NAME, "labels": part}
        response = await replica.client.post("/ingest/feedback", json=feedback)
        assert response.status == 200 and (await response.json())["joined"] is None
        response = await single.client.post("/ingest/feedback", json=feedback)
        assert (await response.json())["joined"] == 30 * len(part)

    # Both replicas' timers fire in the same interval, at once: one evaluates.
    await asyncio.gather(a.service.evaluate_all(now=ROUND_1), b.service.evaluate_all(now=ROUND_1))
    assert len(await _history(a)) == 1
    # A replica whose timer fires later in the same interval finds the round taken.
    await a.service.evaluate_all(now=ROUND_1 + 60)
    await b.service.evaluate_all(now=ROUND_1 + 120)
    history_a, history_b = await _history(a), await _history(b)
    assert len(history_a) == 1 and history_a == history_b

    await single.service.evaluate_all()
    (expected,) = await _history_of(single)
    assert _results(history_a[0]) == _results(expected)
    assert history_a[0]["inputs"]["window_rows"] == 250  # 540 rows - 200 reference, capped
    assert history_a[0]["inputs"]["drift"] is True
    assert history_a[0]["predictions"] is not None
    quality = history_a[0]["quality"]
    assert quality["labelled"] == 540 and 0.5 < quality["accuracy"] < 1.0
    assert quality["accuracy_baseline"] == 1.0  # the first 50 outcomes, unshifted: all right

    # Both replicas export the same gauges (the PrometheusRule folds them into one alert).
    gauges: list[tuple[str, dict[str, str]]] = [
        ("feature_drifted", {"feature": "acidity"}), ("share", {}), ("window_rows", {}),
        ("prediction_drifted", {}), ("accuracy", {}), ("accuracy_baseline", {}),
    ]  # fmt: skip
    for name, series in gauges:
        value = a.gauge(name, **series)
        assert value is not None and value == b.gauge(name, **series), name
    assert a.gauge("feature_drifted", feature="acidity") == 1.0

    # The next interval is evaluated again, once; rows trimmed to the window stay trimmed.
    await b.service.evaluate_all(now=ROUND_1 + INTERVAL)
    await a.service.evaluate_all(now=ROUND_1 + INTERVAL + 5)
    assert len(await _history(a)) == 2
    assert len(a.service.monitors[KEY].history) == len(b.service.monitors[KEY].history) == 2
    # The state is the database's: no replica writes drift files of its own.
    assert not (tmp_path / "a" / "drift").exists() and not (tmp_path / "b" / "drift").exists()


async def _history_of(h: Harness) -> list[dict[str, Any]]:
    response = await h.client.get(f"/api/drift/{NAMESPACE}/{NAME}")
    return list((await response.json())["history"])


async def test_replays_trimming_evidence_and_a_late_replica(
    start_replica: Start, tmp_path: Path
) -> None:
    reference = tmp_path / "reference.csv"
    lines = ["acidity,sugar,alcohol,color"] + [",".join(map(str, r)) for r in rows(500, 10)]
    reference.write_text("\n".join(lines) + "\n")
    settings = _settings(tmp_path, window_rows=100)
    settings = settings.model_copy(
        update={"drift": settings.drift.model_copy(update={"models": (
            settings.drift.models[0].model_copy(update={"reference": reference}),
        )})}
    )  # fmt: skip
    a: Replica = await start_replica(settings, "a")
    b: Replica = await start_replica(settings, "b")
    for i, (event_id, kind, body) in enumerate(_events(200, 11, 40, shift=2.0)):
        if kind == "request":
            assert (await (a if i % 4 == 0 else b).post(event_id, body))["rows"] == 40
    # A payload logger retrying against the other replica: stored once.
    assert (await b.post("e11-0", v2_request(rows(40, 11))))["status"] == "duplicate"
    assert (
        b.registry.get_sample_value("triage_bot_drift_ingest_total", {"outcome": "duplicate"})
        == 1.0
    )

    await a.service.evaluate_all(now=ROUND_1)
    (evaluation,) = await _history(b)
    assert evaluation["inputs"]["window_rows"] == 100 and evaluation["inputs"]["drift"] is True
    # The shared window keeps only the batches the window still needs (the newest 100 rows).
    stored = await a.store.pool.fetch(
        "SELECT rows FROM drift_batches WHERE kind = 'request' ORDER BY id"
    )
    assert [r["rows"] for r in stored] == [40, 40, 40]

    # The triage on the replica that did not evaluate reads the shared history.
    fixture = Path(__file__).parent.parent / "fixtures" / "high-error-rate-firing.json"
    now = datetime.now(UTC) + timedelta(seconds=1)
    context = TriageContext(
        notification=Notification.model_validate_json(fixture.read_text()),
        target=Target(namespace=NAMESPACE, inference_service=NAME),
        alert_start=now,
        now=now,
    )
    await a.service.evaluate_all(now=ROUND_1 + INTERVAL)  # b has not refreshed since
    evidence = await b.service.collector().collect(context)
    assert isinstance(evidence, DriftEvidence) and evidence.window_rows == 100
    acidity = next(f for f in evidence.features if f.name == "acidity")
    assert acidity.drifted and acidity.drifted_since is not None
    assert acidity.drifted_since.isoformat() == evaluation["at"]  # the first of two rounds

    # On demand, on either replica; a replica started later has the whole history.
    response = await b.client.post(f"/api/drift/{NAMESPACE}/{NAME}/evaluate")
    assert response.status == 200 and (await response.json())["inputs"]["window_rows"] == 100
    late: Replica = await start_replica(settings, "late")
    assert len(late.service.monitors[KEY].history) == 3
    assert late.gauge("feature_drifted", feature="acidity") == 1.0
    text = generate_latest(late.registry).decode()
    assert (
        'triage_bot_drift_window_rows{model="wine-quality-model",namespace="models"} 100.0' in text
    )

    # The database gone: the payload logger is told to retry, never a 500.
    await b.store.close()
    response = await b.client.post(
        "/ingest/kserve", data=json.dumps(v2_request(rows(5, 12))), headers=binary_headers("x")
    )
    assert response.status == 503 and "retry later" in (await response.json())["error"]
    response = await b.client.get(f"/api/drift/{NAMESPACE}/{NAME}")
    assert response.status == 503


async def test_a_model_whose_shared_state_is_unreadable_does_not_stop_the_others(
    start_replica: Start, tmp_path: Path
) -> None:
    settings = _settings(tmp_path)
    other = settings.drift.models[0].model_copy(update={"name": "other"})
    settings = settings.model_copy(
        update={
            "drift": settings.drift.model_copy(update={"models": (other, *settings.drift.models)})
        }
    )
    a: Replica = await start_replica(settings, "a")
    for event_id, kind, body in _events(300, 31, 50):
        if kind == "request":
            await a.post(event_id, body)
            response = await a.client.post(
                "/ingest/kserve", data=json.dumps(body),
                headers=binary_headers(event_id, name="other"),
            )  # fmt: skip
            assert response.status == 200
    # A reference row of `other` that does not read back (3 bytes are no float64 rows).
    await a.store.pool.execute(
        "INSERT INTO drift_references (namespace, model, kind, names, rows, numbers, texts)"
        " VALUES ($1, 'other', 'request', $2, 200, '\\x000102'::bytea, '{}')",
        NAMESPACE, list(FEATURES),
    )  # fmt: skip
    await a.service.evaluate_all(now=ROUND_1)
    assert len(await _history(a)) == 1  # the model after the broken one was evaluated
    response = await a.client.get(f"/api/drift/{NAMESPACE}/other")
    assert (await response.json())["history"] == []
    response = await a.client.post(f"/api/drift/{NAMESPACE}/other/evaluate")
    assert response.status == 503  # named, never a 500


async def test_a_replica_dying_mid_round_leaves_the_next_round_to_the_others(
    start_replica: Start, postgres_url: str, tmp_path: Path
) -> None:
    settings = _settings(tmp_path)
    b: Replica = await start_replica(settings, "b")
    for event_id, kind, body in _events(300, 41, 50):
        await b.post(event_id, body, kind)
    # Replica a holds the round's lock (it is evaluating) when it is killed.
    a = await asyncpg.connect(postgres_url)
    try:
        assert await a.fetchval(
            "SELECT pg_try_advisory_lock(hashtextextended('triage-bot:drift-evaluations', 1))"
        )
        waiting = asyncio.create_task(b.service.evaluate_all(now=ROUND_1))
        await wait_for(
            lambda: _waiting_on_the_lock(b.store), timeout=10, interval=0.05, what="b waiting"
        )
        await b.store.pool.execute("SELECT pg_terminate_backend($1)", a.get_server_pid())
        # b stops waiting when a's connection goes, well before its 8 s wait would end
        await asyncio.wait_for(waiting, timeout=5)
    finally:
        a.terminate()
    assert await _history(b) == []  # this interval's round went with a
    await b.service.evaluate_all(now=ROUND_1 + INTERVAL)
    assert len(await _history(b)) == 1  # the lock went with a's connection: b runs the next


async def _waiting_on_the_lock(store: PostgresStore) -> bool:
    waiting = await store.pool.fetchval(
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
    )
    return bool(waiting)
