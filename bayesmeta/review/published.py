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
    """The two-sided normal critical value ``z_{(1 + level)/2} = Phi^-1((1 + level) / 2)``.

    Examples:
        >>> from bayesmeta.review.published import z_crit
        >>> print(f"{z_crit():.6f} {z_crit(0.90):.6f}")
        1.959964 1.644854
    """
    return float(stats.norm.isf((1 - level) / 2))


@dataclass(frozen=True)
class RowStats:
    """What a published row implies: SE (and its rounding interval), z, p, CI asymmetry.

    Built by `row_stats()`; ``se_low``/``se_high`` bound the SE over the rounding of the CI
    limits, ``symmetric`` is the module's symmetry rule.

    Examples:
        >>> from bayesmeta.review.published import row_stats
        >>> st = row_stats(0.41, 0.06, 0.76)
        >>> print(f"{st.se:.4f} {st.z:.3f} {st.p:.4f}", st.symmetric)
        0.1786 2.296 0.0217 True
    """

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
    """Implied SE, z, two-sided p and the symmetry check of a published MD and CI.

    ``SE = (hi - lo) / (2 z_crit(level))`` (bounds: the width +/- one unit of the last printed
    place, i.e. +/- 0.01 for 2 dp), ``z = MD / SE``, ``p = 2 Phi(-|z|)``, asymmetry
    ``hi + lo - 2 MD`` (symmetric iff its size is at most 0.01; see the module docstring).

    Examples:
        The review's one-study MSC C-peptide row, MD 0.03 [-0.01, 0.07]:

        >>> from bayesmeta.review.published import row_stats
        >>> st = row_stats(0.03, -0.01, 0.07)
        >>> print(f"SE {st.se:.5f} [{st.se_low:.5f}, {st.se_high:.5f}], p = {st.p:.4f}")
        SE 0.02041 [0.01786, 0.02296], p = 0.1416
    """
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
    """`row_stats()` of a spec row's published MD and CI.

    Examples:
        >>> from bayesmeta.review.published import analysis_stats
        >>> from bayesmeta.review.spec import load_spec
        >>> st = analysis_stats(load_spec().overall("T2DM", "hba1c"))
        >>> print(f"MD {st.md}, SE {st.se:.4f}, z {st.z:.3f}")
        MD -0.87, SE 0.2551, z -3.410
    """
    p = a.published
    return row_stats(p.md, p.ci_low, p.ci_high, level)


def q_interval(p_low: float, p_high: float, df: int) -> tuple[float, float]:
    """Cochran's Q compatible with a p in [p_low, p_high] on ``df`` degrees of freedom.

    ``[chi2.isf(p_high, df), chi2.isf(p_low, df)]`` (Q decreases in p); infinite upper end
    for ``p_low = 0``. Raises ValueError for ``df < 1``.

    Examples:
        A printed "0.13" on 4 df, and "<0.001":

        >>> from bayesmeta.review.published import q_interval
        >>> print("{:.4f} {:.4f}".format(*q_interval(0.125, 0.135, 4)))
        7.0169 7.2140
        >>> q_interval(0.0, 0.001, 4)[1]
        inf
    """
    if df < 1:
        raise ValueError("Q needs df >= 1")
    hi = math.inf if p_low <= 0 else float(stats.chi2.isf(p_low, df))
    lo = float(stats.chi2.isf(p_high, df))
    return lo, hi


def p_range(q_low: float, q_high: float, df: int) -> tuple[float, float]:
    """The p values of Q in [q_low, q_high] on ``df`` degrees of freedom (ascending).

    ``(chi2.sf(q_high, df), chi2.sf(q_low, df))``.

    Examples:
        >>> from bayesmeta.review.published import p_range
        >>> print("{:.4f} {:.4f}".format(*p_range(5.0, 6.0, 4)))
        0.1991 0.2873
    """
    return float(stats.chi2.sf(q_high, df)), float(stats.chi2.sf(q_low, df))


def i2_from_q(q: float, df: int) -> float:
    """Higgins & Thompson (2002) I^2 = max(0, (Q - df) / Q), in percent (0 for Q <= 0).

    Examples:
        >>> from bayesmeta.review.published import i2_from_q
        >>> i2_from_q(10.0, 4), i2_from_q(3.0, 4)
        (60.0, 0.0)
    """
    return 0.0 if q <= 0 else 100.0 * max(0.0, (q - df) / q)


def q_between_published(
    md: Sequence[float], ci_low: Sequence[float], ci_high: Sequence[float], level: float = 0.95
) -> tuple[float, float, float]:
    """FE Q between subgroup summaries and its range over the rounding box of the printed numbers.

    Each MD, lo and hi may be off by half a unit of the last printed place. Returns
    ``(Q, Q_min, Q_max)``: the max over the box is attained at a corner or found by bounded
    optimisation started from every corner (Q is smooth; the box is small).

    Examples:
        The review's two insulin-dose subgroups (MSC, BM-MNC):

        >>> from bayesmeta.review.published import q_between_published
        >>> md, lo, hi = [-25.95, -38.95], [-35.47, -44.38], [-16.43, -33.51]
        >>> q, q_min, q_max = q_between_published(md, lo, hi)
        >>> print(f"{q:.4f} [{q_min:.4f}, {q_max:.4f}]")
        5.4024 [5.3874, 5.4175]
    """
    est = np.asarray(md, dtype=float)
    lo = np.asarray(ci_low, dtype=float)
    hi = np.asarray(ci_high, dtype=float)
    zc = z_crit(level)
    g = est.size

    def q_of(x: np.ndarray) -> float:
        m, w = x[:g], x[g:]
        return q_between_fe(m, w / (2 * zc))[0]

    def minus_q(x: np.ndarray) -> float:
        return -q_of(x)

    x0 = np.concatenate([est, hi - lo])
    half = np.concatenate([np.full(g, HALF_UNIT), np.full(g, 2 * HALF_UNIT)])
    bounds = [(float(c - h), float(c + h)) for c, h in zip(x0, half, strict=True)]
    q0 = q_of(x0)
    corners = [x0 + half * np.array(s) for s in itertools.product((-1.0, 1.0), repeat=x0.size)]
    q_min, q_max = q0, q0
    for start in [x0, *corners]:
        q_max = max(q_max, q_of(start))
        q_min = min(q_min, q_of(start))
        for objective in (q_of, minus_q):
            res = optimize.minimize(objective, start, method="L-BFGS-B", bounds=bounds)
            val = q_of(res.x)
            q_min, q_max = min(q_min, val), max(q_max, val)
    return q0, q_min, q_max


