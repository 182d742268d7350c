"""`POST /alertmanager` as Alertmanager sees it: every status code the endpoint answers."""

from __future__ import annotations

import asyncio
import copy
import io
import json
from typing import Any

from bot.model.collector import TriageContext
from bot.model.results import AnyEvidence

from .conftest import AUTH, TOKEN, AppFactory, load_fixture, triages_when


async def test_accepts_fixture_and_prints_triage(service: AppFactory) -> None:
    client, console = await service()
    body = load_fixture("high-error-rate-firing.json")
    response = await client.post("/alertmanager", json=body, headers=AUTH)
    assert response.status == 200
    assert (await response.json())["status"] == "accepted"
    out = await console.wait_for("[FIRING]")
    assert "HighErrorRate on models/wine-quality-model" in out
    assert "verdict: unknown" in out


async def test_exact_resend_is_a_duplicate_and_triaged_once(service: AppFactory) -> None:
    client, console = await service()
    body = load_fixture("high-error-rate-firing.json")
    first = await client.post("/alertmanager", json=body, headers=AUTH)
    again = await client.post("/alertmanager", json=body, headers=AUTH)
    assert first.status == again.status == 200
    assert (await again.json()) == {"status": "duplicate"}
    # A different group sent after it is triaged after anything queued before it: once it
    # is out, a second triage of the duplicate would have been too.
    later = load_fixture("high-error-rate-firing.json")
    later["groupKey"] = '{}:{alertname="HighErrorRate", group="later"}'
    later["alerts"][0]["fingerprint"] = "1a7e000000000000"
    assert (await client.post("/alertmanager", json=later, headers=AUTH)).status == 200
    await triages_when(client, lambda rows: any("later" in row["group_key"] for row in rows))
    assert console.getvalue().count("[FIRING]") == 2
    metrics = await (await client.get("/metrics")).text()
    assert 'triage_bot_webhooks_total{outcome="duplicate"} 1.0' in metrics


async def test_ha_peers_resend_with_alerts_reordered_is_a_duplicate(service: AppFactory) -> None:
    client, _ = await service()
    body = _group_of(3)
    reordered = copy.deepcopy(body)
    reordered["alerts"].reverse()
    assert (await client.post("/alertmanager", json=body, headers=AUTH)).status == 200
    second = await client.post("/alertmanager", json=reordered, headers=AUTH)
    assert (await second.json())["status"] == "duplicate"


async def test_concurrent_duplicates_store_one_notification(service: AppFactory) -> None:
    client, console = await service()
    body = load_fixture("high-error-rate-firing.json")
    answers = await asyncio.gather(
        *(client.post("/alertmanager", json=body, headers=AUTH) for _ in range(10))
    )
    statuses = sorted([(await a.json())["status"] for a in answers])
    assert statuses == ["accepted"] + ["duplicate"] * 9
    await console.wait_for("[FIRING]")


async def test_resolved_updates_the_same_triage(service: AppFactory) -> None:
    client, console = await service()
    await client.post(
        "/alertmanager", json=load_fixture("high-error-rate-firing.json"), headers=AUTH
    )
    await console.wait_for("[FIRING]")
    resolved = load_fixture("high-error-rate-resolved.json")
    assert (await client.post("/alertmanager", json=resolved, headers=AUTH)).status == 200
    out = await console.wait_for("[RESOLVED]")
    assert "change: resolved" in out
    triages = await triages_when(client, lambda t: bool(t) and t[0]["status"] == "resolved")
    assert len(triages) == 1
    assert triages[0]["status"] == "resolved"
    assert triages[0]["notifications"] == 2
    assert triages[0]["resolved_at"] is not None


async def test_new_alert_in_group_is_an_update(service: AppFactory) -> None:
    client, console = await service()
    await client.post("/alertmanager", json=_group_of(1), headers=AUTH)
    await console.wait_for("[FIRING]")
    await client.post("/alertmanager", json=_group_of(2), headers=AUTH)
    out = await console.wait_for("[FIRING]", count=2)
    assert "change: update: 1 new alert firing" in out


async def test_two_hundred_alert_group(service: AppFactory) -> None:
    client, console = await service()
    body = _group_of(200, truncated=17)
    response = await client.post("/alertmanager", json=body, headers=AUTH)
    assert response.status == 200
    out = await console.wait_for("[FIRING]")
    assert "(217 alerts (17 truncated by Alertmanager, not shown))" in out
    assert "… and 190 more" in out
    triage = (await triages_when(client, bool))[0]
    assert triage["alert_count"] == 217
    assert triage["truncated_alerts"] == 17


async def test_missing_token_is_401(service: AppFactory) -> None:
    client, _ = await service()
    body = load_fixture("high-error-rate-firing.json")
    response = await client.post("/alertmanager", json=body)
    assert response.status == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert "bearer token" in (await response.json())["error"]


