"""Everything the service knows about one monitored model.

Owned by `drift.service`, one per configured namespace/name. Takes parsed events
(`drift.ingest.cloudevents`, `drift.ingest.model_bodies`) into its windows
(`drift.ingest.window`), captures its reference when no file is configured
(`drift.ingest.capture`), joins predictions with labels (`drift.ingest.feedback`), and
turns a `Snapshot` into an `Evaluation` (`drift.evaluation`) with `drift.stats.engine` on
the service's `Compute`; the snapshot is taken on the event loop, the statistics run in a
thread. `arrays`/`load` are what `drift.persist` writes and reads.
"""

from __future__ import annotations

from collections import deque
from datetime import UTC, datetime
from typing import Any

import numpy as np
import numpy.typing as npt

from bot.config_sections.drift import DriftModelSettings, DriftSettings
from bot.drift.evaluation import Evaluation, Snapshot
from bot.drift.ingest.capture import Capture, text_column
from bot.drift.ingest.cloudevents import InferenceEvent, IngestError
from bot.drift.ingest.feedback import Feedback
from bot.drift.ingest.model_bodies import (
    Value,
    columns_for,
    parse_predictions,
    parse_request,
)
from bot.drift.ingest.window import Window, prediction_matrices
from bot.drift.stats.compute import Compute
from bot.drift.stats.engine import Reference
from bot.drift.stats.results import DriftOptions

PREDICTION = "prediction"


