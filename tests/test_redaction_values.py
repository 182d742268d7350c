"""`redact_value` walks any evidence value; log lines are redacted as they are formatted."""

from __future__ import annotations

import logging
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import NamedTuple

from bot.cluster.excerpt import extract
from bot.logs import JsonFormatter, TextFormatter
from bot.model.cluster_evidence import KubeEvent, LogExcerpt, LogsEvidence
from bot.model.signal_evidence import Series
from bot.redaction import MASK, redact, redact_value

SECRET = "password=hunter2xyz"
CLEAN = f"password={MASK}"


class Pair(NamedTuple):
    left: str
    right: int


@dataclass(frozen=True)
class Inner:
    text: str
    when: datetime | None = None


@dataclass(frozen=True)
class Outer:
    """Shaped like a future evidence kind: nesting, containers, a field set after init."""

    name: str
    inner: Inner
    items: tuple[Inner, ...] = ()
    labels: dict[str, str] = field(default_factory=dict)
    loose: list[object] = field(default_factory=list)
    tags: frozenset[str] = frozenset()
    pair: Pair = Pair("", 0)
    derived: str = field(init=False, default="")

    def __post_init__(self) -> None:
        object.__setattr__(self, "derived", f"from {self.name}")


def test_every_string_of_a_nested_frozen_dataclass_is_redacted() -> None:
    moment = datetime(2026, 12, 2, tzinfo=UTC)
    value = Outer(
        name=SECRET,
        inner=Inner(SECRET, moment),
        items=(Inner("fine"), Inner(SECRET)),
        labels={"url": "http://bot:hunter2xyz@db", SECRET: "key"},
        loose=[SECRET, 3, None, (SECRET,), {"k": [SECRET]}],
        tags=frozenset({SECRET, "plain"}),
        pair=Pair(SECRET, 7),
    )
    out = redact_value(value)
    assert "hunter2xyz" not in repr(out)
    assert out.name == CLEAN and out.inner == Inner(CLEAN, moment)
    assert out.items == (Inner("fine"), Inner(CLEAN))
    assert out.labels == {"url": f"http://bot:{MASK}@db", CLEAN: "key"}
    assert out.loose == [CLEAN, 3, None, (CLEAN,), {"k": [CLEAN]}]
    assert out.tags == frozenset({CLEAN, "plain"}) and out.pair == Pair(CLEAN, 7)
    assert isinstance(out.pair, Pair)
    # A field set after __init__ is walked too (here it quoted the secret again).
    assert out.derived == f"from {CLEAN}"


def test_a_clean_value_comes_back_as_the_same_object() -> None:
    evidence = LogsEvidence(excerpts=(LogExcerpt("wine-0", "kserve-container", False, ("ok",)),))
    assert redact_value(evidence) is evidence
    series = Series({"pod": "wine-0"}, ((1.0, 2.0),))
    assert redact_value(series) is series


def test_redacting_twice_changes_nothing() -> None:
    event = KubeEvent("Failed", f"Error: {SECRET} --token abc123def", "Pod", "wine-0")
    once = redact_value(event)
    assert redact_value(once) == once and "hunter2xyz" not in once.message
    assert redact(redact(SECRET)) == redact(SECRET) == CLEAN


def _record(message: str) -> logging.LogRecord:
    try:
        raise RuntimeError(f"API said {message}")
    except RuntimeError:
        record = logging.makeLogRecord(
            {"msg": "collector failed %s", "args": (message,), "levelname": "ERROR"}
        )
        record.exc_info = sys.exc_info()
        record.__dict__["detail"] = message
        return record


def test_log_lines_and_tracebacks_are_redacted_in_both_formats() -> None:
    for formatter in (TextFormatter(), JsonFormatter()):
        line = formatter.format(_record(SECRET))
        assert "hunter2xyz" not in line, type(formatter).__name__
        assert "collector failed password=" in line and "RuntimeError: API said" in line


def test_the_boundary_after_the_excerpt_changes_nothing() -> None:
    """`cluster.excerpt` redacts before cutting lines; the boundary then finds it done."""
    log = "ERROR login postgresql://bot:hunter2xyz@db/x failed, api_key=abc123def\n" * 3
    found = extract(log)
    assert "hunter2xyz" not in " ".join(found.lines) and "abc123def" not in " ".join(found.lines)
    assert redact_value(found) is found