async def test_wrong_token_and_wrong_scheme_are_401(service: AppFactory) -> None:
    client, _ = await service()
    body = load_fixture("high-error-rate-firing.json")
    for header in (f"Bearer {TOKEN}x", f"Basic {TOKEN}", TOKEN, "Bearer "):
        response = await client.post("/alertmanager", json=body, headers={"Authorization": header})
        assert response.status == 401, header


async def test_no_token_configured_accepts_without_auth(service: AppFactory) -> None:
    client, _ = await service(webhook_token=None)
    body = load_fixture("high-error-rate-firing.json")
    assert (await client.post("/alertmanager", json=body)).status == 200


async def test_wrong_content_type_is_415(service: AppFactory) -> None:
    client, _ = await service()
    body = json.dumps(load_fixture("high-error-rate-firing.json"))
    headers = {"Authorization": AUTH["Authorization"], "Content-Type": "text/plain"}
    response = await client.post("/alertmanager", data=body, headers=headers)
    assert response.status == 415
    assert "application/json" in (await response.json())["error"]


async def test_oversized_body_is_413_by_length_and_by_stream(service: AppFactory) -> None:
    client, _ = await service(max_body_bytes=2048)
    big = _group_of(40)
    response = await client.post("/alertmanager", json=big, headers=AUTH)
    assert response.status == 413
    assert "2048" in (await response.json())["error"]

    async def chunks() -> Any:  # no Content-Length: the limit must hold while streaming
        payload = json.dumps(big).encode()
        for i in range(0, len(payload), 512):
            yield payload[i : i + 512]

    streamed = await client.post("/alertmanager", data=chunks(), headers=AUTH)
    assert streamed.status == 413


async def test_malformed_json_is_400(service: AppFactory) -> None:
    client, _ = await service()
    for raw in ('{"version": "4",', "not json", "\xff\xfe", ""):
        response = await client.post("/alertmanager", data=raw.encode("latin-1"), headers=AUTH)
        assert response.status == 400, raw
        assert "not valid JSON" in (await response.json())["error"]


async def test_wrong_shape_is_422_naming_the_field(service: AppFactory) -> None:
    client, _ = await service()
    cases: list[tuple[Any, str]] = [
        ([1, 2], "JSON object"),
        ({**load_fixture("high-error-rate-firing.json"), "version": "3"}, "version"),
        ({**load_fixture("high-error-rate-firing.json"), "alerts": []}, "alerts"),
        ({**load_fixture("high-error-rate-firing.json"), "truncatedAlerts": -1}, "truncatedAlerts"),
        (_without_alert_field("startsAt"), "alerts.0.startsAt"),
        (_with_alert_field("status", "pending"), "alerts.0.status"),
    ]
    for body, field in cases:
        response = await client.post("/alertmanager", json=body, headers=AUTH)
        assert response.status == 422, field
        assert field in (await response.json())["error"], field


async def test_full_queue_is_503_with_retry_after_and_nothing_lost(service: AppFactory) -> None:
    gate = _Gate()
    # Room for two notifications by id alone (279 bytes each with these group keys): their
    # bodies do not fit, so the worker reads them back from the store.
    budget = 600 / (1024 * 1024)
    client, console = await service(collectors=(gate,), queue_memory_mib=budget, triage_workers=1)
    # The worker takes the first at once and blocks in the gate (it still counts: not yet
    # triaged); the second fills the last room and the third overflows.
    assert (await client.post("/alertmanager", json=_group_of(1, "a"), headers=AUTH)).status == 200
    await gate.entered.wait()
    assert (await client.post("/alertmanager", json=_group_of(1, "b"), headers=AUTH)).status == 200
    full = await client.post("/alertmanager", json=_group_of(1, "c"), headers=AUTH)
    assert full.status == 503
    assert "queue_memory_mib" in (await full.json())["error"]
    assert full.headers["Retry-After"].isdigit()
    gate.release.set()
    await console.wait_for("[FIRING]", count=2)
    retried = await client.post("/alertmanager", json=_group_of(1, "c"), headers=AUTH)
    assert retried.status == 200, "a refused notification is not remembered as a duplicate"
    await console.wait_for("[FIRING]", count=3)


async def test_triages_api_validates_limit(service: AppFactory) -> None:
    client, _ = await service()
    assert (await client.get("/api/triages?limit=0")).status == 400
    assert (await client.get("/api/triages?limit=abc")).status == 400
    assert (await client.get("/api/triages?limit=9999")).status == 400
    ok = await client.get("/api/triages?limit=5")
    assert ok.status == 200
    assert (await ok.json()) == {"triages": []}