def pool_fixed_from_summaries(
    md: Sequence[float], se: Sequence[float], level: float = 0.95
) -> tuple[float, float, float, float]:
    """Inverse-variance FE pool of summaries via the classical engine: (est, se, lo, hi).

    ``est = sum w_i y_i / sum w_i`` with ``w_i = 1 / se_i^2``, ``se = (sum w_i)^-1/2``, Wald CI
    at ``level`` (`bayesmeta.classical.pool` with ``method="FE"``).

    Examples:
        Pooling the review's insulin-dose subgroup summaries reproduces its printed overall
        fixed-effect result, -35.76 [-40.47, -31.04] (Zhang et al. 2020, Figure 6), to 0.01:

        >>> from bayesmeta.review.published import pool_fixed_from_summaries, row_stats
        >>> msc, bm = row_stats(-25.95, -35.47, -16.43), row_stats(-38.95, -44.38, -33.51)
        >>> est, se, lo, hi = pool_fixed_from_summaries([msc.md, bm.md], [msc.se, bm.se])
        >>> print(f"{est:.2f} [{lo:.2f}, {hi:.2f}]")
        -35.75 [-40.47, -31.03]
    """
    from bayesmeta.classical import pool
    from bayesmeta.studies import StudyTable

    table = StudyTable.from_arrays(
        np.asarray(md, float), sei=np.asarray(se, float), study=[str(i) for i in range(len(md))]
    )
    res = pool(table, method="FE", level=level)
    return res.estimate, res.se, res.ci_low, res.ci_high


@dataclass(frozen=True)
class QDecomposition:
    """The FE check Q_total = sum Q_g + Q_between on the printed p values (see module doc).

    Built by `fe_q_decomposition()`; ``candidates`` maps each candidate overall df to
    ``(df, p_low, p_high, fits)``, ``verdict`` says which ones reproduce the printed p.

    Examples:
        >>> from bayesmeta.review.published import fe_q_decomposition
        >>> from bayesmeta.review.spec import load_spec
        >>> spec = load_spec()
        >>> dec = fe_q_decomposition(spec.overall("T2DM", "insulin_dose"),
        ...                          spec.subgroups("T2DM", "insulin_dose"))
        >>> dec.verdict
        'consistent only with 6 arms as units (df = 5)'
    """

    q_groups: dict[str, tuple[float, float]]  # subgroup -> Q interval from its printed p
    df_groups: dict[str, int]
    q_between: tuple[float, float, float]  # point, min, max over rounding
    q_total: tuple[float, float]  # implied interval
    p_published: tuple[float, float]  # interval of the printed overall p
    candidates: dict[str, tuple[int, float, float, bool]]  # name -> (df, p_low, p_high, fits)

    @property
    def verdict(self) -> str:
        """Which candidate df reproduce the printed overall p, in words."""
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
    A candidate fits when the p range of the implied ``Q_total`` interval meets the interval
    of the printed overall p.

    Examples:
        The review's insulin-dose rows print p = 0.13 overall, 0.57 (MSC) and 0.43 (BM-MNC):

        >>> from bayesmeta.review.published import fe_q_decomposition
        >>> from bayesmeta.review.spec import load_spec
        >>> spec = load_spec()
        >>> dec = fe_q_decomposition(spec.overall("T2DM", "insulin_dose"),
        ...                          spec.subgroups("T2DM", "insulin_dose"))
        >>> print("Q_total in [{:.3f}, {:.3f}]".format(*dec.q_total))
        Q_total in [8.433, 8.539]
        >>> {name: c[3] for name, c in dec.candidates.items()}
        {'5 trials as units': False, '6 arms as units': True}
    """
    q_groups: dict[str, tuple[float, float]] = {}
    df_groups: dict[str, int] = {}
    for s in subgroups:
        interval = s.published.p_interval()
        if interval is None or s.published.k is None or s.published.k < 2:
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
    k_arms = sum(s.published.k or 0 for s in subgroups)
    k_trials = overall.published.k or 0
    candidates: dict[str, tuple[int, float, float, bool]] = {}
    for name, df in (
        (f"{k_trials} trials as units", k_trials - 1),
        (f"{k_arms} arms as units", k_arms - 1),
    ):
        if df < 1:
            continue
        p_lo, p_hi = p_range(q_lo, q_hi, df)
        candidates[name] = (df, p_lo, p_hi, p_lo < p_pub[1] and p_hi >= p_pub[0])
    return QDecomposition(q_groups, df_groups, qb, (q_lo, q_hi), p_pub, candidates)
