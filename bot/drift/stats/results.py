"""What the drift engine is asked (`DriftOptions`) and what it answers (`DriftReport`).

Built by `drift.stats.engine`; read by the drift service's monitor, gauges and history,
the triage's drift evidence and the `drift` command. Plain frozen values, no numpy.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.drift.stats.correction import Correction


@dataclass(frozen=True)
class DriftOptions:
    """How strict the engine is."""

    alpha: float = 0.05
    correction: Correction = "bonferroni"
    min_rows: int = 30
    wasserstein_floor: float = 0.1
    js_floor: float = 0.1
    dataset_share: float = 0.5


@dataclass(frozen=True)
class FeatureResult:
    """One feature's test, effect and decision."""

    name: str
    test: str  # ks | chi2
    statistic: float
    p_value: float
    significant: bool
    drift: bool
    effect: float | None  # normed Wasserstein (ks) or Jensen-Shannon distance (chi2)
    effect_measure: str
    psi: float
    method: str  # exact | asymp | chi2
    window_rows: int


@dataclass(frozen=True)
class DriftReport:
    """All features of one window against the reference."""

    features: tuple[FeatureResult, ...]
    reference_rows: int
    window_rows: int
    enough_rows: bool
    drift_share: float
    dataset_drift: bool
    alpha: float
    correction: str

    @property
    def drift(self) -> bool:
        """True when at least one feature drifted."""
        return any(f.drift for f in self.features)

    def drifted(self) -> tuple[str, ...]:
        """Names of the drifted features."""
        return tuple(f.name for f in self.features if f.drift)
