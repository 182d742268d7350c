"""Property: a secret planted in any string of any evidence never leaves the pipeline.

The evidence is generated from the evidence types themselves (every registered kind,
whatever fields it has, nested values included), a secret of one of the shapes is planted
inside one of its strings, and a small in-process collector hands it to the real
`Pipeline` with the real verdict. What would leave the process is checked: the report as
stored (`to_dict` as JSON), the console text and the Slack message.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import traceback
import types
import typing
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from bot.logs import TextFormatter
from bot.model.alert import Notification
from bot.model.collector import CollectorError, TriageContext
from bot.model.results import AnyEvidence
from bot.notify.text import render_text
from bot.slack.render import render_message
from bot.triage.pipeline import Pipeline
from bot.triage.verdict import decide

NOTIFICATION = Notification.model_validate_json(
    (Path(__file__).parent / "fixtures" / "high-error-rate-firing.json").read_text()
)

# (template, prefix): the planted text is template.format(prefix + random part); the
# random part (12+ letters and digits, so it cannot occur by chance) must not come out.
SHAPES = [
    ("password={}", ""),
    ('{{"name": "DB_PASSWORD", "value": "{}"}}', ""),
    ("- name: HF_TOKEN\n  value: {}", ""),
    ("DB_PASSWORD:  {}", ""),
    ("MYSQL_ROOT_PASSWORD {}", ""),
    ("postgresql://svc:{}@feast-db:5432/f", "p@ss"),
    ('\\"password\\": \\"{}\\"', ""),
    ("--password {}", ""),
    ("--api-key={}", ""),
    ("https://hooks.slack.com/services/T0/B0/{}", ""),
    ("{}", "hf_"),
    ("{}", "sk_live_"),
    ("{}", "github_pat_"),
    ("{}", "glpat-"),
    ("{}", "sk-proj-"),
    ("{}", "npm_"),
    ("Authorization: ApiKey {}", ""),
    ("Authorization: Bearer {}", ""),
    ("client_secret%3D{}", ""),
    ("the password was {}", ""),
    ("X-Api-Key: {}", ""),
    ("token: {}", ""),
    ('"auth": "{}"', ""),
    ("sig={}", ""),
]

_SECRET_CHARS = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
_SECRET_CHARS = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
_TEXT = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=30)
_WHEN = st.datetimes(
    min_value=datetime(2026, 1, 1),  # noqa: DTZ001 (hypothesis wants naive bounds)
    max_value=datetime(2027, 1, 1),  # noqa: DTZ001
    timezones=st.just(UTC),
)


def _strategy(hint: Any) -> st.SearchStrategy[Any]:
    """Values of a field's type; dataclasses field by field, so new fields are covered."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        return st.one_of(*(_strategy(a) for a in args))
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            return st.lists(_strategy(args[0]), max_size=3).map(tuple)
        return st.tuples(*(_strategy(a) for a in args))
    if origin in (list, set, frozenset):
        return st.lists(_strategy(args[0]), max_size=3).map(origin)
    if origin is dict:
        return st.dictionaries(_strategy(args[0]), _strategy(args[1]), max_size=3)
    if hint is type(None):
        return st.none()
    if hint is str:
        return _TEXT
    if hint is bool:
        return st.booleans()
    if hint is int:
        return st.integers(0, 10_000)
    if hint is float:
        return st.floats(0, 1e6)
    if hint is datetime:
        return _WHEN
    if dataclasses.is_dataclass(hint):
        return _dataclass(hint)
    return st.from_type(hint)


def _dataclass(cls: Any) -> st.SearchStrategy[Any]:
    hints = typing.get_type_hints(cls)
    fields = {f.name: _strategy(hints[f.name]) for f in dataclasses.fields(cls) if f.init}
    return st.builds(cls, **fields)


KINDS: tuple[type[Any], ...] = typing.get_args(typing.get_args(AnyEvidence)[0])  # the union


def _strings(value: Any) -> int:
    """How many strings `_plant` can reach in `value`."""
    if isinstance(value, str):
        return 1
    if dataclasses.is_dataclass(value):
        fields = dataclasses.fields(value)  # the ones `_plant` rebuilds: not the `kind` tag
        return sum(_strings(getattr(value, f.name)) for f in fields if f.init)
    if isinstance(value, dict):
        return sum(_strings(k) + _strings(v) for k, v in value.items())
    if isinstance(value, tuple | list):
        return sum(_strings(item) for item in value)
    return 0


