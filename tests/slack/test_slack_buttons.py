"""Button payloads: pack/unpack round trip, length and character checks, limit checker."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.model.actions import ACTIONS
from bot.slack.buttons import ButtonError, ButtonPayload, group_id
from bot.slack.limits import clip, clip_code, violations

GID = group_id('{}:{alertname="X"}')


def test_group_id_is_short_and_stable() -> None:
    assert group_id('{}:{alertname="X"}') == GID and len(GID) == 16
    assert group_id("other") != GID


@given(
    action=st.sampled_from(ACTIONS),
    target=st.from_regex(r"[a-z0-9-]{0,63}/[a-z0-9.-]{0,200}", fullmatch=True),
    arg=st.from_regex(r"[A-Za-z0-9.-]{0,100}", fullmatch=True),
)
def test_pack_unpack_round_trip(action: str, target: str, arg: str) -> None:
    payload = ButtonPayload(action, GID, target, arg)  # type: ignore[arg-type]
    assert ButtonPayload.unpack(payload.pack()) == payload


@pytest.mark.parametrize(
    "value",
    [
        "",
        "rollback",
        "tb1|rollback|" + GID + "|a/b",  # missing field
        "tb3|rollback|" + GID + "|a/b|",  # other version
        "tb1|delete|" + GID + "|a/b|",  # unknown action
        "tb1|ack|nothex0123456789|a/b|",
        "tb2|ack|" + GID + "|a%01b|",  # a control character in the target
        "tb2|ack|" + GID + "|a%FFb|",  # not UTF-8 once decoded
        "tb1|ack|" + GID + "|a/b|x|y",
        "tb1|ack|" + GID + "|" + "a" * 2100 + "|",
    ],
)
def test_unpack_refuses_values_it_did_not_make(value: str) -> None:
    with pytest.raises(ButtonError):
        ButtonPayload.unpack(value)


@given(
    target=st.text(st.characters(blacklist_categories=("Cc", "Cs")), max_size=200),
    arg=st.text(st.characters(blacklist_categories=("Cc", "Cs")), max_size=50),
)
def test_any_target_an_alert_can_name_fits_a_button(target: str, arg: str) -> None:
    # A space, a comma or the separator in a model name once made rendering raise and the
    # group was never posted.
    payload = ButtonPayload("rollback", GID, target, arg)
    assert ButtonPayload.unpack(payload.pack()) == payload


def test_control_characters_and_oversized_fields_are_refused() -> None:
    with pytest.raises(ButtonError, match="control"):
        ButtonPayload("ack", GID, "a\nb")
    with pytest.raises(ButtonError, match="longer"):
        ButtonPayload("ack", GID, "a" * 601)


def test_buttons_of_older_messages_still_unpack() -> None:
    old = ButtonPayload.unpack("tb1|silence|" + GID + "|models/wine|1h")
    assert old == ButtonPayload("silence", GID, "models/wine", "1h")


def test_clip_marks_truncation() -> None:
    assert clip("abc", 5) == "abc"
    cut = clip("a" * 100, 20)
    assert len(cut) == 20 and cut.endswith("(truncated)")
    code = clip_code("x" * 500, 100)
    assert len(code) <= 100 and code.startswith("```\n") and code.endswith("\n```")


def test_violations_finds_each_kind_of_breach() -> None:
    bad: dict[str, Any] = {
        "text": "t" * 3001,
        "blocks": [{"type": "header", "text": {"type": "plain_text", "text": "h" * 151}}]
        + [{"type": "divider"}] * 50,
        "attachments": [
            {
                "blocks": [
                    {"type": "section", "text": {"type": "mrkdwn", "text": "s" * 3001}},
                    {"type": "section", "fields": [{"text": "f" * 2001}] * 11},
                    {"type": "context", "elements": [{"text": "c" * 3001}] * 11},
                    {"type": "actions", "elements": [{"type": "button", "action_id": str(i)}
                                                     for i in range(26)]},
                    {
                        "type": "actions",
                        "elements": [
                            {"type": "button", "text": {"text": "b" * 76}, "action_id": "a",
                             "value": "v" * 2001},
                            {"type": "button", "text": {"text": "ok"}, "action_id": "a"},
                        ],
                    },
                ]
            }
        ],
    }  # fmt: skip
    found = "\n".join(violations(bad))
    for expected in ("blocks, over 50", "fallback text", "header text", "section text",
                     "button text", "button value", "duplicate action_id",
                     "more than 10 fields", "a field over 2000", "more than 10 context elements",
                     "a context element over 3000", "more than 25 action elements"):  # fmt: skip
        assert expected in found
    assert violations({"text": "ok", "blocks": bad["attachments"][0]["blocks"][:1]}) == [
        "blocks[0]: section text over 3000"
    ]
