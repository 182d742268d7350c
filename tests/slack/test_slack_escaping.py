"""Nothing from an alert, a log or a Job can mention anyone or disguise a link.

A table of hostile inputs put in every field a message renders, and a hypothesis property
over the same fields: no text object and no fallback `text` contains `<!`, `<@`, `<#` or
`<http` that came from input; links appear only for the configured hosts.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.model.cluster_evidence import (
    Condition,
    ContainerState,
    EventsEvidence,
    KubeEvent,
    LogExcerpt,
    LogsEvidence,
    PodsEvidence,
    PodState,
)
from bot.model.evidence import Verdict
from bot.model.kserve_evidence import InferenceServiceEvidence, Revision
from bot.model.report import TriageReport
from bot.model.signal_evidence import DriftEvidence, FeatureDrift, MetricsEvidence, Series
from bot.model.target import Target
from bot.slack.mrkdwn import escape, link, plain, trusted_hosts
from bot.slack.render import MessageState, fallback_text, render_message
from tests.slack.reports import T0, alert, isvc, report

INJECTIONS = [
    "<!channel> X",
    "<!here>",
    "<!everyone|all>",
    "<@U123ABC>",
    "<#C123|general>",
    "<!subteam^S1>",
    "<https://evil.example|Reset your SSO password>",
    "<http://evil.example>",
    "&lt;!channel&gt;",  # already an entity: must stay text, not become a mention
    "a > b < c & d",
    "```<!channel>```",
    "`<@U1>`",
    "*bold* _it_ ~s~ <mailto:x@y|mail>",
]
FORBIDDEN = ("<!", "<@", "<#", "<http", "<mailto")


def hostile_report(bad: str) -> TriageReport:
    """A report with `bad` in every string a message can show."""
    container = ContainerState(bad, False, 3, bad, bad, bad, 1, bad)
    pods = PodsEvidence(pods=(PodState(bad, bad, False, bad, containers=(container,)),))
    events = EventsEvidence(events=(KubeEvent(bad, bad, bad, bad, 2),))
    logs = LogsEvidence(excerpts=(LogExcerpt(bad, bad, True, (bad, bad), 2, True),))
    metrics = MetricsEvidence(
        expression=bad, series=(Series({"pod": bad, bad: bad}, ((1.0, 2.0),)),), notes=(bad,)
    )
    drift = DriftEvidence(model=bad, window_rows=10, features=(FeatureDrift(bad, bad, 1, 0, True),))
    isvc = InferenceServiceEvidence(
        name=bad,
        namespace=bad,
        ready=False,
        conditions=(Condition(bad, "False", bad, bad),),
        latest_ready_revision=bad,
        latest_created_revision=bad,
        previous_rolledout_revision=bad,
        storage_uri=bad,
        revisions=(Revision(bad, T0, False, bad, bad), Revision(bad + "1", T0, True, bad, bad)),
    )
    verdict = Verdict("rollout", 0.5, bad, (bad,), bad, "rollback")
    line = replace(alert(), name=bad, severity=bad, summary=bad, generator_url=bad)
    return report(
        isvc,
        pods,
        events,
        logs,
        metrics,
        drift,
        notes=(bad,),
        alertname=bad,
        severity=bad,
        target=Target(bad, bad, bad, bad, bad),
        alerts=(line,),
        verdict=verdict,
        external_url=bad,
        common_labels={"alertname": bad, bad: bad},
        common_annotations={"runbook_url": bad, "description": bad},
    )


def texts(message: Any) -> Iterator[str]:
    """Every string Slack shows or parses: `text` values at any depth (text objects, the
    fallback, confirm dialogs), not button values or ids."""
    if isinstance(message, dict):
        for key, value in message.items():
            if key == "text" and isinstance(value, str):
                yield value
            else:
                yield from texts(value)
    elif isinstance(message, list):
        for item in message:
            yield from texts(item)


def assert_inert(message: dict[str, Any]) -> None:
    shown = list(texts(message))
    assert shown, "nothing rendered"
    for text in shown:
        for bad in FORBIDDEN:
            assert bad not in text, (bad, text)


@pytest.mark.parametrize("bad", INJECTIONS)
def test_every_rendered_field_is_escaped(bad: str) -> None:
    state = MessageState(acknowledged_by=bad, outcomes=(bad,))
    message = render_message(hostile_report(bad), state)
    assert_inert(message)
    assert not any("Rendering problems" in t for t in texts(message))  # every part shown
    assert_inert({"text": fallback_text(hostile_report(bad))})


def test_log_lines_in_code_blocks_are_escaped() -> None:
    bad = "<!channel> <https://evil.example|Reset your SSO password>"
    message = render_message(hostile_report(bad))
    code = [t for t in texts(message) if "```" in t]
    assert code and all("&lt;!channel&gt;" in t for t in code)


def test_links_only_to_configured_hosts_others_as_code() -> None:
    r = report()
    r = replace(
        r,
        alerts=(replace(alert(), generator_url="https://prom.corp/graph?g0.expr=a>b&x=1"),),
        external_url="http://am:9093",
        common_annotations={"runbook_url": "https://evil.example/sso"},
    )
    hosts = trusted_hosts(["https://prom.corp"], ["am"])
    shown = " ".join(texts(render_message(r, link_hosts=hosts)))
    assert "<https://prom.corp/graph?g0.expr=a%3Eb&amp;x=1|Graph>" in shown
    assert "<http://am:9093|Alertmanager>" in shown
    assert "<https://evil" not in shown
    assert "Runbook (not linked): `https://evil.example/sso`" in shown


@pytest.mark.parametrize(
    ("url", "linked"),
    [
        ("https://ok.example/a", True),
        ("HTTPS://OK.EXAMPLE/a", True),
        ("javascript:alert(1)", False),
        ("ftp://ok.example/a", False),
        ("https://ok.example.evil.example/", False),
        ("https://evil.example/@ok.example", False),
        ("https://ok.example@evil.example/", False),
        ("https://ok.example/" + "a" * 2000, False),
        ("https://ok.example/a|Reset>", True),
    ],
)
def test_link_policy(url: str, linked: bool) -> None:
    made = link(url, "Runbook", {"ok.example"})
    assert made.startswith("<") is linked
    if linked:
        assert made.count("|") == 1 and made.count(">") == 1 and made.endswith("|Runbook>")


def test_plain_text_cannot_open_markup() -> None:
    assert plain("<!channel>") == "‹!channel›"
    assert escape("<a & b>") == "&lt;a &amp; b&gt;"


SNIPPETS = st.sampled_from(INJECTIONS)
HOSTILE = st.lists(st.one_of(SNIPPETS, st.text(max_size=12)), min_size=1, max_size=4).map("".join)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(bad=HOSTILE)
def test_no_input_ever_becomes_a_mention_or_a_link(bad: str) -> None:
    message = render_message(hostile_report(bad), MessageState(outcomes=(bad,)))
    assert_inert(message)
    json.dumps(message)  # still serialisable whatever the input


def test_a_part_that_fails_to_render_is_left_out_with_a_note() -> None:
    bad_statistic: Any = "x"  # a statistic that is no number: its part cannot render
    broken = DriftEvidence(
        model="m", window_rows=1, features=(FeatureDrift("f", "ks", bad_statistic, 0, True),)
    )
    message = render_message(report(broken, hostile_report("x").results[1].evidence))  # type: ignore[arg-type]
    shown = "\n".join(texts(message))
    assert "Rendering problems" in shown and "the drift evidence could not be shown" in shown
    assert "Pods (1)" in shown  # the other evidence is still there
    assert message["blocks"][0]["type"] == "header"


def test_a_button_that_cannot_be_made_costs_only_that_button() -> None:
    bad = replace(isvc(), previous_rolledout_revision="rev\x07")  # no button carries \x07
    message = render_message(report(bad))
    shown = "\n".join(texts(message))
    assert "the rollback button could not be shown" in shown
    ids = [
        e["action_id"]
        for b in message["attachments"][0]["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
    ]
    assert "tb:ack" in ids and not any(i.startswith("tb:rollback") for i in ids)
