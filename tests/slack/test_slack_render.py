"""Rendering a triage as Block Kit: content, state, buttons and Slack's limits."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.model.alert import AlertStatus
from bot.model.cluster_evidence import (
    ContainerState,
    EventsEvidence,
    KubeEvent,
    LogExcerpt,
    LogsEvidence,
    PodsEvidence,
    PodState,
)
from bot.model.target import Target
from bot.slack.buttons import ButtonPayload, group_id
from bot.slack.limits import MARKER, violations
from bot.slack.render import MessageState, render_message
from tests.slack.reports import GROUP_KEY, T0, drift, events, isvc, logs, pods, report

FEEDBACK = {"tb:feedback:right", "tb:feedback:wrong"}


def all_blocks(message: dict[str, Any]) -> list[dict[str, Any]]:
    return [*message["blocks"], *(b for a in message["attachments"] for b in a["blocks"])]


def all_text(message: dict[str, Any]) -> str:
    return json.dumps(message, ensure_ascii=False)


def buttons(message: dict[str, Any]) -> dict[str, dict[str, Any]]:
    found = {}
    for block in all_blocks(message):
        if block["type"] == "actions":
            for element in block["elements"]:
                found[element["action_id"]] = element
    return found


def test_firing_message_shows_header_verdict_evidence_and_links() -> None:
    hosts = {"am", "prom", "runbooks.example"}
    message = render_message(report(isvc(), pods(), events(), drift(), logs()), link_hosts=hosts)
    header = message["blocks"][0]["text"]["text"]
    assert header.startswith("🔴 FIRING · critical · HighErrorRate · models/wine")
    verdict = message["blocks"][1]["text"]["text"]
    assert "*rollout* (80%)" in verdict and "revision 2 rolled out" in verdict
    text = all_text(message)
    assert "7 restarts" in text and "OOMKilled (exit 137)" in text
    assert "Back-off &lt;restarting&gt; &amp; failing" in text  # escaped for mrkdwn
    assert "2 of 3 features drifted" in text and "alcohol" in text
    assert "previous rolled out: wine-predictor-00001" in text
    assert "Traceback" in text and "ˋˋˋ" in text  # the fence inside the log is defused
    assert "<http://am:9093|Alertmanager>" in text
    assert "<https://runbooks.example/wine|Runbook>" in text
    assert "<http://prom:9090/graph?g0.expr=x|Graph>" in text
    assert message["attachments"][0]["color"] == "#E01E5A"
    assert message["text"].startswith("[FIRING] critical HighErrorRate on models/wine")
    assert violations(message) == []


def test_buttons_carry_typed_payloads_and_destructive_ones_confirm() -> None:
    message = render_message(report(isvc(), drift()))
    found = buttons(message)
    assert set(found) == {
        "tb:ack", "tb:silence:1h", "tb:silence:4h", "tb:silence:24h",
        "tb:rollback:wine-predictor-00001", "tb:retrain", *FEEDBACK,
    }  # fmt: skip
    rollback = found["tb:rollback:wine-predictor-00001"]
    payload = ButtonPayload.unpack(rollback["value"])
    assert payload == ButtonPayload(
        "rollback", group_id(GROUP_KEY), "models/wine", "wine-predictor-00001"
    )
    confirm = rollback["confirm"]["text"]["text"]
    assert "canaryTrafficPercent: unset → 0" in confirm
    assert "wine-predictor-00001 100%" in confirm
    assert "confirm" in found["tb:retrain"]
    assert "confirm" not in found["tb:ack"]


def test_raw_deployment_rollback_confirm_shows_the_spec_diff() -> None:
    message = render_message(report(isvc(previous="")))
    confirm = buttons(message)["tb:rollback:wine-predictor-00001"]["confirm"]["text"]["text"]
    assert "storageUri: gs://models/wine/v2 → gs://models/wine/v1" in confirm


def test_no_rollback_without_history_and_no_retrain_without_drift() -> None:
    message = render_message(report(pods(), category="infrastructure"))
    expected = {"tb:ack", "tb:silence:1h", "tb:silence:4h", "tb:silence:24h", *FEEDBACK}
    assert set(buttons(message)) == expected


def test_resolved_is_green_with_resolved_time_and_only_ack() -> None:
    message = render_message(report(isvc(), drift(), status="resolved"))
    assert message["attachments"][0]["color"] == "#2EB67D"
    assert message["blocks"][0]["text"]["text"].startswith("✅ RESOLVED")
    assert "resolved 2026-11-24 19:20 UTC" in all_text(message)
    assert set(buttons(message)) == {"tb:ack"}
    assert "➡️" not in message["blocks"][1]["text"]["text"]  # no advice once resolved


def test_state_shows_ack_silence_and_outcomes_and_hides_ack_button() -> None:
    state = MessageState(
        acknowledged_by="U1",
        acknowledged_at=T0,
        silenced_by="U2",
        silenced_until=T0 + timedelta(hours=4),
        outcomes=("rollback by U1: done",),
    )
    message = render_message(report(), state)
    text = all_text(message)
    assert "Acknowledged by <@U1> at 2026-11-24 19:00 UTC" in text
    assert "Silenced until 2026-11-24 23:00 UTC by <@U2>" in text
    assert "rollback by U1: done" in text
    assert "tb:ack" not in buttons(message)
    assert MessageState.from_json(state.to_json()) == state


def test_failed_collectors_become_notes_and_mentions_go_in_text() -> None:
    message = render_message(
        report(notes=("timeout after 3 s",)), mentions=("<!subteam^S1>", "<@U9>")
    )
    assert "collector 0: timeout after 3 s" in all_text(message)
    assert message["text"].startswith("<!subteam^S1> <@U9> [FIRING]")


def test_no_workload_means_no_buttons_that_need_one() -> None:
    message = render_message(report(drift(), target=Target(), category="data-drift"))
    assert "tb:retrain" not in buttons(message)
    assert ButtonPayload.unpack(buttons(message)["tb:ack"]["value"]).target == ""


def test_long_texts_are_truncated_with_a_visible_marker() -> None:
    long = "x" * 5000
    big = report(
        logs(),
        alertname="A" * 400,
        verdict=report().verdict.__class__("unknown", 0.0, long, (long,)),
        notes=tuple(long for _ in range(3)),
    )
    message = render_message(big)
    assert violations(message) == []
    assert message["blocks"][0]["text"]["text"].endswith(MARKER)
    assert message["blocks"][1]["text"]["text"].endswith(MARKER)


def test_too_many_sections_are_cut_to_fifty_blocks_with_a_note() -> None:
    many = [events() for _ in range(80)]
    message = render_message(report(*many))
    assert len(all_blocks(message)) == 50
    assert "more evidence sections not shown" in all_text(message)
    assert violations(message) == []


@pytest.mark.parametrize(
    ("severity", "color"), [("critical", "#E01E5A"), ("warning", "#ECB22E"), ("info", "#36C5F0")]
)
def test_color_follows_severity(severity: str, color: str) -> None:
    assert render_message(report(severity=severity))["attachments"][0]["color"] == color


texts = st.text(min_size=0, max_size=4000)
names = st.text(min_size=1, max_size=300)


@st.composite
def evidence_lists(draw: st.DrawFn) -> list[Any]:
    pod_list = draw(
        st.lists(
            st.builds(
                PodState,
                name=names,
                phase=texts,
                ready=st.booleans(),
                containers=st.lists(
                    st.builds(
                        ContainerState,
                        name=names,
                        ready=st.booleans(),
                        restart_count=st.integers(0, 10**6),
                        waiting_reason=texts,
                    ),
                    max_size=3,
                ).map(tuple),
            ),
            max_size=30,
        )
    )
    event_list = draw(
        st.lists(
            st.builds(KubeEvent, reason=names, message=texts, object_kind=names, object_name=names),
            max_size=30,
        )  # fmt: skip
    )
    log_lines = draw(st.lists(texts, max_size=30))
    result: list[Any] = [PodsEvidence(pods=tuple(pod_list)), EventsEvidence(tuple(event_list))]
    result.append(LogsEvidence((LogExcerpt("p", "c", False, tuple(log_lines), 1, True),)))
    result += [events() for _ in range(draw(st.integers(0, 60)))]
    return result


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    evidence=evidence_lists(),
    alertname=texts,
    summary=texts,
    notes=st.lists(texts, max_size=5),
    namespace=st.from_regex(r"[a-z0-9-]{1,63}", fullmatch=True),
    name=st.from_regex(r"[a-z0-9.-]{1,253}", fullmatch=True),
    status=st.sampled_from(["firing", "resolved"]),
    state=st.builds(
        MessageState,
        acknowledged_by=st.text(max_size=30),
        outcomes=st.lists(texts, max_size=8).map(tuple),
    ),  # fmt: skip
)
def test_limits_always_hold(
    evidence: list[Any],
    alertname: str,
    summary: str,
    notes: list[str],
    namespace: str,
    name: str,
    status: AlertStatus,
    state: MessageState,
) -> None:
    base = report()
    r = report(
        *evidence,
        isvc(),
        drift(),
        status=status,
        alertname=alertname,
        notes=tuple(notes),
        target=Target(namespace, name, model=name),
        verdict=base.verdict.__class__("rollout", 0.5, summary, (summary,), summary),
    )
    message = render_message(r, state, mentions=("<@U1>",))
    assert violations(message) == []
    json.dumps(message)
