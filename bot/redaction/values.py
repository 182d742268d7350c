"""`redact_value`: any evidence value with every string in it redacted.

Called at the boundary (`triage.pipeline._run_one` on each collector's evidence and note,
`actions.runner` on each action's outcome). Generic on purpose: it walks dataclasses by
`dataclasses.fields` and rebuilds them with `dataclasses.replace`, so an evidence kind
that gains a field tomorrow is redacted without a change here. Values that hold no
secret come back as the same object, so a clean report is not copied.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any, TypeVar

from bot.redaction.text import redact

T = TypeVar("T")
SHORT = 200


def redact_value(value: T) -> T:
    """`value` with every string inside it (fields, items, keys, nested) redacted."""
    result: T = _walk(value)
    return result


@functools.lru_cache(maxsize=16384)
def _short(text: str) -> str:
    return redact(text)


def _walk(value: Any) -> Any:
    if isinstance(value, str):
        # Evidence repeats its short strings (names, reasons, images) across pods: one
        # redaction each. Long ones (log lines, messages) are rarely repeated.
        clean = _short(value) if len(value) <= SHORT else redact(value)
        return value if clean == value else clean  # unchanged: the same object, no copies
    if value is None or isinstance(value, int | float | complex | bytes):
        return value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _dataclass(value)
    if isinstance(value, dict):
        items = [(_walk(k), _walk(v)) for k, v in value.items()]
        if all(k is k0 and v is v0 for (k, v), (k0, v0) in zip(items, value.items(), strict=True)):
            return value
        return type(value)(items) if type(value) is dict else dict(items)
    if isinstance(value, tuple | list | set | frozenset):
        walked = [_walk(item) for item in value]
        if all(a is b for a, b in zip(walked, value, strict=True)):
            return value
        if isinstance(value, tuple) and hasattr(value, "_fields"):  # a NamedTuple
            return type(value)(*walked)
        return type(value)(walked)
    # datetimes, enums and other leaves carry no text from outside.
    return value


def _dataclass(value: Any) -> Any:
    changed: dict[str, Any] = {}
    late: dict[str, Any] = {}  # fields set after __init__ (init=False)
    for field in dataclasses.fields(value):
        old = getattr(value, field.name, None)
        new = _walk(old)
        if new is not old:
            (changed if field.init else late)[field.name] = new
    if not changed and not late:
        return value
    copy = dataclasses.replace(value, **changed)
    for name, new in late.items():
        object.__setattr__(copy, name, new)  # frozen dataclasses refuse plain setattr
    return copy
