"""Authorization rules, the run ledger, Job names and rollback plans (no network)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.actions.authz import Authorizer
from bot.actions.base import ActionError
from bot.actions.jobs import build_job, job_name
from bot.actions.ledger import Ledger
from bot.actions.plan import image_tag, plan_from_evidence, plan_from_status
from bot.config_sections.slack import ActionRule
from bot.model.kserve_evidence import InferenceServiceEvidence, Revision
from bot.store.sqlite import Store
from tests.actions.objects import JOB_TEMPLATE, request

GROUPS = {"S-ML": frozenset({"U5"})}


async def members(group: str) -> frozenset[str]:
    return GROUPS.get(group, frozenset())


RULES = (
    ActionRule(actions=("rollback", "retrain"), namespaces=("prod-*",), users=("U1", "S-ML")),
    ActionRule(actions=("*",), namespaces=("staging",), users=("U2",)),
)


@pytest.mark.parametrize(
    ("allowed", "rules", "user", "action", "namespace", "ok"),
    [
        ([], (), "U1", "ack", "models", False),  # nothing configured: nobody
        (["U1"], (), "U1", "rollback", "models", True),  # the list alone
        (["U1"], (), "U2", "ack", "models", False),
        ([], RULES, "U1", "rollback", "prod-eu", True),
        ([], RULES, "U5", "retrain", "prod-us", True),  # through the user group
        ([], RULES, "U6", "rollback", "prod-eu", False),
        ([], RULES, "U1", "silence", "prod-eu", False),  # no rule covers it, no list
        ([], RULES, "U2", "silence", "staging", True),
        ([], RULES, "U1", "ack", "staging", False),  # a covering rule does not name U1
        (["U1", "U2"], RULES, "U2", "rollback", "prod-eu", False),  # rules narrow the list
        (["U1"], RULES, "U5", "rollback", "prod-eu", False),  # the list gates everything
        (["U1", "U3"], RULES, "U3", "ack", "models", True),  # uncovered: the list decides
    ],
)
async def test_authorization(
    allowed: list[str], rules: tuple[ActionRule, ...], user: str, action: str, namespace: str,
    ok: bool,
) -> None:  # fmt: skip
    decision = await Authorizer(allowed, rules, members).check(user, action, namespace)
    assert decision.allowed is ok, decision.reason


@pytest.fixture
async def ledger(store: Store) -> Ledger:
    ready = Ledger(store)
    await ready.ensure()
    return ready


async def test_ledger_runs_once_and_one_action_per_model(store: Store, ledger: Ledger) -> None:
    now = datetime(2026, 11, 24, tzinfo=UTC)
    assert (await ledger.claim("k1", "models/wine", "rollback", "U1", now)).kind == "claimed"
    again = await ledger.claim("k1", "models/wine", "rollback", "U2", now)
    assert (again.kind, again.user_id, again.status) == ("duplicate", "U1", "running")
    busy = await ledger.claim("k2", "models/wine", "retrain", "U2", now)
    assert (busy.kind, busy.action) == ("busy", "rollback")
    assert (await ledger.claim("k3", "models/other", "retrain", "U2", now)).kind == "claimed"
    await ledger.finish("k1", True, "rolled back")
    done = await ledger.claim("k1", "models/wine", "rollback", "U2", now)
    assert (done.kind, done.result) == ("duplicate", "rolled back")
    assert (await ledger.claim("k2", "models/wine", "retrain", "U2", now)).kind == "claimed"
    await ledger.finish("k2", False, "boom")  # a failed run may be tried again
    assert (await ledger.claim("k2", "models/wine", "retrain", "U2", now)).kind == "claimed"
    await ledger.finish("k2", True, "silenced", valid_until=now + timedelta(hours=1))
    later = now + timedelta(hours=2)  # a done run with an end counts only until then
    assert (await ledger.claim("k2", "models/wine", "retrain", "U2", later)).kind == "claimed"
    # A crash leaves k2 running; the next start marks it interrupted and frees the model.
    await Ledger(store).ensure()
    assert (await ledger.claim("k4", "models/wine", "ack", "U2", later)).kind == "claimed"


def test_job_name_is_deterministic_and_a_dns_label() -> None:
    first, again = job_name(request("retrain")), job_name(request("retrain", user="U9"))
    assert first == again and first.startswith("retrain-wine-") and len(first) <= 63
    later = request("retrain")
    other = type(later)(**{**later.__dict__, "name": "Very_Long.Model" * 10})
    name = job_name(other)
    assert len(name) <= 63 and name.replace("-", "").isalnum() and name == name.lower()


def test_build_job_refuses_other_kinds_and_empty_templates() -> None:
    with pytest.raises(ActionError, match="not a Job"):
        build_job({"kind": "Deployment"}, request("retrain"))
    with pytest.raises(ActionError, match="no containers"):
        build_job({"kind": "Job", "spec": {}}, request("retrain"))
    job = build_job(JOB_TEMPLATE, request("retrain"))
    assert JOB_TEMPLATE["spec"]["template"]["spec"]["containers"][0]["env"][0]["value"] == "stale"
    assert job["metadata"]["namespace"] == "models"


@pytest.mark.parametrize(
    ("image", "tag"),
    [("kserve/sklearnserver:v0.14.0", "v0.14.0"), ("reg:5000/x/y:1.2@sha256:ab", "1.2"),
     ("reg:5000/x/y", ""), ("y", "")],
)  # fmt: skip
def test_image_tag(image: str, tag: str) -> None:
    assert image_tag(image) == tag


def test_spec_plan_skips_failed_and_identical_revisions() -> None:
    t = datetime(2026, 11, 24, tzinfo=UTC)
    revisions = (
        Revision("r3", t, False, "s3://m/v3", "srv:1.3"),
        Revision("r2", t - timedelta(days=1), False, "s3://m/v2", "srv:1.3"),  # failed too
        Revision("r1b", t - timedelta(days=2), True, "s3://m/v3", "srv:1.3"),  # same as now
        Revision("r1", t - timedelta(days=3), True, "s3://m/v1", "srv:1.2"),
    )
    isvc = InferenceServiceEvidence("m", "ns", False, revisions=revisions)
    plan = plan_from_evidence(isvc)
    assert plan is not None and plan.to_revision == "r1"
    model = {"storageUri": "s3://m/v1", "runtimeVersion": "1.2"}
    assert plan.patch() == {"spec": {"predictor": {"model": model}}}
    assert plan_from_evidence(InferenceServiceEvidence("m", "ns", True)) is None


def test_live_plan_reads_null_fields_as_missing() -> None:
    assert plan_from_status({"spec": None, "status": {"components": None}}) is None
    live = {"spec": {"predictor": {"model": None}}, "status": None}
    revisions = [Revision("r2", datetime(2026, 11, 24, tzinfo=UTC), True, "s3://m/v2"),
                 Revision("r1", datetime(2026, 11, 23, tzinfo=UTC), True, "s3://m/v1")]  # fmt: skip
    plan = plan_from_status(live, revisions)
    assert plan is not None and plan.to_revision == "r1"


async def test_acknowledging_never_waits_for_a_rollback(ledger: Ledger) -> None:
    now = datetime(2026, 11, 24, tzinfo=UTC)
    assert (await ledger.claim("k1", "models/wine", "rollback", "U1", now)).kind == "claimed"
    ack = await ledger.claim("k2", "models/wine", "ack", "U2", now, exclusive=False)
    assert ack.kind == "claimed"
    retrain = await ledger.claim("k3", "models/wine", "retrain", "U2", now)
    assert (retrain.kind, retrain.action) == ("busy", "rollback")
