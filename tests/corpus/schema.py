"""The incident corpus format: one YAML file per case under tests/corpus/cases/.

Read by `tests/corpus/test_corpus_schema.py` (every case parses and is consistent) and by
the corpus loader and scorer (`load_cases`). A case is a cluster snapshot (Kubernetes
objects exactly as the API returns them, container logs, injected collector faults),
optional Prometheus series and drift state, one firing alert, and the ground truth a good
triage must reach (`expect`). Unknown keys are rejected everywhere, so a typo in a case is
an error rather than a silently ignored field. See tests/corpus/README.md.
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

CASES_DIR = Path(__file__).parent / "cases"
# Real incidents written by `triage-bot export-case`: the evidence as gathered, no snapshot.
INCIDENTS_DIR = Path(__file__).parent / "incidents"

Category = Literal["infrastructure", "rollout", "data-drift", "concept-drift", "unknown"]
Cause = Literal[
    "oom",
    "image-pull",
    "config",
    "mount",
    "scheduling",
    "eviction",
    "node",
    "capacity",
    "dependency",
    "gpu-memory",
    "storage",
    "model-load",
    "probe",
    "crash",
    "code",
    "input-schema",
    "feature-drift",
    "accuracy-drop",
    "unknown",
]
Distractor = Literal[
    "old-recovered-failure",
    "unrelated-event",
    "second-model",
    "slow-collector",
    "forbidden-collector",
    "canary",
    "noisy-logs",
    "stale-revision",
]
# Kinds of advice a case can rule out (`expect.forbid.action_kinds`).
ActionKind = Literal[
    "rollback", "retrain", "raise-memory", "raise-cpu", "raise-replicas", "restart"
]
DriftVia = Literal["data-dir", "prometheus", "none"]

# RFC 3339 as the API server writes it: seconds, optional fraction (MicroTime), `Z`.
RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z$")
# Prometheus durations as promtool accepts them for `interval`; `start` may be negative.
DURATION = re.compile(r"^-?(\d+(ms|s|m|h|d|w|y))+$")


def parse_time(text: str) -> datetime:
    """An RFC 3339 `Z` timestamp as an aware datetime; ValueError if it is not one."""
    if not RFC3339.match(text):
        raise ValueError(f"not an RFC 3339 UTC timestamp: {text!r}")
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def duration_seconds(text: str) -> float:
    """Seconds in a Prometheus duration such as `1m`, `90s`, `-1h30m`."""
    if not DURATION.match(text):
        raise ValueError(f"not a Prometheus duration: {text!r}")
    sign = -1.0 if text.startswith("-") else 1.0
    units = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}
    total = sum(float(n) * units[u] for n, u in re.findall(r"(\d+)(ms|s|m|h|d|w|y)", text))
    return sign * total


class Strict(BaseModel):
    """Every corpus model rejects keys it does not know."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Alert(Strict):
    """One firing alert; the loader wraps it in an Alertmanager v4 webhook body."""

    labels: dict[str, str]
    annotations: dict[str, str] = {}
    startsAt: str  # noqa: N815 - Alertmanager's field name
    generatorURL: str | None = None  # noqa: N815

    @field_validator("labels")
    @classmethod
    def _named(cls, labels: dict[str, str]) -> dict[str, str]:
        if not labels.get("alertname"):
            raise ValueError("alert labels need an alertname")
        return labels

    @field_validator("startsAt")
    @classmethod
    def _time(cls, value: str) -> str:
        parse_time(value)
        return value


class Log(Strict):
    """The text `pods/{pod}/log?container=...&previous=...` serves."""

    namespace: str
    pod: str
    container: str
    previous: bool = False
    text: str


class Fault(Strict):
    """A collector failure the fake API injects: a status, a delay, or both."""

    path: str  # a regular expression on the URL path
    status: int | None = Field(default=None, ge=400, le=599)
    delay: float | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _something(self) -> Fault:
        if self.status is None and self.delay is None:
            raise ValueError("a fault needs a status or a delay")
        re.compile(self.path)
        return self


class Series(Strict):
    """One input series in promtool's notation."""

    series: str
    values: str

    @field_validator("values")
    @classmethod
    def _parses(cls, value: str) -> str:
        expand_values(value)
        return value


class Prometheus(Strict):
    """Series sampled every `interval`, the first at the alert's start + `start`."""

    interval: str = "1m"
    start: str = "-60m"
    series: list[Series]

    @field_validator("interval", "start")
    @classmethod
    def _duration(cls, value: str) -> str:
        duration_seconds(value)
        return value


class DriftFeature(Strict):
    """One feature of the drift engine's last evaluation."""

    name: str
    test: Literal["ks", "chi2"]
    statistic: float
    p_value: float = Field(ge=0, le=1)
    drifted: bool


