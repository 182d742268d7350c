"""Pure helpers on PromQL text: an alert's expression from its generatorURL, its threshold.

Called by `promql.collector`. An alerting expression such as `ratio > 0.05` returns only
the series above the threshold; charting the left side with the threshold as a line
shows what happened before the alert too, so the threshold is split off when the shape
is that simple, and the expression is kept whole otherwise.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
_SET_OPERATORS = re.compile(r"\b(and|or|unless)\b")


@dataclass(frozen=True)
class AlertExpression:
    """What to chart: the query, and the threshold it was compared with (if split off)."""

    query: str
    comparison: str = ""
    threshold: float | None = None


def expression_from_generator_url(url: str) -> str | None:
    """The PromQL of `g0.expr` in an alert's generatorURL, None when it has none."""
    if not url:
        return None
    values = parse_qs(urlsplit(url).query).get("g0.expr")
    if not values or not values[0].strip():
        return None
    return values[0].strip()


def _top_level(expr: str) -> str:
    """The expression with everything inside brackets and strings blanked out."""
    out: list[str] = []
    depth = 0
    quote = ""
    escaped = False
    for ch in expr:
        if quote:
            out.append(" ")
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == quote:
                quote = ""
            continue
        if ch in "\"'`":
            quote = ch
            out.append(" ")
        elif ch in "([{":
            depth += 1
            out.append(" ")
        elif ch in ")]}":
            depth = max(depth - 1, 0)
            out.append(" ")
        else:
            out.append(ch if depth == 0 else " ")
    return "".join(out)


def _last_comparison(flat: str) -> tuple[int, str] | None:
    for i in range(len(flat) - 1, -1, -1):
        ch = flat[i]
        if ch == "=" and i > 0 and flat[i - 1] in "=!<>":
            return i - 1, flat[i - 1 : i + 1]
        if ch in "<>":
            return i, ch
    return None


def split_threshold(expr: str) -> AlertExpression:
    """`lhs OP number` becomes (lhs, OP, number); any other shape stays whole."""
    flat = _top_level(expr)
    if _SET_OPERATORS.search(flat):
        return AlertExpression(expr)
    found = _last_comparison(flat)
    if found is None:
        return AlertExpression(expr)
    at, op = found
    rhs = expr[at + len(op) :].strip()
    lhs = expr[:at].strip()
    if rhs.startswith("bool"):
        return AlertExpression(expr)
    if not lhs or not _NUMBER.match(rhs):
        return AlertExpression(expr)
    return AlertExpression(lhs, op, float(rhs))
