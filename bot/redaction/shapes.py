"""The secret shapes: patterns that find a secret in text and what replaces it.

Used by `redaction.redact` (this package's `__init__`). Each shape names the smallest
part that is secret: a URL keeps its user and host, a header its name and scheme, a
`key=value` its key, because those help whoever debugs the incident. Every replacement
is a fixed point (a masked text matches again only to the same mask), so redacting twice
changes nothing. Each shape carries literal hints, lower-case: the pattern runs only on
text that contains one of them, which keeps a 2,000-line log tail cheap.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

MASK = "[REDACTED]"


@dataclass(frozen=True)
class Shape:
    """One secret shape: where it hides, what replaces it, and cheap hints it may be there."""

    name: str
    pattern: re.Pattern[str]
    replacement: str | Callable[[re.Match[str]], str]
    hints: tuple[str, ...]


# Values that follow a secret's name in ordinary messages ("token: unexpected status",
# "password is incorrect") and are not the secret itself.
_STOP_WORDS = (
    r"is|was|are|were|be|been|being|not|no|and|or|of|for|to|from|in|on|with|the|a|an|as"
    r"|at|by|has|have|had|set|unset|missing|required|invalid|valid|incorrect|wrong|expired"
    r"|empty|null|none|nil|true|false|unexpected|ok|must|should|will|can|cannot|could"
    r"|may|does|did|do|file|field|provided|given|specified|found|changed|rotated|too"
    r"|ref|reference|value|values|redacted|enabled|disabled|on|off|<set|<redacted>"
    # Python source quoted by tracebacks: `token: str`, `x = TOKEN if y else z`.
    r"|if|else|then|when|str|bytes|int|bool|dict|list|any|object|self"
)
_STOP = rf"(?i:{_STOP_WORDS})(?![\w-])"
# A secret's name in `name = value` shapes, matched as the end of a longer key
# (`db_password`, `MYSQL_ROOT_PASSWORD`, `clientSecret`, `x-api-key`).
_NAME = (
    r"(?:pass(?:word|wd|phrase)|pwd|secret|client[_-]?secret|token|api[_-]?key|apikey"
    r"|access[_-]?key(?:[_-]?id)?|secret[_-]?key|private[_-]?key|signing[_-]?key"
    r"|session[_-]?key|account[_-]?key|master[_-]?key|encryption[_-]?key"
    r"|subscription[_-]?key|client[_-]?key[_-]?data|credentials?|sas|sig|signature"
    r"|identity[_-]?token|auth)"
)
# A key ends in a secret's name: the name starts the key, or follows a separator, or is
# the next word of a camelCase key (`dbPassword`).
_KEY = rf"(?:(?<![A-Za-z0-9])|(?<=[_.-])|(?-i:(?<=[a-z0-9])(?=[A-Z]))){_NAME}"
_Q = r"""(?:\\?["'])"""  # a quote, maybe escaped inside a JSON string
_SEP = r"""\s*(?:[:=]|%3[dDaA])\s*"""
_QUOTED = r"""(?:"(?:[^"\\\n]|\\.)*"|'[^'\n]*'|\\"(?:(?!\\").)*\\")"""
# An unquoted value: up to whitespace, a quote, a separator; %26 (an encoded &) ends it.
_BARE = r"""(?:[^\s"'`&,;}%\\]|%(?!26)[0-9A-Fa-f]{2})+"""


_TOKEN_HINTS = tuple(
    "akia asia xox xapp- ghp_ gho_ ghu_ ghs_ ghr_ github_pat_ glpat- glptt- gldt- glrt- glcbt-"  # noqa: SIM905
    " gloas- glsoat- glft- glimt- glagent- hf_ api_org_ npm_ sk_ rk_ whsec_ sk- aiza ya29."
    " dop_v1_ sg.".split()
)
_KEY_HINTS = ("pass", "pwd", "secret", "token", "key", "credential", "sas", "sig", "auth")


def _keep_quotes(match: re.Match[str]) -> str:
    """The name part, then the value's own quotes around the mask (bare values: the mask)."""
    value = match.group(2)
    quote = value[:2] if value.startswith("\\") else value[:1]
    if quote not in ('"', "'", '\\"', "\\'"):
        return match.group(1) + MASK
    return f"{match.group(1)}{quote}{MASK}{quote}"


def _shape(
    name: str,
    pattern: str,
    replacement: str | Callable[[re.Match[str]], str],
    *hints: str,
    flags: int = 0,
) -> Shape:
    return Shape(name, re.compile(pattern, flags), replacement, hints)


_I = re.IGNORECASE

SHAPES: tuple[Shape, ...] = (
    # Whole blocks and whole tokens first: they are secret whatever surrounds them.
    _shape(
        "pem-private-key",
        r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----[^-\"'{}]*"
        r"(?:-----END [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----)?",
        "[REDACTED PRIVATE KEY]",
        "private key",
    ),
    _shape(
        "jwt",
        r"\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*",
        "[REDACTED JWT]",
        "eyj",
    ),
    # scheme://user:password@host: the password may itself hold @, so up to the last @
    # before the path; user and host stay.
    _shape(
        "url-password",
        r"(?<![a-zA-Z0-9+.-])([a-zA-Z][a-zA-Z0-9+.-]*://[^\s:/@]*:)[^\s/?#]*@",
        rf"\1{MASK}@",
        "://",
    ),
    _shape(
        "webhook-url",
        r"(hooks\.slack\.com/(?:services|workflows|triggers)/|discord(?:app)?\.com/api/webhooks/)"
        r"(?!\[REDACTED\])[A-Za-z0-9/_-]+",
        rf"\1{MASK}",
        "hooks.slack",
        "/api/webhooks/",
    ),
    _shape(
        "token-format",
        r"\b(?:(?:AKIA|ASIA)[0-9A-Z]{16}|xox[abposr]-[A-Za-z0-9-]{10,}|xapp-[A-Za-z0-9-]{10,}"
        r"|gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,}"
        r"|gl(?:pat|ptt|dt|rt|cbt|oas|soat|ft|imt|agent)-[A-Za-z0-9_-]{20,}"
        r"|hf_[A-Za-z0-9]{20,}|api_org_[A-Za-z0-9]{20,}|npm_[A-Za-z0-9]{20,}"
        r"|(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{10,}|whsec_[A-Za-z0-9]{20,}"
        r"|sk-[A-Za-z0-9_-]{16,}|AIza[0-9A-Za-z_-]{30,}|ya29\.[0-9A-Za-z_-]{20,}"
        r"|dop_v1_[a-f0-9]{40,}|SG\.[A-Za-z0-9_-]{16,}\.[A-Za-z0-9_-]{16,})",
        MASK,
        *_TOKEN_HINTS,
    ),
    # Authorization: <scheme> <credentials>; any scheme (Bearer, Basic, ApiKey, Token...).
    _shape(
        "authorization-header",
        rf"\b((?:proxy-)?authorization{_Q}?\s*[:=]\s*{_Q}?"
        r"(?!(?:[A-Za-z][A-Za-z0-9_-]*\s+)?\[REDACTED)(?:[A-Za-z][A-Za-z0-9_-]*\s+)?)"
        r"[^\s\"'\\,;]+",
        rf"\1{MASK}",
        "authorization",
        flags=_I,
    ),
    # A bare `Bearer <token>` / `Basic <base64>` anywhere else: the credential must look
    # like one (8+ characters with a digit or a symbol) so "Basic authentication" stays.
    _shape(
        "auth-scheme",
        r"\b(Bearer|Basic)\s+(?=[A-Za-z0-9._~+/-]*[0-9._~+/])[A-Za-z0-9._~+/-]{8,}=*(?![\w=])",
        rf"\1 {MASK}",
        "bearer",
        "basic",
        flags=_I,
    ),
    _shape(
        "cookie-header",
        r"\b((?:set-)?cookie\s*:\s*+)(?!\[REDACTED\])[^\r\n\"'\\]+",
        rf"\1{MASK}",
        "cookie",
        flags=_I,
    ),
    # Docker config: {"auths": {"host": {"auth": "<base64 user:password>"}}}
    _shape(
        "docker-auth",
        rf"({_Q}auth{_Q}\s*:\s*{_Q})[A-Za-z0-9+/]{{8,}}=*(?={_Q})",
        rf"\1{MASK}",
        "auth",
    ),
    # {"name": "DB_PASSWORD", "value": "x"} and YAML `- name: DB_PASSWORD\n  value: x`
    _shape(
        "env-pair",
        rf"({_Q}?name{_Q}?\s*:\s*{_Q}?[\w.-]*?{_KEY}{_Q}?\s*,?\s*(?:\\n|\\r)*\s*-?\s*"
        rf"{_Q}?value{_Q}?\s*:\s*)({_QUOTED}|(?!\[REDACTED\]){_BARE})",
        _keep_quotes,
        "value",
        flags=_I,
    ),
    # AWS's secret key: 40 characters after its name, whatever the separator.
    _shape(
        "aws-secret-key",
        r"(aws_?secret_?access_?key\W{1,6})(?!\[REDACTED\])[A-Za-z0-9/+=]{40}(?![A-Za-z0-9/+=])",
        rf"\1{MASK}",
        "aws",
        flags=_I,
    ),
    # --password x, --api-key=x, --db-token 'x': command lines in events and Job logs.
    _shape(
        "cli-flag",
        rf"(?<![\w-])(--?[\w-]*?{_KEY}(?:\s+|=))(?!-|{_STOP}|\[REDACTED\])({_QUOTED}|\S+)",
        _keep_quotes,
        "--",
        flags=_I,
    ),
    # "password": "x", \"token\": \"x\", password='two words'; token: x, api_key=x,
    # ?sig=x&, client_secret%3Dx; Password=x; and AccountKey=x; of connection strings.
    _shape(
        "key-value",
        rf"({_KEY}{_Q}?{_SEP})({_QUOTED}|(?!{_STOP}|\[REDACTED\]){_BARE})",
        _keep_quotes,
        *_KEY_HINTS,
        flags=_I,
    ),
    # MYSQL_ROOT_PASSWORD x: an environment variable's name, a space, its value.
    _shape(
        "env-name-space",
        r"(?<![\w-])([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)*_(?:PASSWORD|PASSWD|PASS|PWD|SECRET|TOKEN"
        r"|KEY|APIKEY|CREDENTIALS?)[ \t]+)"
        rf"(?!{_STOP}|\[REDACTED\]|[-=:(<*])[^\s\"'`,;]+",
        rf"\1{MASK}",
        "password",
        "passwd",
        "pass",
        "pwd",
        "secret",
        "token",
        "key",
        "credential",
    ),
    # Prose: "the password was hunter2", "api key is abc123".
    _shape(
        "prose",
        r"\b((?:pass(?:word|wd|phrase)|secret|token|api[ _-]?key)\s+(?:was|is)(?:\s+set\s+to)?"
        rf"\s+[\"']?)(?!{_STOP}|\[REDACTED\])[^\s\"'`,;]+",
        rf"\1{MASK}",
        "pass",
        "secret",
        "token",
        "key",
        flags=_I,
    ),
)