class Drift(Strict):
    """The drift engine's last evaluation for the model, and where a triage finds it."""

    via: DriftVia
    model: str
    evaluated_at: str | None = None
    drifted_since: str | None = None
    features: list[DriftFeature] = []
    accuracy: float | None = Field(default=None, ge=0, le=1)
    accuracy_baseline: float | None = Field(default=None, ge=0, le=1)

    @model_validator(mode="after")
    def _times(self) -> Drift:
        for value in (self.evaluated_at, self.drifted_since):
            if value is not None:
                parse_time(value)
        if self.via != "none" and self.evaluated_at is None:
            raise ValueError("drift found somewhere needs evaluated_at")
        return self


class Forbid(Strict):
    """Advice that would make things worse."""

    rollback_to: list[str] = []
    action_kinds: list[ActionKind] = []


class Expect(Strict):
    """The ground truth."""

    category: Category
    cause: Cause
    facts: list[str] = Field(min_length=1)
    rollback_to: str | None = None
    forbid: Forbid = Forbid()
    secrets: list[str] = []

    @model_validator(mode="after")
    def _consistent(self) -> Expect:
        if self.rollback_to and self.rollback_to in self.forbid.rollback_to:
            raise ValueError("rollback_to is also forbidden")
        if self.rollback_to and "rollback" in self.forbid.action_kinds:
            raise ValueError("rollback_to is set while rollbacks are forbidden")
        return self


class Case(Strict):
    """One incident scenario."""

    title: str
    sources: list[str] = Field(min_length=1)
    story: str
    alert: Alert
    objects: list[dict[str, Any]] = []
    # An exported incident carries the evidence it was triaged on instead of a snapshot
    # (tests/corpus/incidents/); `evidence_to_dict` shapes, replayed by the runner.
    evidence: list[dict[str, Any]] = []
    logs: list[Log] = []
    faults: list[Fault] = []
    prometheus: Prometheus | None = None
    drift: Drift | None = None
    expect: Expect
    distractors: list[Distractor] = []


# --- promtool's series notation -----------------------------------------------------------

Sample = float | Literal["_", "stale"]

_NUMBER = r"[+-]?(?:(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?|Inf|inf)|NaN"
_EXPANDING = re.compile(rf"^(?P<a>{_NUMBER})(?:(?P<op>[+-])(?P<b>{_NUMBER}))?x(?P<n>\d+)$")
_MISSING_RUN = re.compile(r"^_x(?P<n>\d+)$")
_PLAIN = re.compile(rf"^(?:{_NUMBER})$")


def expand_values(text: str) -> list[Sample]:
    """Expand promtool `values` into one sample per interval.

    `a+bxN` is a, a+b, ..., a+N*b (N+1 samples), `a-bxN` counts down, `axN` repeats a
    N+1 times, `_` is a missing scrape (`_xN`: N of them), `stale` a staleness marker,
    a plain number one sample. Tokens are separated by spaces. ValueError names the
    token it cannot read.
    """
    samples: list[Sample] = []
    tokens = text.split()
    if not tokens:
        raise ValueError("no values")
    for token in tokens:
        if token in ("_", "stale"):
            samples.append(token)  # type: ignore[arg-type]
            continue
        if missing := _MISSING_RUN.match(token):
            samples.extend(["_"] * int(missing["n"]))
            continue
        if _PLAIN.match(token):
            samples.append(float(token))
            continue
        expanding = _EXPANDING.match(token)
        if not expanding:
            raise ValueError(f"cannot read series value {token!r}")
        start, count = float(expanding["a"]), int(expanding["n"])
        step = float(expanding["b"] or 0.0) * (-1.0 if expanding["op"] == "-" else 1.0)
        # Prometheus adds the step sample after sample; so do we, to the last bit.
        value = start
        samples.append(value)
        for _ in range(count):
            value += step
            samples.append(value)
    return samples


# --- loading ------------------------------------------------------------------------------


def case_paths(directory: Path = CASES_DIR) -> list[Path]:
    """Every case file, in name order."""
    return sorted(directory.glob("*.yaml"))


def load_case(path: Path) -> Case:
    """Parse one case file (yaml.safe_load, then the strict model)."""
    return Case.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))


def load_cases(directory: Path = CASES_DIR) -> dict[str, Case]:
    """Every case by its slug (the file name without `.yaml`)."""
    return {path.stem: load_case(path) for path in case_paths(directory)}


def load_incidents(directory: Path = INCIDENTS_DIR) -> dict[str, Case]:
    """Every exported incident by its slug; none when the folder is empty or missing."""
    return load_cases(directory) if directory.is_dir() else {}
