r"""Arithmetic on published (rounded) pooled results: implied SE, z, p, CI symmetry, Q from p.

A published 95 % CI ``[lo, hi]`` of a Wald interval implies ``SE = (hi - lo) / (2 z_{0.975})``
with ``z_{0.975} = 1.959964``; then ``z = MD / SE`` and the effect's two-sided
``p = 2 Phi(-|z|)``.

**Symmetry rule.** A Wald CI is symmetric, ``hi + lo - 2 MD = 0``. After rounding MD, lo and
hi to ``d`` decimals (unit ``u = 10^-d``) the printed asymmetry ``hi + lo - 2 MD`` is a whole
multiple of ``u`` of size at most ``u``: writing ``MD = A + a``, ``h = H + e`` in units of u
with ``|a|, |e| <= 1/2``, the printed asymmetry is ``r(a + e) + r(a - e) - 2 r(a)`` with
``r(a) = 0``, and ``r(a + e) = r(a - e) = 1`` would need ``a >= 1/2``. So a CI printed to 2 dp
is *symmetric within rounding* iff ``|hi + lo - 2 MD| <= 0.01``.

**Q from p.** A heterogeneity p printed as ``0.13`` stands for ``[0.125, 0.135)``; Cochran's
``Q = chi2.isf(p, df)`` is decreasing in p, so ``Q`` lies in
``[chi2.isf(0.135, df), chi2.isf(0.125, df)]``; ``"<0.001"`` gives ``Q > chi2.isf(0.001, df)``.

**FE decomposition.** For fixed-effect (inverse-variance) pooling with subgroups,
``Q_total = sum_g Q_g + Q_between`` exactly, where ``Q_between`` is the FE Q of the subgroup
estimates with weights ``1/SE_g^2`` (Borenstein et al. 2009, Introduction to Meta-Analysis,
ch. 19; Deeks & Higgins 2010, Statistical algorithms in Review Manager 5).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import optimize, stats

from bayesmeta.classical.subgroups import q_between_fe
from bayesmeta.review.spec import Analysis

#: Decimals of the published numbers and the half unit of their last place.
DECIMALS = 2
HALF_UNIT = 0.5 * 10.0**-DECIMALS
#: Largest printed asymmetry hi + lo - 2 md of a symmetric CI after rounding (see module doc).
SYMMETRY_TOLERANCE = 10.0**-DECIMALS


def z_crit(level: float = 0.95) -> float:
    return float(stats.norm.isf((1 - level) / 2))


@dataclass(frozen=True)
class RowStats:
    """What a published row implies: SE (and its rounding interval), z, p, CI asymmetry."""

    md: float
    ci_low: float
    ci_high: float
    se: float
    se_low: float
    se_high: float
    z: float
    p: float
    asymmetry: float
    symmetric: bool


def row_stats(md: float, ci_low: float, ci_high: float, level: float = 0.95) -> RowStats:
    """Implied SE, z, two-sided p and the symmetry check of a published MD and CI."""
    zc = z_crit(level)
    width = ci_high - ci_low
    se = width / (2 * zc)
    se_low = max(width - 2 * HALF_UNIT, 0.0) / (2 * zc)
    se_high = (width + 2 * HALF_UNIT) / (2 * zc)
    z = md / se if se > 0 else math.copysign(math.inf, md)
    p = float(2 * stats.norm.sf(abs(z)))
    asym = round(ci_high + ci_low - 2 * md, 10) + 0.0  # no negative zero
    return RowStats(
        md,
        ci_low,
        ci_high,
        se,
        se_low,
        se_high,
        z,
        p,
        asym,
        abs(asym) <= SYMMETRY_TOLERANCE + 1e-12,
    )


def analysis_stats(a: Analysis, level: float = 0.95) -> RowStats:
    p = a.published
    return row_stats(p.md, p.ci_low, p.ci_high, level)


def q_interval(p_low: float, p_high: float, df: int) -> tuple[float, float]:
    """Cochran's Q compatible with a p in [p_low, p_high] on ``df`` degrees of freedom."""
    if df < 1:
        raise ValueError("Q needs df >= 1")
    hi = math.inf if p_low <= 0 else float(stats.chi2.isf(p_low, df))
    lo = float(stats.chi2.isf(p_high, df))
    return lo, hi


def p_range(q_low: float, q_high: float, df: int) -> tuple[float, float]:
    """The p values of Q in [q_low, q_high] on ``df`` degrees of freedom (ascending)."""
    return float(stats.chi2.sf(q_high, df)), float(stats.chi2.sf(q_low, df))


def i2_from_q(q: float, df: int) -> float:
    """Higgins & Thompson (2002) I^2 = max(0, (Q - df) / Q), in percent."""
    return 0.0 if q <= 0 else 100.0 * max(0.0, (q - df) / q)


