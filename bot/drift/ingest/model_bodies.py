"""Model bodies to rows: the v1 protocol and the v2 / Open Inference Protocol.

Called by `drift.monitor` with the JSON body of an `InferenceEvent`; returns `Rows`
(feature values by column) or `Predictions`. Requests: v1 `{"instances": [...]}` with
rows as lists, dicts or scalars; v2 `{"inputs": [{"name", "shape", "datatype", "data"}]}`
with one [batch, features] tensor or one [batch] tensor per feature. Responses: v1
`{"predictions": [...]}`, v2 `{"outputs": [...]}`. Pure; problems are `IngestError`s.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from bot.drift.ingest.cloudevents import IngestError

Value = float | str
Column = npt.NDArray[Any]  # float64 for numbers, str_ for text


@dataclass(frozen=True)
class Rows:
    """A batch of input rows: column names when the body names them, and the columns."""

    names: tuple[str, ...] | None
    columns: tuple[Column, ...]

    @property
    def count(self) -> int:
        """Rows in the batch."""
        return len(self.columns[0]) if self.columns else 0


def _shape_error(message: str) -> IngestError:
    return IngestError(422, "shape_mismatch", message)


def _malformed(message: str) -> IngestError:
    return IngestError(400, "malformed", message)


def _scalar(value: Any, where: str) -> Value:
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, int | float):
        number = float(value)
        if not math.isfinite(number):
            raise _malformed(f"{where}: non-finite number")
        return number
    if isinstance(value, str):
        return value
    raise _malformed(f"{where}: expected a number or a string, got {type(value).__name__}")


def category_label(value: Value) -> str:
    """A category label: 1.0 and "1" are the same category (inputs, predictions, labels)."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _flatten(data: Any, where: str) -> list[Any]:
    if not isinstance(data, list):
        return [data]
    if not data or not isinstance(data[0], list):
        if any(isinstance(item, list) for item in data):
            raise _malformed(f"{where}: data mixes lists and values")
        return data
    flat: list[Any] = []
    stack = [iter(data)]
    while stack:
        for item in stack[-1]:
            if isinstance(item, list):
                stack.append(iter(item))
                break
            flat.append(item)
        else:
            stack.pop()
    return flat


def _tensor(entry: Any, index: int, field: str) -> tuple[str, list[int], list[Any]]:
    where = f"{field}[{index}]"
    if not isinstance(entry, dict):
        raise _malformed(f"{where} must be an object with name, shape, datatype, data")
    name, shape, data = entry.get("name"), entry.get("shape"), entry.get("data")
    if not isinstance(name, str) or not isinstance(shape, list) or data is None:
        raise _malformed(f"{where} needs name (string), shape (list) and data")
    if not all(isinstance(s, int) and s >= 0 for s in shape) or not shape:
        raise _malformed(f"{where}.shape must be a non-empty list of non-negative integers")
    flat = _flatten(data, where)
    expected = math.prod(shape)
    if len(flat) != expected:
        raise _shape_error(
            f"{where} ({name}): shape {shape} needs {expected} values, data has {len(flat)}"
        )
    return name, shape, flat


def parse_request(body: Any) -> Rows:
    """Input rows of a v1 or v2 request body."""
    if not isinstance(body, dict):
        raise _malformed("request body must be a JSON object")
    if "instances" in body:
        return _v1_instances(body["instances"])
    inputs = body.get("inputs")
    if isinstance(inputs, list) and inputs and all(isinstance(i, dict) for i in inputs):
        return _v2_inputs(inputs)
    if isinstance(inputs, list):  # v1 columnar "inputs" holds rows like "instances"
        return _v1_instances(inputs)
    raise _malformed("request body has neither instances (v1) nor inputs (v2)")


