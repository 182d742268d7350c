"""`redact`: one text with every secret shape of `redaction.shapes` masked.

Called by `redaction.values.redact_value` for every string of an evidence value, by
`cluster.excerpt` on a log tail before it is cut into lines, and by the log formatters.
"""

from __future__ import annotations

import re

from bot.redaction.shapes import SHAPES

# One scan for any shape's hint: most strings of an evidence value (names, phases,
# reasons) have none, and this answers for them in about a microsecond.
_ANY_HINT = re.compile("|".join(re.escape(h) for shape in SHAPES for h in shape.hints))
_ALWAYS = tuple(shape for shape in SHAPES if not shape.hints)


def redact(text: str) -> str:
    """`text` with every secret-looking value replaced by a marker; idempotent."""
    if not text:
        return text
    lowered = text.lower()
    if not _ALWAYS and _ANY_HINT.search(lowered) is None:
        return text
    for shape in SHAPES:
        if shape.hints and not any(hint in lowered for hint in shape.hints):
            continue
        text = shape.pattern.sub(shape.replacement, text)
    return text
