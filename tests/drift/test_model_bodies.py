"""Parsing CloudEvents and model bodies: a table of v1/v2 requests and responses."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from bot.drift.ingest.cloudevents import IngestError, parse_event
from bot.drift.ingest.model_bodies import columns_for, parse_predictions, parse_request


def _cols(body: Any) -> list[list[Any]]:
    rows = parse_request(body)
    return [c.tolist() for c in rows.columns]


@pytest.mark.parametrize(
    ("body", "names", "columns"),
    [
        ({"instances": [[1, 2], [3, 4]]}, None, [[1.0, 3.0], [2.0, 4.0]]),
        ({"instances": [{"a": 1, "b": "x"}, {"a": 2, "b": "y"}]}, ("a", "b"),
         [[1.0, 2.0], ["x", "y"]]),
        ({"instances": [5, 6, 7]}, None, [[5.0, 6.0, 7.0]]),
        ({"instances": [[1], ["x"], [2.5]]}, None, [["1", "x", "2.5"]]),
        ({"inputs": [[1, 2]]}, None, [[1.0], [2.0]]),
        ({"inputs": [{"name": "x", "shape": [2, 2], "datatype": "FP32",
                      "data": [1, 2, 3, 4]}]}, None, [[1.0, 3.0], [2.0, 4.0]]),
        ({"inputs": [{"name": "x", "shape": [2, 2], "datatype": "FP32",
                      "data": [[1, 2], [3, 4]]}]}, None, [[1.0, 3.0], [2.0, 4.0]]),
        ({"inputs": [{"name": "a", "shape": [2], "datatype": "INT64", "data": [1, 2]},
                     {"name": "c", "shape": [2, 1], "datatype": "BYTES", "data": ["u", "v"]}]},
         ("a", "c"), [[1.0, 2.0], ["u", "v"]]),
    ],
)  # fmt: skip
def test_requests(body: Any, names: tuple[str, ...] | None, columns: list[list[Any]]) -> None:
    assert parse_request(body).names == names
    assert _cols(body) == columns


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        ([1, 2], 400, "JSON object"),
        ({"instances": []}, 400, "non-empty"),
        ({"instances": [[1, None]]}, 400, "expected a number or a string"),
        ({"instances": [[1, float("inf")]]}, 400, "non-finite"),
        ({"inputs": [{"name": "a", "shape": [2], "data": [1, 2]},
                     {"name": "b", "shape": [3], "data": [1, 2, 3]}]}, 422, "batch size"),
        ({"inputs": [{"name": "a", "shape": [2, 2], "data": [1, 2, 3, 4]},
                     {"name": "b", "shape": [2], "data": [1, 2]}]}, 422, "one value per row"),
        ({"inputs": [{"name": "a", "shape": "2", "data": [1]}]}, 400, "name (string), shape"),
    ],
)  # fmt: skip
def test_bad_requests(body: Any, status: int, message: str) -> None:
    with pytest.raises(IngestError) as caught:
        parse_request(body)
    assert caught.value.status == status and message in caught.value.message


def test_named_columns_follow_the_model_order() -> None:
    rows = parse_request({"instances": [{"b": 1, "a": 2}]})
    assert [c.tolist() for c in columns_for(rows, ("a", "b"))] == [[2.0], [1.0]]
    with pytest.raises(IngestError, match="3 features per row, the model has 2"):
        columns_for(parse_request({"instances": [[1, 2, 3]]}), ("a", "b"))


@pytest.mark.parametrize(
    ("body", "output", "expected"),
    [
        ({"predictions": [1, 0, 2]}, None, (1.0, 0.0, 2.0)),
        ({"predictions": [[0.1, 0.9], [0.8, 0.2]]}, None, (1.0, 0.0)),
        ({"predictions": ["cat"]}, None, ("cat",)),
        ({"outputs": [{"name": "p", "shape": [2], "datatype": "FP32", "data": [0.5, 1.5]}]},
         None, (0.5, 1.5)),
        ({"outputs": [{"name": "s", "shape": [1, 3], "datatype": "FP32", "data": [0, 3, 1]},
                      {"name": "label", "shape": [1], "datatype": "BYTES", "data": ["b"]}]},
         "label", ("b",)),
    ],
)  # fmt: skip
def test_predictions(body: Any, output: str | None, expected: tuple[Any, ...]) -> None:
    assert parse_predictions(body, output) == expected


def test_structured_event_with_base64_data() -> None:
    data = base64.b64encode(json.dumps({"instances": [[1]]}).encode()).decode()
    envelope = {
        "specversion": "1.0", "id": "e1", "source": "s",
        "type": "org.kubeflow.serving.inference.response",
        "inferenceservicename": "m", "namespace": "ns", "data_base64": data,
    }  # fmt: skip
    event = parse_event(
        {"Content-Type": "application/cloudevents+json; charset=utf-8"},
        json.dumps(envelope).encode(),
    )
    assert (event.id, event.kind, event.namespace, event.service) == ("e1", "response", "ns", "m")
    assert event.body == {"instances": [[1]]}


def test_binary_event_needs_model_headers() -> None:
    headers = {"ce-id": "1", "ce-specversion": "1.0", "ce-type": "x.inference.request"}
    with pytest.raises(IngestError, match="ce-namespace and ce-inferenceservicename"):
        parse_event(headers, b"{}")


def test_deeply_nested_body_is_refused_not_crashed() -> None:
    headers = {"ce-id": "1", "ce-specversion": "1.0", "ce-type": "x.inference.request",
               "ce-namespace": "ns", "ce-inferenceservicename": "m"}  # fmt: skip
    with pytest.raises(IngestError, match="nested too deeply"):
        parse_event(headers, b"[" * 100_000 + b"]" * 100_000)