def q_between_published(
    md: Sequence[float], ci_low: Sequence[float], ci_high: Sequence[float], level: float = 0.95
) -> tuple[float, float, float]:
    """FE Q between subgroup summaries and its range over the rounding box of the printed numbers.

    Each MD, lo and hi may be off by half a unit of the last printed place. Returns
    ``(Q, Q_min, Q_max)``: the max over the box is attained at a corner or found by bounded
    optimisation started from every corner (Q is smooth; the box is small).
    """
    md = np.asarray(md, float)
    lo = np.asarray(ci_low, float)
    hi = np.asarray(ci_high, float)
    zc = z_crit(level)

    def q_of(x: np.ndarray) -> float:
        g = md.size
        m, w = x[:g], x[g:]
        return q_between_fe(m, w / (2 * zc))[0]

    x0 = np.concatenate([md, hi - lo])
    half = np.concatenate([np.full(md.size, HALF_UNIT), np.full(md.size, 2 * HALF_UNIT)])
    bounds = [(c - h, c + h) for c, h in zip(x0, half, strict=True)]
    q0 = q_of(x0)
    corners = [x0 + half * np.array(s) for s in itertools.product((-1.0, 1.0), repeat=x0.size)]
    q_min, q_max = q0, q0
    for start in [x0, *corners]:
        q_max = max(q_max, q_of(start))
        q_min = min(q_min, q_of(start))
        for sign in (1.0, -1.0):
            res = optimize.minimize(
                lambda x, s=sign: s * q_of(x), start, method="L-BFGS-B", bounds=bounds
            )
            val = q_of(res.x)
            q_min, q_max = min(q_min, val), max(q_max, val)
    return q0, q_min, q_max


def pool_fixed_from_summaries(
    md: Sequence[float], se: Sequence[float], level: float = 0.95
) -> tuple[float, float, float, float]:
    """Inverse-variance FE pool of summaries via the classical engine: (est, se, lo, hi)."""
    from bayesmeta.classical import pool
    from bayesmeta.studies import StudyTable

    table = StudyTable.from_arrays(
        np.asarray(md, float), sei=np.asarray(se, float), study=[str(i) for i in range(len(md))]
    )
    res = pool(table, method="FE", level=level)
    return res.estimate, res.se, res.ci_low, res.ci_high


@dataclass(frozen=True)
class QDecomposition:
    """The FE check Q_total = sum Q_g + Q_between on the printed p values (see module doc)."""

    q_groups: dict[str, tuple[float, float]]  # subgroup -> Q interval from its printed p
    df_groups: dict[str, int]
    q_between: tuple[float, float, float]  # point, min, max over rounding
    q_total: tuple[float, float]  # implied interval
    p_published: tuple[float, float]  # interval of the printed overall p
    candidates: dict[str, tuple[int, float, float, bool]]  # name -> (df, p_low, p_high, fits)

    @property
    def verdict(self) -> str:
        fits = [f"{name} (df = {c[0]})" for name, c in self.candidates.items() if c[3]]
        if not fits:
            return "no candidate df reproduces the printed overall p"
        return (
            "consistent only with " + " and ".join(fits)
            if len(fits) == 1
            else ("consistent with " + " and ".join(fits))
        )


def fe_q_decomposition(
    overall: Analysis, subgroups: Sequence[Analysis], level: float = 0.95
) -> QDecomposition:
    """Back out Q from every printed p and test which overall df makes the FE sum add up.

    Candidate df of the overall Q: ``k_trials - 1`` (studies as units) and ``k_arms - 1``
    (every arm a unit, as in a RevMan forest plot where a two-arm study is entered twice).
    """
    q_groups: dict[str, tuple[float, float]] = {}
    df_groups: dict[str, int] = {}
    for s in subgroups:
        interval = s.published.p_interval()
        if interval is None or s.published.k < 2:
            q_groups[s.subgroup] = (0.0, 0.0)
            df_groups[s.subgroup] = 0
            continue
        df = s.published.k - 1
        q_groups[s.subgroup] = q_interval(interval[0], interval[1], df)
        df_groups[s.subgroup] = df
    qb = q_between_published(
        [s.published.md for s in subgroups],
        [s.published.ci_low for s in subgroups],
        [s.published.ci_high for s in subgroups],
        level,
    )
    q_lo = sum(v[0] for v in q_groups.values()) + qb[1]
    q_hi = sum(v[1] for v in q_groups.values()) + qb[2]
    p_pub = overall.published.p_interval() or (0.0, 1.0)
    k_arms = sum(s.published.k for s in subgroups)
    candidates: dict[str, tuple[int, float, float, bool]] = {}
    for name, df in (
        (f"{overall.published.k} trials as units", overall.published.k - 1),
        (f"{k_arms} arms as units", k_arms - 1),
    ):
        if df < 1:
            continue
        p_lo, p_hi = p_range(q_lo, q_hi, df)
        candidates[name] = (df, p_lo, p_hi, p_lo < p_pub[1] and p_hi >= p_pub[0])
    return QDecomposition(q_groups, df_groups, qb, (q_lo, q_hi), p_pub, candidates)
