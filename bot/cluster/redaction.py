"""Redacts secrets from log text before anything leaves the process.

Called by `cluster.excerpt` on every log line it keeps. Patterns cover bearer and basic
authorization headers, JWTs, credentials inside connection strings, PEM private keys,
well-known token formats (AWS, Slack, GitHub, Google, OpenAI-style `sk-`), and values of
keys that name a secret (`password=`, `"api_key": "..."`, `token: ...`).
"""

from __future__ import annotations

import re

MASK = "[REDACTED]"

_SECRET_KEY = (
    r"(?:pass(?:word|wd)?|pwd|secret|client[_-]?secret|token|access[_-]?token|refresh[_-]?token"
    r"|id[_-]?token|auth[_-]?token|api[_-]?key|apikey|access[_-]?key(?:[_-]?id)?"
    r"|secret[_-]?access[_-]?key|private[_-]?key|credentials?|session[_-]?key|signing[_-]?key"
    r"|x-api-key|sas|sig|signature)"
)

# Order matters: whole-token formats first, then the key=value forms around what is left.
_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (
        re.compile(
            r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?(?:-----END [A-Z ]*PRIVATE KEY-----|$)",
            re.DOTALL,
        ),
        "[REDACTED PRIVATE KEY]",
    ),
    (re.compile(r"\b(Bearer|Basic|Token)\s+[A-Za-z0-9._~+/=-]{6,}", re.IGNORECASE), rf"\1 {MASK}"),
    (re.compile(r"\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*"), "[REDACTED JWT]"),
    # scheme://user:password@host keeps the user and the host, which help debugging.
    (re.compile(r"([a-zA-Z][a-zA-Z0-9+.-]*://[^\s:/@]*:)[^\s@/]+@"), rf"\1{MASK}@"),
    (re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"), MASK),
    (re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}"), MASK),
    (re.compile(r"\bxapp-[A-Za-z0-9-]{10,}"), MASK),
    (re.compile(r"\bgh[pousr]_[A-Za-z0-9]{20,}"), MASK),
    (re.compile(r"\bAIza[0-9A-Za-z_-]{30,}"), MASK),
    (re.compile(r"\bsk-[A-Za-z0-9_-]{16,}"), MASK),
    # AccountKey=...; SharedAccessKey=...; Password=... in ;-separated connection strings
    (
        re.compile(r"((?:Account|SharedAccess)Key|Password|Pwd)=([^;\s]+)", re.IGNORECASE),
        rf"\1={MASK}",
    ),
    # "api_key": "value" (JSON) and password='two words': the whole quoted value
    (
        re.compile(
            rf"""(["']?\b[\w.-]*{_SECRET_KEY}["']?\s*[:=]\s*)(["'])(.*?)\2""", re.IGNORECASE
        ),
        rf"\1\2{MASK}\2",
    ),
    # token: value, api_key=value, ?token=value&
    (
        re.compile(
            rf"""(["']?\b[\w.-]*{_SECRET_KEY}["']?\s*[:=]\s*)([^\s"'&,;}}]+)""", re.IGNORECASE
        ),
        rf"\1{MASK}",
    ),
)


def redact(text: str) -> str:
    """`text` with every secret-looking value replaced by a marker."""
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text
