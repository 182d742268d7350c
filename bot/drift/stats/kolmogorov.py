"""Survival function of the two-sided one-sample Kolmogorov statistic, vectorised.

Called by `drift.stats.ks` for the asymptotic p-value of the two-sample test, which scipy's
`ks_2samp` takes as `kstwo.sf(d, round(n1*n2/(n1+n2)))`. scipy evaluates that one value
at a time, and in its tail (n*d^2 >= 2.2) through `special.smirnov`, a sum of n terms
that costs about 8 ms at n = 8,000. Here the two regions that matter at window sizes
(n > 140) are evaluated for a whole vector of statistics at once:

- tail, 2.2 <= n*d^2 < 370: twice the exact one-sided probability (Birnbaum & Tingey
  1951), summed in log space with `gammaln`; every term is positive, so the sum is stable;
- body, n*d^2 < 2.2: the Pelz-Good (1976) expansion of the Kolmogorov distribution to
  order n^-3/2, as Simard & L'Ecuyer (2011) recommend and scipy uses.

Every other case (small n, the Durbin-matrix corner where p is within 1e-4 of 1, the
Ruben-Gambino edges, d >= 0.5) is handed to scipy itself. `tests/drift/test_ks.py`
measures the agreement with `scipy.stats.kstwo.sf`: within 1e-9 relative.
"""

from __future__ import annotations

from functools import partial

import numpy as np
import numpy.typing as npt

from bot.drift.stats.compute import Compute

FloatArray = npt.NDArray[np.float64]

_PI2 = np.pi**2
_SQRT2PI = np.sqrt(2.0 * np.pi)
_SMALL_N = 140  # at or below, scipy switches to Durbin/Pomeranz: leave it to scipy
_TAIL_NX2 = 2.2
_ZERO_NX2 = 370.0
_MIN_LOG = -708.0


def smirnov_sf(n: int, d: FloatArray) -> FloatArray:
    """P(D+_n >= d) for each d, exact (Birnbaum-Tingey), for 1/n < d < 1."""
    from scipy import special  # lazy: scipy costs ~1 s to import

    d = np.asarray(d, dtype=np.float64)
    out = np.zeros_like(d)
    if d.size == 0:
        return out
    jmax = int(np.floor(n * (1.0 - float(d.min()))))
    j = np.arange(jmax + 1, dtype=np.float64)
    log_binom = special.gammaln(n + 1.0) - special.gammaln(j + 1.0) - special.gammaln(n - j + 1.0)
    for i, x in enumerate(d.ravel()):
        # Terms beyond floor(n(1-x)) have a negative base; they are not part of the sum.
        last = int(np.floor(n * (1.0 - x)))
        jj = j[: last + 1]
        low = np.maximum(1.0 - x - jj / n, 0.0)  # the last term's base may round below 0
        high = x + jj / n
        with np.errstate(divide="ignore"):
            logs = log_binom[: last + 1] + (n - jj) * np.log(low) + (jj - 1.0) * np.log(high)
        out.flat[i] = x * float(np.sum(np.exp(logs)))
    return out


def _pelz_good_sf(n: int, x: FloatArray) -> FloatArray:
    """1 - P(D_n <= x) by the Pelz-Good expansion, vectorised over x."""
    z = np.sqrt(float(n)) * x
    z2, z3, z4, z6 = z**2, z**3, z**4, z**6
    qlog = -_PI2 / 8.0 / z2
    q = np.exp(qlog)
    k1a, k1b = -z2, _PI2 / 4.0
    k2a = 6.0 * z6 + 2.0 * z4
    k2b = (2.0 * z4 - 5.0 * z2) * _PI2 / 4.0
    k2c = _PI2**2 * (1.0 - 2.0 * z2) / 16.0
    k3d = _PI2**3 * (5.0 - 30.0 * z2) / 64.0
    k3c = _PI2**2 * (-60.0 * z2 + 212.0 * z4) / 16.0
    k3b = _PI2 * (135.0 * z4 - 96.0 * z6) / 4.0
    k3a = -30.0 * z6 - 90.0 * z**8
    maxk = np.ceil(16.0 * z / np.pi).astype(np.int64)
    top = int(maxk.max())
    acc = np.zeros((4, x.size))
    # Horner over odd m = 2k-1; elements whose own series is shorter skip the extra terms.
    for k in range(top, 0, -1):
        m2 = float((2 * k - 1) ** 2)
        live = k <= maxk
        qpow = np.where(live, q ** (8 * k), 1.0)
        coeffs = np.stack(
            [
                np.ones_like(z),
                k1a + k1b * m2,
                k2a + k2b * m2 + k2c * m2**2,
                k3a + k3b * m2 + k3c * m2**2 + k3d * m2**3,
            ]
        )
        acc = np.where(live, acc * qpow + coeffs, acc)
    acc = acc * q * _SQRT2PI
    acc = acc / np.stack([z, 6.0 * z4, 72.0 * z**7, 6480.0 * z**10])
    q2 = np.exp(-_PI2 / 2.0 / z2)
    k2extra = np.zeros_like(z)
    k3extra = np.zeros_like(z)
    for k in range(top, 0, -1):
        live = k <= maxk
        k2 = float(k * k)
        term = np.where(live, k2 * q2**k2, 0.0)
        k2extra += term
        k3extra += (np.sqrt(3.0) * z + np.pi * k) * (np.sqrt(3.0) * z - np.pi * k) * term
    acc[2] += k2extra * _PI2 * _SQRT2PI / (-36.0 * z3)
    acc[3] += k3extra * _PI2 * _SQRT2PI / (216.0 * z6)
    acc = acc / np.power(float(n), np.arange(4) / 2.0)[:, None]
    sf = (1.0 - acc[0]) - acc[1] - acc[2] - acc[3]
    return np.where(qlog < _MIN_LOG, 1.0, np.clip(sf, 0.0, 1.0))


def kstwo_sf(d: FloatArray, n: int, compute: Compute | None = None) -> FloatArray:
    """`scipy.stats.kstwo.sf(d, n)` for a vector of d, fast where n > 140.

    The tail sums (~60 µs a statistic at n = 8,000, all in `log`/`exp`, which release
    the GIL) are shared among `compute`'s threads (none given: this thread).
    """
    from scipy import stats  # lazy: scipy costs ~1 s to import

    workers = compute.workers if compute is not None else 1
    d = np.asarray(d, dtype=np.float64)
    out = np.empty_like(d)
    nx2 = n * d * d
    usual = (n > _SMALL_N) & (n * d > 1.0) & (n * d < n - 1.0) & (d < 0.5)
    zero = usual & (nx2 >= _ZERO_NX2)
    tail = usual & (nx2 >= _TAIL_NX2) & ~zero
    body = usual & (nx2 < _TAIL_NX2) & (n * d**1.5 > 1.4) if n <= 100_000 else usual & (nx2 < 2.2)
    rest = ~(zero | tail | body)
    out[zero] = 0.0
    if tail.any():
        parts = np.array_split(d[tail], max(1, min(workers, int(tail.sum()))))
        if len(parts) == 1 or compute is None:
            sums = smirnov_sf(n, parts[0])
        else:
            sums = np.concatenate(compute.map(partial(smirnov_sf, n), parts))
        out[tail] = np.clip(2.0 * sums, 0.0, 1.0)
    if body.any():
        out[body] = _pelz_good_sf(n, d[body])
    # scipy's Durbin matrix may overflow in its intermediate powers and still be right.
    with np.errstate(all="ignore"):
        for i in np.flatnonzero(rest):
            out.flat[i] = float(stats.kstwo.sf(d.flat[i], n))
    return out