class ModelMonitor:
    """Windows, reference, feedback and history of one model."""

    def __init__(
        self,
        config: DriftModelSettings,
        settings: DriftSettings,
        reference: dict[str, npt.NDArray[Any]] | None = None,
    ) -> None:
        self.config = config
        self.settings = settings
        self.key = f"{config.namespace}/{config.name}"
        self.categorical = frozenset(config.categorical)
        self.features: tuple[str, ...] | None = None
        self.reference: Reference | None = None
        self.reference_from_file = reference is not None
        self._capture = Capture(config.capture_rows)
        self._reference_columns: dict[str, npt.NDArray[Any]] | None = None
        if reference is not None:
            names: tuple[str, ...] = tuple(config.features) or tuple(reference)
            self.set_features(names)
            self.set_reference({n: reference[n] for n in names})
        elif config.features:
            self.set_features(config.features)
        classification = config.task == "classification"
        self.predictions = Window(
            0 if classification else 1, 1 if classification else 0,
            settings.window_rows, settings.window_seconds,
        )  # fmt: skip
        self.prediction_reference: Reference | None = None
        self._prediction_capture = Capture(config.capture_rows)
        self.feedback = self.new_feedback()
        self.history: deque[Evaluation] = deque(maxlen=settings.history)
        self.rows_ingested = 0

    def new_feedback(self) -> Feedback:
        """Empty ground truth state as the settings make it (the shared one loads into it)."""
        s, config = self.settings, self.config
        return Feedback(
            config.task, rows=s.feedback_rows, pending=s.pending_ids,
            baseline=config.accuracy_baseline, baseline_rows=s.min_rows,
        )  # fmt: skip

    def set_features(self, names: tuple[str, ...]) -> None:
        """Name the input features (from the config, the reference or the first request)."""
        if len(names) > self.settings.max_features:
            raise IngestError(
                422, "shape_mismatch",
                f"{len(names)} features; drift.max_features allows {self.settings.max_features}",
            )  # fmt: skip
        self.features = names
        self.numeric = tuple(n for n in names if n not in self.categorical)
        self.text = tuple(n for n in names if n in self.categorical)
        self.window = Window(
            len(self.numeric), len(self.text), self.settings.window_rows,
            self.settings.window_seconds,
        )  # fmt: skip

    def set_reference(self, columns: dict[str, npt.NDArray[Any]]) -> None:
        """Use `columns` as the input reference (a file's, or captured from first rows)."""
        self._reference_columns = columns
        self.reference = Reference(columns, self.categorical)

    # --- ingest ------------------------------------------------------------------------

    def ingest(self, event: InferenceEvent, now: float) -> int:
        """Take one request or response event; the number of rows it added."""
        if event.kind == "response":
            return self._ingest_response(event, now)
        typed, count = self.typed_inputs(event)
        taken = 0
        if self.reference is None:
            taken = self._capture.take(typed, count)
            if self._capture.done:
                self.set_reference(self._capture.columns())
        if taken < count:
            self.window.append(*self.input_matrices(typed, taken), now)
        self.rows_ingested += count
        return count

    def typed_inputs(self, event: InferenceEvent) -> tuple[dict[str, npt.NDArray[Any]], int]:
        """The columns of a request event by feature name, typed; and its row count.

        The first request of a model without configured features names them."""
        rows = parse_request(event.body)
        if self.features is None:
            width = len(rows.columns)
            self.set_features(rows.names or tuple(f"f{i}" for i in range(width)))
        assert self.features is not None
        columns = dict(zip(self.features, columns_for(rows, self.features), strict=True))
        typed: dict[str, npt.NDArray[Any]] = {}
        for name, column in columns.items():
            if name in self.categorical:
                typed[name] = text_column(column)
            elif column.dtype.kind != "f":
                raise IngestError(400, "malformed", f"feature {name!r} must be numeric")
            else:
                typed[name] = column
        return typed, rows.count

    def input_matrices(
        self, typed: dict[str, npt.NDArray[Any]], start: int = 0
    ) -> tuple[npt.NDArray[np.float64], npt.NDArray[Any]]:
        """(numeric, text) matrices of typed columns from row `start` on, in window order."""
        count = len(next(iter(typed.values()))) - start
        numeric = (
            np.column_stack([typed[n][start:] for n in self.numeric])
            if self.numeric
            else np.zeros((count, 0))
        )
        text = (
            np.column_stack([typed[n][start:] for n in self.text])
            if self.text
            else np.zeros((count, 0), dtype=object)
        )
        return numeric, text

    def prediction_column(
        self, event: InferenceEvent
    ) -> tuple[tuple[Value, ...], npt.NDArray[Any]]:
        """The predictions of a response event, and them as one typed column."""
        predictions = parse_predictions(event.body, self.config.output)
        if self.config.task == "classification":
            kind = object if any(isinstance(p, str) for p in predictions) else np.float64
            return predictions, text_column(np.asarray(predictions, dtype=kind))
        if not all(isinstance(p, float) for p in predictions):
            raise IngestError(400, "malformed", "regression predictions must be numbers")
        return predictions, np.asarray(predictions, dtype=np.float64)

    def _ingest_response(self, event: InferenceEvent, now: float) -> int:
        predictions, column = self.prediction_column(event)
        self.feedback.add_predictions(event.id, predictions)
        taken = 0 if self.prediction_reference is not None else self._capture_predictions(column)
        rest = column[taken:]
        if rest.shape[0]:
            self.predictions.append(*prediction_matrices(self.config.task, rest), now)
        return int(column.shape[0])

    def _capture_predictions(self, column: npt.NDArray[Any]) -> int:
        """Keep predictions for the prediction reference, made once enough are kept."""
        taken = self._prediction_capture.take({PREDICTION: column}, column.shape[0])
        if self._prediction_capture.done:
            classification = self.config.task == "classification"
            self.prediction_reference = Reference(
                self._prediction_capture.columns(), {PREDICTION} if classification else ()
            )
        return taken

    def add_labels(self, request_id: str, labels: tuple[Value, ...]) -> int:
        """Ground truth for one request id; rows joined with a prediction now."""
        try:
            return self.feedback.add_labels(request_id, labels)
        except ValueError as exc:
            raise IngestError(422, "shape_mismatch", str(exc)) from None

    # --- evaluation ----------------------------------------------------------------------

    def snapshot(self, now: float) -> Snapshot:
        """Copies of the live windows (call on the event loop)."""
        columns: dict[str, npt.NDArray[Any]] = {}
        note = ""
        if self.features is not None:
            numeric, text, _ = self.window.snapshot(now)
            columns = {n: numeric[:, i] for i, n in enumerate(self.numeric)}
            columns.update({n: text[:, i].astype(str) for i, n in enumerate(self.text)})
        if self.reference is None:
            note = f"capturing the reference: {self._capture.rows} of {self._capture.target} rows"
        numeric_p, text_p, _ = self.predictions.snapshot(now)
        predictions = text_p[:, 0].astype(str) if text_p.shape[1] else numeric_p[:, 0]
        return Snapshot(
            model=self.key,
            at=datetime.fromtimestamp(now, UTC),
            reference=self.reference,
            columns=columns,
            prediction_reference=self.prediction_reference,
            predictions=predictions,
            quality=self.feedback.quality(),
            note=note,
        )

    def options(self) -> DriftOptions:
        """Engine options from the settings."""
        s = self.settings
        return DriftOptions(
            alpha=s.alpha, correction=s.correction, min_rows=s.min_rows,
            wasserstein_floor=s.wasserstein_floor, js_floor=s.js_floor,
            dataset_share=s.dataset_share,
        )  # fmt: skip

    @staticmethod
    def evaluate(snapshot: Snapshot, options: DriftOptions, compute: Compute) -> Evaluation:
        """The statistics of a snapshot (pure; runs in a worker thread, on `compute`)."""
        inputs = None
        if snapshot.reference is not None:
            inputs = snapshot.reference.evaluate(snapshot.columns, options, compute)
        predictions = None
        if snapshot.prediction_reference is not None:
            predictions = snapshot.prediction_reference.evaluate(
                {PREDICTION: snapshot.predictions}, options, compute
            )
        return Evaluation(
            snapshot.model, snapshot.at, inputs, predictions, snapshot.quality, snapshot.note
        )

    def record(self, evaluation: Evaluation) -> None:
        """Keep an evaluation in the bounded history."""
        self.history.append(evaluation)

    @property
    def memory_bytes(self) -> int:
        """Bytes held by this replica's windows of the model."""
        held = self.predictions.memory_bytes
        return held + self.window.memory_bytes if self.features is not None else held

    @property
    def latest(self) -> Evaluation | None:
        """The newest evaluation, if any."""
        return self.history[-1] if self.history else None

    # --- persistence ---------------------------------------------------------------------

    def arrays(self, now: float) -> dict[str, npt.NDArray[Any]]:
        """Windows and the captured reference as plain arrays (no pickling)."""
        out: dict[str, npt.NDArray[Any]] = {}
        if self.features is not None:
            out["features"] = np.array(self.features, dtype=str)
            out.update({f"window_{k}": v for k, v in self.window.state(now).items()})
            captured = self._reference_columns if not self.reference_from_file else None
            if captured is None and self._capture.parts:
                captured = self._capture.columns()
            for name, values in (captured or {}).items():
                out[f"ref__{name}"] = np.asarray(values)
            out["ref_complete"] = np.array(
                self.reference is not None and not self.reference_from_file
            )
        out.update({f"pred_{k}": v for k, v in self.predictions.state(now).items()})
        if self.prediction_reference is not None or self._prediction_capture.parts:
            out["pred_ref"] = np.asarray(self._prediction_capture.columns()[PREDICTION])
        return out

    def load(self, arrays: dict[str, npt.NDArray[Any]]) -> None:
        """Restore from `arrays`; a stored layout that no longer fits the config is refused."""
        if "features" in arrays:
            names = tuple(str(n) for n in arrays["features"])
            if self.features is not None and names != self.features:
                raise ValueError(f"stored features {names} differ from the configured ones")
            if self.features is None:
                self.set_features(names)
            self.window.load({k[7:]: v for k, v in arrays.items() if k.startswith("window_")})
            captured = {k[5:]: v for k, v in arrays.items() if k.startswith("ref__")}
            if captured and not self.reference_from_file:
                if bool(arrays.get("ref_complete", False)):
                    self.set_reference(captured)
                else:
                    self._capture.take(captured, len(next(iter(captured.values()))))
        self.predictions.load(
            {k[5:]: v for k, v in arrays.items() if k.startswith("pred_") and k != "pred_ref"}
        )
        if "pred_ref" in arrays:
            self._capture_predictions(arrays["pred_ref"])
