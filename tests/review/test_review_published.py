"""Arithmetic on published rows: implied SE, symmetry rule, Q from p, the FE Q decomposition."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from bayesmeta.classical import pool
from bayesmeta.review.published import (
    SYMMETRY_TOLERANCE,
    fe_q_decomposition,
    pool_fixed_from_summaries,
    q_between_published,
    q_interval,
    row_stats,
)
from bayesmeta.review.spec import Analysis, Published, load_spec
from bayesmeta.studies import StudyTable

Z = stats.norm.isf(0.025)


@pytest.fixture(scope="module")
def spec():
    return load_spec()


def test_implied_se_z_p():
    """T2DM insulin overall: SE = (hi - lo)/(2 z_0.975), z = MD/SE, p = 2 Phi(-|z|) (1e-12)."""
    s = row_stats(-35.76, -40.47, -31.04)
    assert s.se == pytest.approx(9.43 / (2 * Z), rel=1e-12)
    assert s.z == pytest.approx(-35.76 / s.se, rel=1e-12)
    assert s.p == pytest.approx(2 * stats.norm.cdf(-abs(s.z)), rel=1e-9)
    assert s.se_low == pytest.approx(9.42 / (2 * Z)) and s.se_high == pytest.approx(9.44 / (2 * Z))
    assert s.asymmetry == pytest.approx(0.01) and s.symmetric


@settings(max_examples=400, deadline=None)
@given(st.floats(-50, 50, allow_nan=False), st.floats(0.0001, 20, allow_nan=False))
def test_a_symmetric_ci_rounded_to_2dp_passes_the_rule(md, half):
    """A symmetric CI printed to 2 dp has |hi + lo - 2 md| <= 0.01 unless the mean sits on a
    rounding tie (md = 0.555: each of the three roundings can then err by 0.005 in the
    directions that add up, to 0.02); ties are measure-zero in real reports, so the rule's
    0.01 is kept and the test skips them."""
    r = [float(f"{v:.2f}") for v in (md, md - half, md + half)]
    err = abs(r[1] + r[2] - 2 * r[0])
    assert err <= 0.02 + 1e-9  # the bound from three roundings of at most 0.005 each
    tie = abs(abs(md * 100 - math.floor(md * 100)) - 0.5) < 1e-6
    if not tie:
        assert err <= SYMMETRY_TOLERANCE + 1e-9


def test_an_asymmetric_ci_fails_the_rule():
    assert not row_stats(0.30, 0.06, 0.76).symmetric  # hi + lo - 2 md = 0.22


def test_q_interval_inverts_chi2():
    lo, hi = q_interval(0.125, 0.135, 5)
    assert stats.chi2.sf(lo, 5) == pytest.approx(0.135) and stats.chi2.sf(hi, 5) == pytest.approx(
        0.125
    )
    assert q_interval(0.0, 0.001, 2)[1] == np.inf


def test_q_between_bounds_for_two_subgroups_are_the_corner_extremes():
    """For G = 2, Q_b = (y1 - y2)^2 / (v1 + v2) is monotone in each input: extremes at corners."""
    md, lo, hi = [-25.95, -38.95], [-35.47, -44.38], [-16.43, -33.51]
    q0, qmin, qmax = q_between_published(md, lo, hi)
    se = (np.array(hi) - np.array(lo)) / (2 * Z)
    assert q0 == pytest.approx((md[0] - md[1]) ** 2 / (se**2).sum(), rel=1e-12)
    vals = []
    for s in itertools.product((-0.005, 0.005), repeat=4):
        m1, m2 = md[0] + s[0], md[1] + s[1]
        w1 = hi[0] - lo[0] + 2 * s[2]
        w2 = hi[1] - lo[1] + 2 * s[3]
        vals.append((m1 - m2) ** 2 / ((w1 / (2 * Z)) ** 2 + (w2 / (2 * Z)) ** 2))
    assert qmin == pytest.approx(min(vals), rel=1e-9)
    assert qmax == pytest.approx(max(vals), rel=1e-9)


def test_insulin_fixed_effect_overall_from_subgroup_summaries(spec):
    """Published: MD -35.76 [-40.47, -31.04] (Zhang 2020, Results); tolerance +/- 0.01."""
    subs = spec.subgroups("T2DM", "insulin_dose")
    s = [row_stats(a.published.md, a.published.ci_low, a.published.ci_high) for a in subs]
    est, _, lo, hi = pool_fixed_from_summaries([x.md for x in s], [x.se for x in s])
    assert est == pytest.approx(-35.76, abs=0.01)
    assert lo == pytest.approx(-40.47, abs=0.01)
    assert hi == pytest.approx(-31.04, abs=0.01)


def test_insulin_q_decomposition_fits_six_arms_not_five_trials(spec):
    """MSC p=0.57 (df 1) + BM-MNC p=0.43 (df 3) + Q_between -> overall p=0.13 only with df = 5."""
    dec = fe_q_decomposition(
        spec.overall("T2DM", "insulin_dose"), spec.subgroups("T2DM", "insulin_dose")
    )
    assert dec.q_groups["MSC"] == pytest.approx(
        (stats.chi2.isf(0.575, 1), stats.chi2.isf(0.565, 1))
    )
    assert dec.q_between[0] == pytest.approx(5.402, abs=1e-3)
    assert dec.q_total[0] < 8.49 < dec.q_total[1]
    (df4, lo4, hi4, fit4), (df5, lo5, hi5, fit5) = dec.candidates.values()
    assert (df4, fit4) == (4, False) and (df5, fit5) == (5, True)
    assert (lo4, hi4) == pytest.approx((0.0737, 0.0770), abs=2e-4)
    assert (lo5, hi5) == pytest.approx((0.1289, 0.1339), abs=2e-4)
    assert dec.verdict == "consistent only with 6 arms as units (df = 5)"


def _published(res, k: int, model: str) -> Published:
    r2 = lambda x: float(f"{x:.2f}")  # noqa: E731
    return Published(
        k, 10 * k, r2(res.estimate), r2(res.ci_low), r2(res.ci_high), model, f"{res.q_p:.2f}"
    )


def test_decomposition_recovers_the_true_df_on_simulated_fe_analyses():
    """General check: FE subgroup analyses computed by the classical engine, printed to 2 dp.

    With two subgroups of 3 and 4 arms and 6 trials (two arms share a trial), the printed overall
    p is reproduced with df = 6 (arms); 20 simulated analyses whose p prints informatively.
    """
    rng = np.random.default_rng(2020)
    used = 0
    while used < 20:
        y = np.r_[rng.normal(-20, 3, 3), rng.normal(-24, 3, 4)]
        v = rng.uniform(5, 30, 7)
        groups = ["A"] * 3 + ["B"] * 4
        table = StudyTable.from_arrays(y, v, study=[f"s{i}" for i in range(7)], subgroup=groups)
        res = pool(table, method="FE", subgroup=True)
        if not 0.02 < res.q_p < 0.98 or min(r.q_p for r in res.subgroups.values()) < 0.02:
            continue
        used += 1
        _check_simulated(res)


def _check_simulated(res) -> None:
    arms_a = ["16-BM-HSC", "18-BM-HSC", "24-BM-HSC"]
    arms_b = ["23-MSC", "27-MSC", "29-MSC", "30-MSC"]
    sub_a = Analysis(
        "T2DM", "x", "A", tuple(arms_a), "", "", _published(res.subgroups["A"], 3, "fixed")
    )
    sub_b = Analysis(
        "T2DM", "x", "B", tuple(arms_b), "", "", _published(res.subgroups["B"], 4, "fixed")
    )
    overall = Analysis(
        "T2DM", "x", "all", tuple(arms_a + arms_b), "", "", _published(res, 6, "fixed")
    )
    dec = fe_q_decomposition(overall, [sub_a, sub_b])
    assert dec.q_total[0] - 0.05 <= res.q <= dec.q_total[1] + 0.05
    assert dec.candidates["7 arms as units"][3]
