"""Ground truth joined to predictions by request id: rolling accuracy or MAE / RMSE.

Owned by `drift.monitor`. Predictions arrive with the response events, labels with
`POST /ingest/feedback`, often hours later and in either order; both wait in bounded
maps keyed by request id. Each joined row adds one outcome (1/0 correct for
classification, the error for regression) to a bounded rolling window. The baseline is
the configured one or the accuracy of the first full `baseline_rows` outcomes.
"""

from __future__ import annotations

import math
from collections import OrderedDict, deque
from dataclasses import dataclass
from typing import Any, Literal

from bot.drift.ingest.model_bodies import Value, category_label

Task = Literal["classification", "regression"]


@dataclass(frozen=True)
class Quality:
    """The model's rolling quality now."""

    labelled: int
    accuracy: float | None = None
    accuracy_baseline: float | None = None
    mae: float | None = None
    rmse: float | None = None


def _same(prediction: Value, label: Value) -> bool:
    if isinstance(prediction, float) and isinstance(label, float):
        return prediction == label
    return category_label(prediction) == category_label(label)


class Feedback:
    """Predictions waiting for labels, labels waiting for predictions, and outcomes."""

    def __init__(
        self,
        task: Task,
        *,
        rows: int,
        pending: int,
        baseline: float | None = None,
        baseline_rows: int = 100,
    ) -> None:
        self.task = task
        self._pending = pending
        self._baseline_rows = baseline_rows
        self.baseline = baseline
        self._predictions: OrderedDict[str, tuple[Value, ...]] = OrderedDict()
        self._labels: OrderedDict[str, tuple[Value, ...]] = OrderedDict()
        self.outcomes: deque[float] = deque(maxlen=rows)
        self._first: list[float] = []

    def _remember(
        self, store: OrderedDict[str, tuple[Value, ...]], key: str, value: tuple[Value, ...]
    ) -> None:
        store[key] = value
        store.move_to_end(key)
        while len(store) > self._pending:
            store.popitem(last=False)

    def add_predictions(self, request_id: str, predictions: tuple[Value, ...]) -> int:
        """Keep a response's predictions; joins labels already waiting. Returns rows joined."""
        labels = self._labels.pop(request_id, None)
        if labels is None:
            self._remember(self._predictions, request_id, predictions)
            return 0
        return self._join(predictions, labels)

    def add_labels(self, request_id: str, labels: tuple[Value, ...]) -> int:
        """Keep ground truth; joins a prediction already seen. Returns rows joined."""
        predictions = self._predictions.pop(request_id, None)
        if predictions is None:
            self._remember(self._labels, request_id, labels)
            return 0
        return self._join(predictions, labels)

    def _join(self, predictions: tuple[Value, ...], labels: tuple[Value, ...]) -> int:
        if len(predictions) != len(labels):
            raise ValueError(f"{len(labels)} labels for a request with {len(predictions)} rows")
        for p, y in zip(predictions, labels, strict=True):
            if self.task == "classification":
                outcome = 1.0 if _same(p, y) else 0.0
            else:
                if not isinstance(p, float) or not isinstance(y, float):
                    raise ValueError("regression labels and predictions must be numbers")
                outcome = p - y
            self.outcomes.append(outcome)
            # only accuracy has a baseline: regression errors need not be kept for one
            if self.task == "classification" and self.baseline is None:
                self._first.append(outcome)
                if len(self._first) >= self._baseline_rows:
                    self.baseline = sum(self._first) / len(self._first)
        return len(labels)

    def quality(self) -> Quality:
        """Rolling accuracy (classification) or MAE and RMSE (regression)."""
        n = len(self.outcomes)
        if n == 0:
            return Quality(0, accuracy_baseline=self.baseline)
        if self.task == "classification":
            return Quality(n, accuracy=sum(self.outcomes) / n, accuracy_baseline=self.baseline)
        mae = sum(abs(e) for e in self.outcomes) / n
        rmse = math.sqrt(sum(e * e for e in self.outcomes) / n)
        return Quality(n, mae=mae, rmse=rmse)

    def state(self) -> dict[str, Any]:
        """JSON-ready state for `drift.persist`."""
        return {
            "baseline": self.baseline,
            "first": self._first,
            "outcomes": list(self.outcomes),
            "predictions": [[k, list(v)] for k, v in self._predictions.items()],
            "labels": [[k, list(v)] for k, v in self._labels.items()],
        }

    def load(self, state: dict[str, Any]) -> None:
        """Restore what `state` returned."""
        if self.baseline is None:
            self.baseline = state.get("baseline")
        self._first = [float(x) for x in state.get("first", [])]
        self.outcomes.extend(float(x) for x in state.get("outcomes", []))
        for key, values in state.get("predictions", []):
            self._remember(self._predictions, str(key), tuple(values))
        for key, values in state.get("labels", []):
            self._remember(self._labels, str(key), tuple(values))
