"""The drift engine: one reference, many windows, one report per evaluation.

Called by `drift.command` (two CSV files) and `drift.monitor` (the service's windows).
It hands numeric features to `drift.stats.ks`, categorical ones to `drift.stats.effects`, corrects
for the number of features (`drift.stats.correction`), and only calls a feature drifted when
the shift is also large enough to matter (the effect floor). Pure: arrays in, a frozen
report out.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import KW_ONLY, dataclass

import numpy as np
import numpy.typing as npt

from bot.drift.stats import effects, ks, wasserstein
from bot.drift.stats.compute import Compute
from bot.drift.stats.correction import bonferroni_level, reject
from bot.drift.stats.results import DriftOptions, DriftReport, FeatureResult

FloatArray = npt.NDArray[np.float64]

_REFINE = 1e-6  # p-values this close (relative) to a threshold are recomputed by scipy


@dataclass(frozen=True)
class _Numeric:
    name: str
    scale: float
    group: int  # index into Reference._groups
    column: int  # column inside that group


class Reference:
    """A model's reference sample, prepared once for many evaluations."""

    def __init__(self, columns: Mapping[str, npt.ArrayLike], categorical: Collection[str] = ()):
        if not columns:
            raise ValueError("reference has no features")
        self.names: tuple[str, ...] = tuple(columns)
        self.categorical = frozenset(categorical) & set(self.names)
        numeric = [n for n in self.names if n not in self.categorical]
        arrays = {n: np.asarray(columns[n], dtype=np.float64) for n in numeric}
        self._categories = {n: np.asarray(columns[n], dtype=str) for n in self.categorical}
        self.rows = max(len(np.asarray(columns[n])) for n in self.names)
        complete = [n for n in numeric if not np.isnan(arrays[n]).any()]
        self._groups: list[ks.SortedReference] = []
        self._numeric: dict[str, _Numeric] = {}
        if complete:
            self._groups.append(ks.SortedReference(np.column_stack([arrays[n] for n in complete])))
            for i, n in enumerate(complete):
                self._numeric[n] = self._describe(n, arrays[n], 0, i)
        for n in numeric:
            if n in self._numeric:
                continue
            values = arrays[n][~np.isnan(arrays[n])]
            if values.size == 0:
                raise ValueError(f"reference column {n!r} has no values")
            self._groups.append(ks.SortedReference(values[:, None]))
            self._numeric[n] = self._describe(n, values, len(self._groups) - 1, 0)

    def _describe(self, name: str, values: FloatArray, group: int, column: int) -> _Numeric:
        return _Numeric(name, float(np.std(values)), group, column)

    @property
    def numeric_names(self) -> tuple[str, ...]:
        """Names of the numeric features, in column order."""
        return tuple(n for n in self.names if n not in self.categorical)

    def evaluate(
        self,
        window: Mapping[str, npt.ArrayLike],
        options: DriftOptions | None = None,
        compute: Compute | None = None,
    ) -> DriftReport:
        """Compare a window (feature name to values; NaN = missing) with the reference.

        `compute` is the caller's threads and scratch space (none: serial, fresh arrays).
        """
        options = options or DriftOptions()
        missing = [n for n in self.names if n not in window]
        if missing:
            raise ValueError(f"window lacks features: {', '.join(missing)}")
        fits = self._ks_statistics(window, compute)
        results: list[_Pending] = []
        for name in self.names:
            if name in self.categorical:
                results.append(self._chi2(name, np.asarray(window[name], dtype=str)))
            else:
                fit = fits[name]
                results.append(_Pending(name, "ks", fit.statistic, float("nan"), fit.rows))
        self._ks_pvalues(results, compute)
        return self._decide(results, fits, options, compute)

    def _ks_statistics(
        self, window: Mapping[str, npt.ArrayLike], compute: Compute | None
    ) -> dict[str, _Fit]:
        by_group: dict[int, list[tuple[_Numeric, FloatArray]]] = {}
        for info in self._numeric.values():
            values = np.asarray(window[info.name], dtype=np.float64).reshape(-1)
            if np.isnan(values).any():
                values = values[~np.isnan(values)]
            by_group.setdefault(info.group, []).append((info, values))
        out: dict[str, _Fit] = {}
        for g, items in by_group.items():
            items.sort(key=lambda item: item[0].column)
            group = self._groups[g]
            stats, decile_counts = group.fit([values for _, values in items], compute)
            rows = np.array([values.size for _, values in items])
            psi = effects.psi_rows(group.decile_counts, group.n, decile_counts, rows)
            for (info, values), d, p in zip(items, stats, psi, strict=True):
                out[info.name] = _Fit(float(d), values, float(p))
        return out

    def _chi2(self, name: str, values: npt.NDArray[np.str_]) -> _Pending:
        if values.size == 0:
            return _Pending(name, "chi2", 0.0, 1.0, 0)
        result = effects.compare_categories(self._categories[name], values)
        return _Pending(
            name, "chi2", result.statistic, result.p_value, int(values.size),
            effect=result.js_distance, psi=result.psi, method="chi2",
        )  # fmt: skip

    def _ks_pvalues(self, results: Sequence[_Pending], compute: Compute | None) -> None:
        by_sizes: dict[tuple[int, int], list[_Pending]] = {}
        for r in results:
            if r.test == "ks" and r.window_rows > 0:
                by_sizes.setdefault((self._ref_rows(r.name), r.window_rows), []).append(r)
            elif r.test == "ks":
                r.p_value = 1.0
        for (n1, n2), group in by_sizes.items():
            d, p = ks.ks_result(np.array([r.statistic for r in group]), n1, n2, compute)
            for r, di, pi in zip(group, d, p, strict=True):
                r.statistic, r.p_value = float(di), float(pi)
                r.method = ks.ks_method(n1, n2)

    def _ref_rows(self, name: str) -> int:
        return self._groups[self._numeric[name].group].n

    def _decide(
        self,
        results: list[_Pending],
        fits: Mapping[str, _Fit],
        options: DriftOptions,
        compute: Compute | None,
    ) -> DriftReport:
        window_rows = max((r.window_rows for r in results), default=0)
        tested = [r for r in results if r.window_rows >= options.min_rows]
        self._refine(tested, options)
        significant = reject(
            np.array([r.p_value for r in tested]), options.alpha, options.correction
        )
        if options.correction == "bonferroni":
            level = bonferroni_level(options.alpha, len(tested))
            significant = np.array([self._beyond_critical(r, level, s) for r, s in
                                    zip(tested, significant, strict=True)], dtype=bool)  # fmt: skip
        flagged = {r.name for r, s in zip(tested, significant, strict=True) if s}
        distances = self._distances([n for n in flagged if n in fits], fits, compute)
        features = tuple(
            self._finish(r, r.name in flagged, fits, distances, options) for r in results
        )
        drifted = sum(f.drift for f in features)
        share = drifted / len(features) if features else 0.0
        return DriftReport(
            features=features,
            reference_rows=self.rows,
            window_rows=window_rows,
            enough_rows=len(tested) == len(results) and bool(results),
            drift_share=share,
            dataset_drift=drifted > 0 and share >= options.dataset_share,
            alpha=options.alpha,
            correction=options.correction,
        )

    def _distances(
        self, names: Sequence[str], fits: Mapping[str, _Fit], compute: Compute | None
    ) -> dict[str, float]:
        """Normed Wasserstein distance of each named numeric feature (the flagged ones)."""
        by_group: dict[int, list[_Numeric]] = {}
        for name in names:
            info = self._numeric[name]
            by_group.setdefault(info.group, []).append(info)
        out: dict[str, float] = {}
        for g, infos in by_group.items():
            infos.sort(key=lambda info: info.column)
            raw = wasserstein.distances(
                self._groups[g], [i.column for i in infos], [fits[i.name].values for i in infos],
                compute,
            )  # fmt: skip
            out.update(
                {i.name: effects.normed(float(d), i.scale) for i, d in zip(infos, raw, strict=True)}
            )
        return out

    def _refine(self, tested: Sequence[_Pending], options: DriftOptions) -> None:
        """Recompute with scipy the asymptotic p-values that sit on a decision threshold."""
        m = len(tested)
        if options.correction == "bh":
            levels = options.alpha * np.arange(1, m + 1) / max(m, 1)
        elif options.correction == "bonferroni":
            levels = np.array([bonferroni_level(options.alpha, m)])
        else:
            levels = np.array([options.alpha])
        for r in tested:
            if r.method == "asymp" and np.any(np.abs(r.p_value - levels) <= _REFINE * levels):
                n1 = self._ref_rows(r.name)
                r.p_value = ks.asymp_pvalue_exact(r.statistic, n1, r.window_rows)

    def _beyond_critical(self, r: _Pending, level: float, by_p: bool) -> bool:
        """Bonferroni on an asymptotic KS: D against the critical D, computed once."""
        if r.test != "ks" or r.method != "asymp":
            return by_p
        critical = ks.critical_d(self._ref_rows(r.name), r.window_rows, level)
        if abs(r.statistic - critical) <= ks.CRITICAL_SLACK:
            return by_p  # on the line: the refined p-value decides
        return r.statistic > critical

    def _finish(
        self,
        r: _Pending,
        significant: bool,
        fits: Mapping[str, _Fit],
        distances: Mapping[str, float],
        options: DriftOptions,
    ) -> FeatureResult:
        effect = r.effect
        measure = "jensen_shannon" if r.test == "chi2" else "wasserstein"
        floor = options.js_floor if r.test == "chi2" else options.wasserstein_floor
        psi = r.psi
        fit = fits.get(r.name)
        if r.test == "ks" and fit is not None and fit.rows > 0:
            psi = fit.psi
            effect = distances.get(r.name)  # computed for the flagged features only
        drift = significant and effect is not None and effect >= floor
        return FeatureResult(
            name=r.name,
            test=r.test,
            statistic=r.statistic,
            p_value=r.p_value,
            significant=significant,
            drift=drift,
            effect=effect,
            effect_measure=measure,
            psi=psi,
            method=r.method,
            window_rows=r.window_rows,
        )


@dataclass
class _Pending:
    """A feature's numbers while the evaluation is being assembled (mutable on purpose)."""

    name: str
    test: str
    statistic: float
    p_value: float
    window_rows: int
    _: KW_ONLY
    effect: float | None = None
    psi: float = 0.0
    method: str = ""


@dataclass(frozen=True)
class _Fit:
    """One numeric feature's window against the reference."""

    statistic: float  # raw KS D, before scipy's exact-mode rounding
    values: FloatArray  # the window without its missing values
    psi: float  # over bins ending near the reference's deciles (`SortedReference`)

    @property
    def rows(self) -> int:
        return int(self.values.size)