async def test_triages_newest_first(service: AppFactory) -> None:
    client, console = await service()
    for name in ("first", "second", "third"):
        await client.post("/alertmanager", json=_group_of(1, name), headers=AUTH)
        await console.wait_for(f"Alert{name}")
    triages = await triages_when(client, lambda t: len(t) == 3)
    assert [t["alertname"] for t in triages] == ["Alertthird", "Alertsecond", "Alertfirst"]
    assert set(triages[0]) >= {"group_key", "status", "alert_count", "verdict", "updated_at"}


async def test_health_ready_and_metrics(service: AppFactory) -> None:
    client, console = await service()
    assert (await (await client.get("/healthz")).json()) == {"status": "ok"}
    assert (await (await client.get("/readyz")).json()) == {"ready": True}
    await client.post(
        "/alertmanager", json=load_fixture("high-error-rate-firing.json"), headers=AUTH
    )
    await console.wait_for("[FIRING]")
    text = await (await client.get("/metrics")).text()
    assert 'triage_bot_webhooks_total{outcome="accepted"} 1.0' in text
    assert "triage_bot_triage_duration_seconds_count 1.0" in text
    assert "triage_bot_queue_depth" in text


async def test_slow_collector_leaves_a_note_and_the_triage_still_goes_out(
    service: AppFactory,
) -> None:
    gate = _Gate(name="Slow thing", timeout=0.2)
    client, console = await service(collectors=(gate,))
    await client.post(
        "/alertmanager", json=load_fixture("high-error-rate-firing.json"), headers=AUTH
    )
    out = await console.wait_for("[FIRING]")
    assert "note: Slow thing: timeout after 0.2 s" in out


# --- helpers -----------------------------------------------------------------------------


class _Gate:
    """A collector that waits until the test lets it go (or its own timeout)."""

    def __init__(self, name: str = "Gate", timeout: float = 30.0) -> None:
        self.name = name
        self.timeout = timeout
        self.entered = asyncio.Event()
        self.release = asyncio.Event()

    async def collect(self, context: TriageContext) -> AnyEvidence | None:
        self.entered.set()
        await self.release.wait()
        return None


def _group_of(count: int, name: str = "HighErrorRate", truncated: int = 0) -> dict[str, Any]:
    body = load_fixture("high-error-rate-firing.json")
    template = body["alerts"][0]
    alertname = name if name == "HighErrorRate" else f"Alert{name}"
    body["alerts"] = [
        {
            **template,
            "labels": {**template["labels"], "alertname": alertname, "pod": f"pod-{i}"},
            "fingerprint": f"{hash((name, i)) & 0xFFFFFFFF:08x}{i:08x}",
        }
        for i in range(count)
    ]
    body["commonLabels"] = {**body["commonLabels"], "alertname": alertname}
    body["groupLabels"] = {**body["groupLabels"], "alertname": alertname}
    body["groupKey"] = f'{{}}:{{alertname="{alertname}"}}'
    body["truncatedAlerts"] = truncated
    return body


def _without_alert_field(field: str) -> dict[str, Any]:
    body = load_fixture("high-error-rate-firing.json")
    del body["alerts"][0][field]
    return body


def _with_alert_field(field: str, value: Any) -> dict[str, Any]:
    body = load_fixture("high-error-rate-firing.json")
    body["alerts"][0][field] = value
    return body


async def test_api_token_guards_the_json_api_and_feedback(service: AppFactory) -> None:
    client, _ = await service(api_token="api-secret")
    bearer = {"Authorization": "Bearer api-secret"}
    for method, path in (
        ("GET", "/api/triages"),
        ("GET", "/api/audit"),
        ("GET", "/api/drift"),
        ("POST", "/ingest/feedback"),
    ):
        refused = await client.request(method, path)
        assert refused.status == 401, path
        assert "TRIAGE_BOT_API_TOKEN" in (await refused.json())["error"]
        wrong = await client.request(method, path, headers={"Authorization": "Bearer nope"})
        assert wrong.status == 401, path
    assert (await client.get("/api/triages", headers=bearer)).status == 200
    # The payload logger sends no credentials: the NetworkPolicy decides who posts here.
    assert (await client.post("/ingest/kserve")).status not in (401, 403)
    # Probes, metrics and the webhook keep their own rules.
    assert (await client.get("/healthz")).status == 200
    assert (await client.get("/metrics")).status == 200
    body = load_fixture("high-error-rate-firing.json")
    assert (await client.post("/alertmanager", json=body, headers=AUTH)).status == 200


async def test_body_over_a_mebibyte_within_the_limit_is_accepted(service: AppFactory) -> None:
    # aiohttp's own 1 MiB request limit must not undercut max_body_bytes (8 MiB).
    client, console = await service()
    body = _group_of(1)
    body["commonAnnotations"] = {"description": "x" * (2 * 1024 * 1024)}
    payload = io.BytesIO(json.dumps(body).encode())
    response = await client.post("/alertmanager", data=payload, headers=AUTH)
    assert response.status == 200, await response.text()
    await console.wait_for("[FIRING]")