def _plant(value: Any, index: list[int], put: Any) -> Any:
    """`value` with its index[0]-th string replaced by `put(string)`."""
    if isinstance(value, str):
        index[0] -= 1
        return put(value) if index[0] == -1 else value
    if dataclasses.is_dataclass(value):
        changes = {
            f.name: _plant(getattr(value, f.name), index, put)
            for f in dataclasses.fields(value)
            if f.init
        }
        return dataclasses.replace(value, **changes)  # type: ignore[type-var]
    if isinstance(value, dict):
        return {_plant(k, index, put): _plant(v, index, put) for k, v in value.items()}
    if isinstance(value, tuple | list):
        return type(value)(_plant(item, index, put) for item in value)
    return value


@dataclasses.dataclass
class Planted:
    """A collector that returns the evidence it was given."""

    evidence: AnyEvidence
    name: str = "planted"
    timeout: float = 5.0

    async def collect(self, context: TriageContext) -> AnyEvidence | None:
        return self.evidence


@st.composite
def planted_evidence(draw: st.DrawFn) -> tuple[AnyEvidence, str]:
    kind = draw(st.sampled_from(KINDS))
    evidence = draw(_dataclass(kind))
    count = _strings(evidence)
    assume(count > 0)
    template, prefix = draw(st.sampled_from(SHAPES))
    # A digit-bearing tail keeps the secret from being a word the renderers print anyway
    # (the shrinker once found "canaryTrafficPercent").
    secret = draw(st.text(_SECRET_CHARS, min_size=16, max_size=32)) + "9Zq7"
    assume(secret not in repr(evidence))  # the secret is only where it is planted
    planted = template.format(prefix + secret)
    where = draw(st.integers(0, count - 1))

    def put(text: str) -> str:
        cut = draw(st.integers(0, len(text)))
        return f"{text[:cut]} {planted} {text[cut:]}"

    return _plant(evidence, [where], put), secret


def _shown(render: Callable[[], str]) -> str:
    """What a renderer puts out, or what its failure would log: either may not leak.

    Generated evidence can be impossible in a cluster (a revision name with spaces, a
    threshold-less comparison); a renderer that refuses it raises, and the exception's
    message and traceback are what would reach the log.
    """
    try:
        return render()
    except Exception as exc:  # noqa: BLE001 (any failure: its text is what leaves)
        return "".join(traceback.format_exception(exc))


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(planted_evidence())
async def test_a_planted_secret_never_leaves_the_pipeline(case: tuple[AnyEvidence, str]) -> None:
    evidence, secret = case
    report = await Pipeline([Planted(evidence)], decide).run(NOTIFICATION)
    assert secret not in json.dumps(report.to_dict())  # stored, served, printed by --json
    assert secret not in _shown(lambda: render_text(report))
    assert secret not in _shown(lambda: json.dumps(render_message(report)))


def test_every_evidence_kind_is_generated() -> None:
    assert len(KINDS) >= 6, [k.kind for k in KINDS]


@dataclasses.dataclass
class Failing:
    """A collector whose failure quotes what the API answered."""

    name: str
    error: Exception
    timeout: float = 5.0

    async def collect(self, context: TriageContext) -> AnyEvidence | None:
        raise self.error


async def test_collector_notes_and_logged_exceptions_are_redacted(
    caplog: pytest.LogCaptureFixture,
) -> None:
    token, password = "tok9f8e7d6c5b4a3", "hunter2xyz"
    collectors = [
        Failing("api", CollectorError(f"403: Authorization: Bearer {token}")),
        Failing("buggy", RuntimeError(f"cannot parse password={password}")),
    ]
    with caplog.at_level(logging.ERROR):
        report = await Pipeline(collectors, decide).run(NOTIFICATION)
    notes = " ".join(report.notes())
    assert "Bearer [REDACTED]" in notes and "password=[REDACTED]" in notes
    assert token not in notes and password not in notes
    logged = "\n".join(TextFormatter().format(record) for record in caplog.records)
    assert "collector failed" in logged and "RuntimeError" in logged
    assert password not in logged