def _v1_instances(instances: Any) -> Rows:
    if not isinstance(instances, list) or not instances:
        raise _malformed("instances must be a non-empty list")
    first = instances[0]
    if isinstance(first, dict):
        names = tuple(str(k) for k in first)
        columns: list[list[Value]] = [[] for _ in names]
        for r, row in enumerate(instances):
            if not isinstance(row, dict) or set(row) != set(first):
                raise _shape_error(f"instances[{r}] has other keys than instances[0]")
            for c, name in enumerate(names):
                columns[c].append(_scalar(row[name], f"instances[{r}].{name}"))
        return Rows(names, tuple(_array(c, "instances") for c in columns))
    if isinstance(first, list):
        width = len(first)
        columns = [[] for _ in range(width)]
        for r, row in enumerate(instances):
            if not isinstance(row, list) or len(row) != width:
                raise _shape_error(f"instances[{r}] has another length than instances[0] ({width})")
            for c, value in enumerate(row):
                columns[c].append(_scalar(value, f"instances[{r}][{c}]"))
        return Rows(None, tuple(_array(c, "instances") for c in columns))
    return Rows(
        None,
        (_array([_scalar(v, f"instances[{r}]") for r, v in enumerate(instances)], "instances"),),
    )


def _array(values: list[Any], where: str) -> Column:
    """Numbers as float64 in one C pass; text (or a mix) value by value."""
    try:
        numbers = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        return np.asarray([category_label(_scalar(v, where)) for v in values], dtype=str)
    if not np.isfinite(numbers).all():
        raise _malformed(f"{where}: non-finite number")
    return numbers


def _v2_inputs(inputs: list[Any]) -> Rows:
    tensors = [_tensor(entry, i, "inputs") for i, entry in enumerate(inputs)]
    if len(tensors) == 1 and len(tensors[0][1]) == 2:
        name, (batch, width), flat = tensors[0]
        matrix = _array(flat, f"inputs[0] ({name})").reshape(batch, width)
        return Rows(None, tuple(matrix.T))
    batches = {shape[0] for _, shape, _ in tensors}
    if len(batches) != 1:
        raise _shape_error(f"inputs disagree on the batch size: {sorted(batches)}")
    for index, (name, shape, _) in enumerate(tensors):
        if math.prod(shape[1:]) != 1:
            raise _shape_error(
                f"inputs[{index}] ({name}) has shape {shape}: one value per row is expected"
                " when several inputs are sent"
            )
    return Rows(
        tuple(name for name, _, _ in tensors),
        tuple(_array(flat, f"inputs ({name})") for name, _, flat in tensors),
    )


def parse_predictions(body: Any, output: str | None = None) -> tuple[Value, ...]:
    """One prediction per row of a v1 or v2 response; class scores become the arg-max."""
    if not isinstance(body, dict):
        raise _malformed("response body must be a JSON object")
    if "predictions" in body:
        predictions = body["predictions"]
        if not isinstance(predictions, list) or not predictions:
            raise _malformed("predictions must be a non-empty list")
        return tuple(_one_prediction(p, f"predictions[{i}]") for i, p in enumerate(predictions))
    outputs = body.get("outputs")
    if not isinstance(outputs, list) or not outputs:
        raise _malformed("response body has neither predictions (v1) nor outputs (v2)")
    tensors = [_tensor(entry, i, "outputs") for i, entry in enumerate(outputs)]
    chosen = next((t for t in tensors if t[0] == output), None) if output else tensors[0]
    if chosen is None:
        raise _shape_error(f"response has no output named {output!r}")
    name, shape, flat = chosen
    batch = shape[0]
    width = math.prod(shape[1:]) if len(shape) > 1 else 1
    rows = [flat[r * width : (r + 1) * width] for r in range(batch)]
    return tuple(_one_prediction(r if width > 1 else r[0], f"outputs ({name})") for r in rows)


def _one_prediction(value: Any, where: str) -> Value:
    if isinstance(value, list):
        scores = [_scalar(v, where) for v in _flatten(value, where)]
        if not scores or not all(isinstance(s, float) for s in scores):
            raise _malformed(f"{where}: class scores must be numbers")
        if len(scores) == 1:
            return scores[0]
        return float(max(range(len(scores)), key=lambda i: scores[i]))
    return _scalar(value, where)


def columns_for(rows: Rows, features: Sequence[str]) -> tuple[Column, ...]:
    """The batch's columns in the model's feature order; shape problems are 422s."""
    if rows.names is not None and set(features) <= set(rows.names):
        index = {n: i for i, n in enumerate(rows.names)}
        return tuple(rows.columns[index[f]] for f in features)
    if len(rows.columns) != len(features):
        raise _shape_error(
            f"payload has {len(rows.columns)} features per row, the model has {len(features)}"
            + (f" ({', '.join(features)})" if len(features) <= 10 else "")
        )
    return rows.columns
