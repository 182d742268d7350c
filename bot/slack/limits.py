"""Slack's Block Kit size limits: clipping helpers and a checker.

Pure. `slack.render` clips every text it writes with `clip`; the tests (and the notifier,
as a last guard before sending) call `violations` on a whole message.
"""

from __future__ import annotations

from typing import Any

MAX_BLOCKS = 50
MAX_TEXT = 3000
MAX_HEADER = 150
MAX_BUTTON_TEXT = 75
MAX_BUTTON_VALUE = 2000
MAX_ACTION_ID = 255
MAX_FIELD = 2000
MAX_FIELDS = 10
MAX_CONTEXT_ELEMENTS = 10
MAX_ACTION_ELEMENTS = 25
MAX_CONFIRM_TITLE = 100
MAX_CONFIRM_TEXT = 300
MAX_CONFIRM_BUTTON = 30
MAX_FALLBACK = 3000

MARKER = "… (truncated)"


def clip(text: str, limit: int, marker: str = MARKER) -> str:
    """`text`, cut to `limit` characters with a visible marker when it was longer."""
    if len(text) <= limit:
        return text
    if limit <= len(marker):
        return text[:limit]
    return text[: limit - len(marker)] + marker


def clip_code(text: str, limit: int) -> str:
    """A fenced code block of at most `limit` characters (fences and marker included)."""
    body = text.replace("```", "ˋˋˋ")  # a fence inside would end the block early
    inner = limit - 8  # two fences and two newlines
    if len(body) > inner:
        body = clip(body, inner)
    return f"```\n{body}\n```"


def _text_of(obj: Any) -> str:
    if isinstance(obj, dict):
        return str(obj.get("text", ""))
    return ""


def _check_confirm(confirm: dict[str, Any], where: str, out: list[str]) -> None:
    if len(_text_of(confirm.get("title"))) > MAX_CONFIRM_TITLE:
        out.append(f"{where}: confirm title over {MAX_CONFIRM_TITLE}")
    if len(_text_of(confirm.get("text"))) > MAX_CONFIRM_TEXT:
        out.append(f"{where}: confirm text over {MAX_CONFIRM_TEXT}")
    for key in ("confirm", "deny"):
        if len(_text_of(confirm.get(key))) > MAX_CONFIRM_BUTTON:
            out.append(f"{where}: confirm {key} over {MAX_CONFIRM_BUTTON}")


def _check_texts(
    items: list[Any], noun: str, max_items: int, max_text: int | None, where: str, out: list[str]
) -> None:
    """A list of text objects: how many there are and (when limited) how long each is."""
    if len(items) > max_items:
        out.append(f"{where}: more than {max_items} {noun}s")
    if max_text is not None and any(len(_text_of(i)) > max_text for i in items):
        out.append(f"{where}: a {noun} over {max_text}")


def _check_block(block: dict[str, Any], where: str, out: list[str]) -> None:
    kind = block.get("type")
    if kind == "header":
        if len(_text_of(block.get("text"))) > MAX_HEADER:
            out.append(f"{where}: header text over {MAX_HEADER}")
    elif kind == "section":
        if len(_text_of(block.get("text"))) > MAX_TEXT:
            out.append(f"{where}: section text over {MAX_TEXT}")
        _check_texts(block.get("fields", []), "field", MAX_FIELDS, MAX_FIELD, where, out)
    elif kind == "context":
        items = block.get("elements", [])
        _check_texts(items, "context element", MAX_CONTEXT_ELEMENTS, MAX_TEXT, where, out)
    elif kind == "actions":
        elements = block.get("elements", [])
        _check_texts(elements, "action element", MAX_ACTION_ELEMENTS, None, where, out)
        for i, element in enumerate(elements):
            at = f"{where}.elements[{i}]"
            if len(_text_of(element.get("text"))) > MAX_BUTTON_TEXT:
                out.append(f"{at}: button text over {MAX_BUTTON_TEXT}")
            if len(str(element.get("value", ""))) > MAX_BUTTON_VALUE:
                out.append(f"{at}: button value over {MAX_BUTTON_VALUE}")
            if len(str(element.get("action_id", ""))) > MAX_ACTION_ID:
                out.append(f"{at}: action_id over {MAX_ACTION_ID}")
            if "confirm" in element:
                _check_confirm(element["confirm"], at, out)
        ids = [e.get("action_id") for e in elements]
        if len(ids) != len(set(ids)):
            out.append(f"{where}: duplicate action_id")


def violations(message: dict[str, Any]) -> list[str]:
    """Every Slack limit the message breaks; empty when Slack will accept its size."""
    out: list[str] = []
    blocks: list[tuple[str, dict[str, Any]]] = [
        (f"blocks[{i}]", b) for i, b in enumerate(message.get("blocks", []))
    ]
    for a, attachment in enumerate(message.get("attachments", [])):
        blocks += [
            (f"attachments[{a}].blocks[{i}]", b) for i, b in enumerate(attachment.get("blocks", []))
        ]
    if len(blocks) > MAX_BLOCKS:
        out.append(f"{len(blocks)} blocks, over {MAX_BLOCKS}")
    if len(str(message.get("text", ""))) > MAX_FALLBACK:
        out.append(f"fallback text over {MAX_FALLBACK}")
    for where, block in blocks:
        _check_block(block, where, out)
    return out
