"""Turns a container's log tail into a short excerpt: error lines and Python tracebacks.

Called by `cluster.logs` with the raw text; returns redacted lines (via `bot.redaction`)
with repeats collapsed into one line and a count, so a crash loop that printed the same
traceback forty times shows it once, marked "(x40)". The pipeline's boundary redacts the
evidence again; redacting here as well matters because lines are cut to
`MAX_LINE_CHARS` below, and a secret cut in half no longer has a shape to recognise.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.redaction import redact

MAX_LINES = 14
MAX_LINE_CHARS = 400

_TIMESTAMP = re.compile(
    r"^\s*(?:\[?\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:[.,]\d+)?(?:Z|[+-]\d{2}:?\d{2})?\]?"
    r"|\[?\d{2}:\d{2}:\d{2}(?:[.,]\d+)?\]?|I\d{4} \d{2}:\d{2}:\d{2}\.\d+)\s*[|:-]?\s*"
)
_ERROR = re.compile(
    r"\b(?:ERROR|CRITICAL|FATAL|PANIC|SEVERE)\b|\blevel=(?:error|fatal|critical)\b"
    r'|"level"\s*:\s*"(?:error|fatal|critical)"|\b[A-Z]\w*(?:Error|Exception)\b:'
    r"|\bKilled\b|\bSegmentation fault\b|\bout of memory\b"
    # Lines that name a cause without an error level: warnings, refused or missing things.
    r"|\b[A-Z]\w*Warning\b|connection refused|timed out|no such host|access denied"
    r"|unauthorized|forbidden|unrecognized arguments",
)
_TRACEBACK_START = "Traceback (most recent call last):"
_NUMBERS = re.compile(r"\b0x[0-9a-f]+\b|\b[0-9a-f]{8,}\b|\d+")


@dataclass(frozen=True)
class Excerpt:
    """What a log tail says: short lines, how many error lines, whether it has tracebacks."""

    lines: tuple[str, ...]
    error_count: int
    has_traceback: bool


def _strip_timestamp(line: str) -> str:
    return _TIMESTAMP.sub("", line, count=1).rstrip()


def _shorten_to(line: str, size: int) -> str:
    if len(line) <= size:
        return line
    head = size // 2
    return f"{line[:head]} … {line[-(size - head - 3) :]}"


def _shorten(line: str) -> str:
    """At most `MAX_LINE_CHARS`, keeping the start and the end: an exception chain names
    its cause last ("... Caused by ...: Connection refused")."""
    if len(line) <= MAX_LINE_CHARS:
        return line
    head = MAX_LINE_CHARS // 2
    return f"{line[:head]} … {line[-(MAX_LINE_CHARS - head - 3) :]}"


def _summarise_traceback(block: list[str]) -> str:
    """The last frame and the exception line: where it broke and why."""
    frames = [i for i, line in enumerate(block) if line.lstrip().startswith("File ")]
    last = block[frames[-1]].strip() if frames else ""
    code = block[frames[-1] + 1].strip() if frames and frames[-1] + 1 < len(block) - 1 else ""
    exception = block[-1].strip()
    # The exception first and whole where it fits: the frame is where, the exception why.
    where = f" at {last}" + (f": {code[:80]}" if code else "") if last else ""
    room = MAX_LINE_CHARS - len(where) - len(" (traceback)")
    return f"{_shorten_to(exception, max(room, 200))} (traceback{where})"


def _blocks(lines: list[str]) -> list[tuple[str, bool]]:
    """(text, is_traceback) items: whole tracebacks folded, error lines kept, rest dropped."""
    out: list[tuple[str, bool]] = []
    i = 0
    while i < len(lines):
        line = _strip_timestamp(lines[i])
        if line.strip().startswith(_TRACEBACK_START):
            block = [line]
            i += 1
            # Frames are indented; the first unindented line is the exception itself.
            while i < len(lines):
                nxt = _strip_timestamp(lines[i])
                block.append(nxt)
                i += 1
                if nxt and not nxt[0].isspace():
                    break
            out.append((_summarise_traceback(block), True))
            continue
        if _ERROR.search(line):
            out.append((line.strip(), False))
        i += 1
    return out


def extract(text: str, *, max_lines: int = MAX_LINES) -> Excerpt:
    """Error lines and tracebacks of a log tail, redacted, repeats counted, newest kept."""
    items = _blocks(redact(text).splitlines())
    counts: dict[str, int] = {}
    first: dict[str, str] = {}
    order: list[str] = []
    for line, _ in items:
        key = _NUMBERS.sub("#", line)
        if key not in counts:
            counts[key] = 0
            first[key] = line
            order.append(key)
        counts[key] += 1
    rendered = [
        _shorten(first[k] if counts[k] == 1 else f"{first[k]} (x{counts[k]})") for k in order
    ]
    # Tracebacks usually say more than the error lines around them: keep them first.
    tracebacks = {_NUMBERS.sub("#", line) for line, is_tb in items if is_tb}
    ranked = sorted(range(len(order)), key=lambda i: (order[i] not in tracebacks, -i))
    kept = sorted(ranked[:max_lines])
    return Excerpt(
        lines=tuple(rendered[i] for i in kept),
        error_count=len(items),
        has_traceback=bool(tracebacks),
    )
