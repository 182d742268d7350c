"""Pydantic errors read as field paths, the same for every edge that shows them."""

from __future__ import annotations

import pytest
from pydantic import BaseModel, ValidationError

from bot.field_errors import field_errors, field_path, first_error


class _Inner(BaseModel):
    count: int


class _Outer(BaseModel):
    items: list[_Inner]


def _error(data: object) -> ValidationError:
    with pytest.raises(ValidationError) as caught:
        _Outer.model_validate(data)
    return caught.value


def test_a_nested_location_reads_as_a_dotted_path() -> None:
    exc = _error({"items": [{"count": 1}, {"count": "many"}]})
    assert first_error(exc, "(body)").startswith("items.1.count: Input should be a valid integer")
    assert field_errors(exc, "(body)") == [
        {
            "field": "items.1.count",
            "message": "Input should be a valid integer, unable to parse string as an integer",
        }
    ]


def test_the_whole_document_is_named_by_the_caller() -> None:
    assert first_error(_error([1]), "(top level)").startswith("(top level): Input should be")
    assert field_path((), "payload") == "payload"
