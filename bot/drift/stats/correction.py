"""Multiple-testing correction across a model's features.

Called by `drift.stats.engine`. Testing each of 50 features at p < 0.05 flags drift somewhere
on most windows even when nothing changed; Bonferroni (the default) holds the chance of
any false alarm near alpha, Benjamini-Hochberg the expected share of false alarms among
the flagged features.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import numpy.typing as npt

Correction = Literal["bonferroni", "bh", "none"]


def bonferroni_level(alpha: float, tests: int) -> float:
    """The per-feature p-value a Bonferroni-corrected test must stay below."""
    return alpha / max(tests, 1)


def reject(
    p_values: npt.NDArray[np.float64], alpha: float, correction: Correction
) -> npt.NDArray[np.bool_]:
    """Which hypotheses are rejected: p < alpha/m (Bonferroni), BH step-up, or p < alpha."""
    p = np.asarray(p_values, dtype=np.float64)
    m = p.shape[0]
    if m == 0:
        return np.zeros(0, dtype=bool)
    if correction == "none":
        return p < alpha
    if correction == "bonferroni":
        return p < bonferroni_level(alpha, m)
    order = np.argsort(p, kind="stable")
    thresholds = alpha * np.arange(1, m + 1) / m
    passing = np.flatnonzero(p[order] <= thresholds)
    rejected = np.zeros(m, dtype=bool)
    if passing.size:
        rejected[order[: passing[-1] + 1]] = True
    return rejected
