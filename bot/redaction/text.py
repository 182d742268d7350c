"""`redact`: one text with every secret shape of `redaction.shapes` masked.

Called by `redaction.values.redact_value` for every string of an evidence value, by
`cluster.excerpt` on a log tail before it is cut into lines, and by the log formatters.
"""

from __future__ import annotations

from bot.redaction.shapes import SHAPES


def redact(text: str) -> str:
    """`text` with every secret-looking value replaced by a marker; idempotent."""
    if not text:
        return text
    lowered = text.lower()
    for shape in SHAPES:
        if shape.hints and not any(hint in lowered for hint in shape.hints):
            continue
        text = shape.pattern.sub(shape.replacement, text)
    return text
