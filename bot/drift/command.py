"""`triage-bot drift REFERENCE.csv PRODUCTION.csv [--json] [--alpha A]`.

Called by `bot.cli`, which parses the arguments; this module reads both files
(`drift.ingest.tabular`), runs the engine (`drift.stats.engine`) and writes a table for a person or
JSON. Exit codes: 0 no drift, 1 drift, 2 the files cannot be compared (one line on `err`
naming the problem).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, TextIO

import numpy.typing as npt

from bot.drift.history import json_safe
from bot.drift.ingest.tabular import (
    Table,
    TableError,
    category_column,
    is_numeric,
    numeric_column,
    read_table,
)
from bot.drift.stats.compute import Compute
from bot.drift.stats.engine import Reference
from bot.drift.stats.results import DriftOptions, DriftReport, FeatureResult

EXIT_NO_DRIFT, EXIT_DRIFT, EXIT_ERROR = 0, 1, 2


def run_drift_command(
    reference: Path, production: Path, *, alpha: float, as_json: bool, out: TextIO, err: TextIO
) -> int:
    """Compare two CSV files feature by feature; the exit code says drift or not."""
    options = DriftOptions(alpha=alpha)
    try:
        if not (0.0 < alpha < 1.0) or math.isnan(alpha):
            raise TableError(f"--alpha must be between 0 and 1, got {alpha:g}")
        ref_table = read_table(reference)
        prod_table = read_table(production)
        ref_columns, prod_columns, categorical = _columns(ref_table, prod_table)
        for table in (ref_table, prod_table):
            if table.rows < options.min_rows:
                raise TableError(
                    f"{table.path}: {table.rows} rows; at least {options.min_rows} are needed"
                    " for a verdict"
                )
        with Compute(workers=2) as compute:
            report = Reference(ref_columns, categorical).evaluate(prod_columns, options, compute)
    except (TableError, ValueError) as exc:
        err.write(f"error: {exc}\n")
        return EXIT_ERROR
    if as_json:
        out.write(json.dumps(report_to_json(report), indent=2) + "\n")
    else:
        out.write(render_table(report))
    return EXIT_DRIFT if report.drift else EXIT_NO_DRIFT


def _columns(
    ref: Table, prod: Table
) -> tuple[dict[str, npt.NDArray[Any]], dict[str, npt.NDArray[Any]], set[str]]:
    missing = [n for n in ref.names if n not in prod.cells]
    extra = [n for n in prod.names if n not in ref.cells]
    if missing or extra:
        parts = []
        if missing:
            parts.append(f"missing from {prod.path}: {', '.join(missing)}")
        if extra:
            parts.append(f"not in {ref.path}: {', '.join(extra)}")
        raise TableError("columns do not match: " + "; ".join(parts))
    ref_columns: dict[str, npt.NDArray[Any]] = {}
    prod_columns: dict[str, npt.NDArray[Any]] = {}
    categorical: set[str] = set()
    for name in ref.names:
        if is_numeric(ref, name):
            ref_columns[name] = numeric_column(ref, name)
            prod_columns[name] = numeric_column(prod, name)  # raises at a non-number
            continue
        is_numeric(prod, name)  # a mostly-numeric production column with garbage is an error
        values = category_column(ref, name)
        if values.size == 0:
            raise TableError(f"{ref.path}: column {name!r} has no values")
        categorical.add(name)
        ref_columns[name] = values
        prod_columns[name] = category_column(prod, name)
    return ref_columns, prod_columns, categorical


def report_to_json(report: DriftReport) -> dict[str, Any]:
    """The JSON document of `--json`: drift, and one entry per feature (inf and NaN
    as null)."""
    document: dict[str, Any] = json_safe(
        {
            "drift": report.drift,
            "dataset_drift": report.dataset_drift,
            "drift_share": report.drift_share,
            "alpha": report.alpha,
            "correction": report.correction,
            "reference_rows": report.reference_rows,
            "production_rows": report.window_rows,
            "features": [_feature_json(f) for f in report.features],
        }
    )
    return document


def _feature_json(f: FeatureResult) -> dict[str, Any]:
    return {
        "name": f.name,
        "test": f.test,
        "statistic": f.statistic,
        "p_value": f.p_value,
        "drift": f.drift,
        "significant": f.significant,
        "effect": f.effect,
        "effect_measure": f.effect_measure,
        "psi": f.psi,
        "method": f.method,
        "rows": f.window_rows,
    }


def render_table(report: DriftReport) -> str:
    """A fixed-width table for a person, drifted features marked, and a summary line."""
    header = ("feature", "test", "statistic", "p-value", "effect", "psi", "drift")
    rows = [header]
    for f in report.features:
        effect = "-" if f.effect is None else f"{f.effect:.3f} {_short(f.effect_measure)}"
        mark = "DRIFT" if f.drift else ("shift<floor" if f.significant else "no")
        rows.append(
            (f.name, f.test, f"{f.statistic:.4f}", f"{f.p_value:.3g}", effect,
             f"{f.psi:.3f}", mark)
        )  # fmt: skip
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip()
             for r in rows]  # fmt: skip
    drifted = report.drifted()
    corrected = {"bonferroni": "Bonferroni", "bh": "Benjamini-Hochberg", "none": "no"}
    lines.append("")
    lines.append(
        f"{len(drifted)} of {len(report.features)} features drifted "
        f"({report.drift_share:.0%}); alpha {report.alpha:g} with "
        f"{corrected.get(report.correction, report.correction)} correction; "
        f"reference {report.reference_rows} rows, production {report.window_rows} rows"
    )
    lines.append("verdict: " + ("DRIFT in " + ", ".join(drifted) if drifted else "no drift"))
    return "\n".join(lines) + "\n"


def _short(measure: str) -> str:
    return {"wasserstein": "W", "jensen_shannon": "JS"}.get(measure, measure)
