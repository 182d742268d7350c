"""The one escaping boundary for Slack text, and the one place links are made.

Pure. `slack.render`, `slack.sections`, `slack.digest`, `slack.notifier` and
`slack.dispatch` pass every text that came from outside the bot (alert labels and
annotations, log lines, Kubernetes event messages, Job logs, Prometheus label values,
button fields, action outcomes) through `escape` (mrkdwn and the fallback `text`) or
`plain` (plain_text objects) before it goes into a message. Slack reads `<!channel>`,
`<@U1>`, `<#C1>` and `<https://x|label>` only where a literal `<` reaches it, so after
`escape` no outside text can mention anyone or disguise a link. Links are built by `link`
only, for http(s) URLs whose host the operator trusts; anything else is shown as code.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from urllib.parse import quote, urlsplit

MAX_URL = 1000
_USER_ID = re.compile(r"^[UW][A-Z0-9]{1,30}$")


def escape(text: str) -> str:
    """Text safe in mrkdwn (and in code blocks, where Slack decodes entities too)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def plain(text: str) -> str:
    """Text for a plain_text object: Slack shows entities there literally, so the angle
    brackets become look-alikes (‹ ›) that can never open a mention or a link."""
    return text.replace("<", "‹").replace(">", "›")


def user_mention(user_id: str) -> str:
    """`<@U…>` for a Slack user ID from a signed payload; the escaped text for anything else."""
    return f"<@{user_id}>" if _USER_ID.match(user_id) else escape(user_id)


def host_of(url: str) -> str:
    """The lower-case host of an http(s) URL; empty when it is not one."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return ""
    if parts.scheme not in ("http", "https"):
        return ""
    return (parts.hostname or "").lower()


def trusted_hosts(urls: Collection[str], extra: Collection[str]) -> frozenset[str]:
    """The hosts of the operator's own URLs (Prometheus, Alertmanager) plus an allow-list."""
    hosts = {host_of(u) for u in urls if u}
    hosts |= {h.strip().lower() for h in extra if h.strip()}
    hosts.discard("")
    return frozenset(hosts)


def _url_text(url: str) -> str:
    # Inside `<url|label>`: `|` and `>` would end the URL, `<` and spaces break it.
    unsafe = quote(url, safe=":/?#[]@!$&'()*+,;=%~-._")
    return escape(unsafe)


def link(url: str, label: str, hosts: Collection[str]) -> str:
    """`<url|label>` when `url` is http(s) on a trusted host; else the label and the URL as
    inline code (Slack neither links nor parses code), so a person can still read it."""
    url = url.strip()
    if not url:
        return ""
    if len(url) <= MAX_URL and host_of(url) in hosts:
        return f"<{_url_text(url)}|{escape(label)}>"
    shown = url[:200].replace("`", "'")
    return f"{escape(label)} (not linked): `{escape(shown)}`"
