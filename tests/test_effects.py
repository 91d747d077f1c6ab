"""Tests for bayesmeta.effects against metafor 3.8.1 escalc() and published numbers.

The R output lives in tests/fixtures/escalc.json, made by tests/fixtures/make_escalc_fixtures.R
(each fixture entry records its exact escalc() call). Tolerance against R: rtol 1e-10 with an
absolute floor of 1e-12 (the JSON holds 15 significant digits; we agree to ~5e-15).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bayesmeta import effects as E
from bayesmeta.errors import InputError

FIXTURES = json.loads((Path(__file__).parent / "fixtures" / "escalc.json").read_text())
RTOL, ATOL = 1e-10, 1e-12
CRINS_COLUMNS = {
    "ai": "exp.AR.events",
    "n1i": "exp.total",
    "ci": "cont.AR.events",
    "n2i": "cont.total",
}


def frame(name: str) -> pd.DataFrame:
    return pd.DataFrame(FIXTURES[name]["input"])


def ref(name: str, key: str) -> tuple[np.ndarray, np.ndarray]:
    entry = FIXTURES[name][key]
    return np.array(entry["yi"], dtype=float), np.array(entry["vi"], dtype=float)


def assert_matches(yi, vi, name: str, key: str) -> None:
    ryi, rvi = ref(name, key)
    np.testing.assert_allclose(np.asarray(yi, dtype=float), ryi, rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(np.asarray(vi, dtype=float), rvi, rtol=RTOL, atol=ATOL)


def test_fixture_records_versions():
    meta = FIXTURES["meta"]
    assert meta["metafor"] == "3.8.1"
    assert meta["script"] == "tests/fixtures/make_escalc_fixtures.R"
    assert meta["R"].startswith("R version")


# ------------------------------------------------------------------------------- Normand 1999


def test_normand_md_unpooled_matches_metafor_ls():
    """escalc(measure="MD", m1i, sd1i, n1i, m2i, sd2i, n2i, data=dat.normand1999)"""
    d = frame("normand1999")
    es = E.md(d.m1i, d.sd1i, d.n1i, d.m2i, d.sd2i, d.n2i)
    assert_matches(es.yi, es.vi, "normand1999", "MD_LS")
    assert "unpooled" in es.formula and "sd1^2/n1 + sd2^2/n2" in es.formula


def test_normand_md_pooled_matches_metafor_ho():
    """escalc(measure="MD", ..., data=dat.normand1999, vtype="HO")"""
    d = frame("normand1999")
    out = E.compute(d, "MD", variance="pooled")
    assert_matches(out.yi, out.vi, "normand1999", "MD_HO")
    assert "pooled SD" in out.attrs["formula"] and out.attrs["measure"] == "MD"


def test_normand_smd_matches_metafor():
    """escalc(measure="SMD", m1i, sd1i, n1i, m2i, sd2i, n2i, data=dat.normand1999)"""
    d = frame("normand1999")
    es = E.smd(d.m1i, d.sd1i, d.n1i, d.m2i, d.sd2i, d.n2i)
    assert_matches(es.yi, es.vi, "normand1999", "SMD")
    out = E.compute(d, "smd")
    assert_matches(out.yi, out.vi, "normand1999", "SMD")


def test_normand_published_yi_and_fixed_effect():
    """Normand (1999) Tables VIII-IX: yi exactly; fixed effect -3.4939 [-5.0265, -1.9613]
    (printed to 4 decimals, so |error| < 5e-5) needs the pooled-SD variance."""
    d = frame("normand1999")
    pooled = E.md(d.m1i, d.sd1i, d.n1i, d.m2i, d.sd2i, d.n2i, variance="pooled")
    assert pooled.yi.tolist() == [-20, -2, -55, -71, -4, 1, 11, -10, 7]
    w = 1 / pooled.vi
    est, se = np.sum(w * pooled.yi) / w.sum(), math.sqrt(1 / w.sum())
    z = 1.959963984540054
    assert abs(est - -3.4939) < 5e-5
    assert abs(est - z * se - -5.0265) < 5e-5 and abs(est + z * se - -1.9613) < 5e-5
    unpooled = E.md(d.m1i, d.sd1i, d.n1i, d.m2i, d.sd2i, d.n2i)
    w2 = 1 / unpooled.vi
    assert abs(np.sum(w2 * unpooled.yi) / w2.sum() - -3.4939) > 1e-2  # the variances differ


# ------------------------------------------------------------------------------- Morris 2008


def test_morris_smcr_each_arm_matches_metafor():
    """escalc(measure="SMCR", m1i=m_post_t, m2i=m_pre_t, sd1i=sd_pre_t, ni=n_t, ri=r) and _c"""
    d = frame("morris2008")
    t = E.smcr(d.m_pre_t, d.sd_pre_t, d.m_post_t, d.n_t, d.r)
    c = E.compute(
        d,
        "SMCR",
        columns={"m_pre": "m_pre_c", "sd_pre": "sd_pre_c", "m_post": "m_post_c", "n": "n_c"},
    )
    assert_matches(t.yi, t.vi, "morris2008", "SMCR_t")
    assert_matches(c.yi, c.vi, "morris2008", "SMCR_c")


def test_morris_ppc_matches_metafor_and_table5():
    """SMCR_t$yi - SMCR_c$yi, SMCR_t$vi + SMCR_c$vi; Morris (2008) Table 5 to 4 decimals."""
    d = frame("morris2008")
    out = E.compute(d, "PPC")
    assert_matches(out.yi, out.vi, "morris2008", "PPC")
    published = [0.7421, 0.9524, 1.8054, 1.1514, 0.5050]
    np.testing.assert_allclose(out.yi, published, rtol=0, atol=5e-5)
    es = E.ppc(
        d.m_pre_t, d.sd_pre_t, d.m_post_t, d.n_t, d.m_pre_c, d.sd_pre_c, d.m_post_c, d.n_c,
        r_t=d.r, r_c=d.r,
    )  # fmt: skip
    np.testing.assert_allclose(es.yi, out.yi, rtol=1e-15)


def test_morris_table5_needs_the_exact_correction():
    """With c(m) ~ 1 - 3/(4m - 1) study 3 would be 1.8065, not the printed 1.8054."""
    d = frame("morris2008").iloc[[2]]

    def approx(n):
        return 1 - 3 / (4 * (n - 1) - 1)

    g_t = approx(d.n_t) * (d.m_post_t - d.m_pre_t) / d.sd_pre_t
    g_c = approx(d.n_c) * (d.m_post_c - d.m_pre_c) / d.sd_pre_c
    assert abs(float((g_t - g_c).iloc[0]) - 1.8054) > 5e-4
    assert abs(float(E.compute(d, "PPC").yi.iloc[0]) - 1.8054) < 5e-5


def test_morris_mean_change_matches_metafor():
    """escalc(measure="MC", m1i=m_post, m2i=m_pre, sd1i=sd_post, sd2i=sd_pre, ni, ri=r)"""
    d = frame("morris2008")
    t = E.mean_change(d.m_pre_t, d.sd_pre_t, d.m_post_t, d.sd_post_t, d.n_t, d.r)
    assert_matches(t.yi, t.vi, "morris2008", "MC_t")
    c = E.compute(
        d,
        "MC",
        columns={
            "m_pre": "m_pre_c", "sd_pre": "sd_pre_c", "m_post": "m_post_c",
            "sd_post": "sd_post_c", "n": "n_c",
        },
    )  # fmt: skip
    assert_matches(c.yi, c.vi, "morris2008", "MC_c")
    r0 = E.mean_change(d.m_pre_t, d.sd_pre_t, d.m_post_t, d.sd_post_t, d.n_t, 0.0)
    assert_matches(r0.yi, r0.vi, "morris2008", "MC_t_r0")


def test_before_after_is_independent_groups_md():
    """RevMan convention: MD = post - pre, vi = sd_pre^2/n_pre + sd_post^2/n_post (= MC r=0)."""
    d = frame("morris2008")
    ba = E.compute(
        d.assign(n_pre=d.n_t, n_post=d.n_t),
        "BA",
        columns={"m_pre": "m_pre_t", "sd_pre": "sd_pre_t", "m_post": "m_post_t",
                 "sd_post": "sd_post_t"},
    )  # fmt: skip
    assert_matches(ba.yi, ba.vi, "morris2008", "MC_t_r0")
    assert "RevMan" in ba.attrs["formula"] and ba.attrs["measure"] == "BA"
    # a single 'n' column stands for n_pre and n_post
    one_n = E.compute(
        d.rename(columns={"n_t": "n"}),
        "BA",
        columns={
            "m_pre": "m_pre_t",
            "sd_pre": "sd_pre_t",
            "m_post": "m_post_t",
            "sd_post": "sd_post_t",
        },
    )
    np.testing.assert_array_equal(one_n.vi, ba.vi)
    es = E.before_after(10.0, 2.0, 20, 7.0, 3.0, 18)
    assert es.yi[0] == -3.0
    assert es.vi[0] == pytest.approx(4 / 20 + 9 / 18, rel=1e-15)


# ------------------------------------------------------------------------------- 2x2 tables


@pytest.mark.parametrize("measure", ["OR", "RR", "RD"])
def test_crins_matches_metafor(measure):
    """escalc(measure, ai=exp.AR.events, n1i=exp.total, ci=cont.AR.events, n2i=cont.total,
    data=CrinsEtAl2014): Gras (2008), row 6, has 0 events in the treated arm."""
    d = frame("crins2014")
    out = E.compute(d, measure, columns=CRINS_COLUMNS)
    assert_matches(out.yi, out.vi, "crins2014", measure)
    assert out.attrs["corrected_rows"] == [6]
    assert "0.5 added to every cell of tables with a zero cell (rows 6)" in out.attrs["formula"]


@pytest.mark.parametrize(("measure", "func"), [("OR", E.log_or), ("RR", E.log_rr), ("RD", E.rd)])
def test_bcg_matches_metafor(measure, func):
    """escalc(measure, ai=tpos, bi=tneg, ci=cpos, di=cneg, data=dat.bcg)"""
    d = frame("bcg")
    es = func(d.tpos, d.tneg, d.cpos, d.cneg)
    assert_matches(es.yi, es.vi, "bcg", measure)
    assert not es.corrected.any() and "no zero cells" in es.formula
    out = E.compute(d, measure, columns={"ai": "tpos", "bi": "tneg", "ci": "cpos", "di": "cneg"})
    assert_matches(out.yi, out.vi, "bcg", measure)


ZERO_OPTIONS = {
    "": {},
    "_all": {"to": "all"},
    "_if0all": {"to": "if0all"},
    "_drop00": {"drop00": True},
    "_add0.25": {"add": 0.25},
}


@pytest.mark.parametrize("suffix", list(ZERO_OPTIONS))
@pytest.mark.parametrize(("measure", "func"), [("OR", E.log_or), ("RR", E.log_rr), ("RD", E.rd)])
def test_zero_cell_options_match_metafor(measure, func, suffix):
    """escalc(measure, ai, n1i, ci, n2i, data=zz[, to="all" | to="if0all" | drop00=TRUE |
    add=0.25]); rows 3 and 6 are double-zero tables, rows 2, 4, 5 have one zero cell."""
    d = frame("zero_cells")
    es = func(d.ai, ci=d.ci, n1i=d.n1i, n2i=d.n2i, **ZERO_OPTIONS[suffix])
    ryi, rvi = ref("zero_cells", measure + suffix)
    np.testing.assert_array_equal(np.isnan(es.yi), np.isnan(ryi))
    assert_matches(es.yi, es.vi, "zero_cells", measure + suffix)


def test_double_zero_behaviour_is_stated():
    d = frame("zero_cells")
    kept = E.compute(d, "OR")
    assert kept.attrs["corrected_rows"] == [2, 3, 4, 5, 6]
    assert "double-zero tables kept (rows 3, 6)" in kept.attrs["formula"]
    dropped = E.compute(d, "OR", drop00=True)
    assert dropped.attrs["dropped_rows"] == [3, 6]
    assert list(dropped.index) == [0, 1, 3, 4] and not dropped.yi.isna().any()
    assert "double-zero tables dropped" in dropped.attrs["formula"]
    every = E.log_or(d.ai, ci=d.ci, n1i=d.n1i, n2i=d.n2i, to="all")
    assert every.corrected.all() and "every cell of all tables" in every.formula


def test_no_correction_without_zero_and_errors_when_undefined():
    # no correction: a double-zero RD has variance 0, which is an error
    with pytest.raises(InputError, match="row 1: sampling variance 0"):
        E.rd([0], ci=[0], n1i=[10], n2i=[10], add=0)
    with pytest.raises(InputError, match="row 2: log OR undefined"):
        E.log_or([3, 0], ci=[2, 4], n1i=[10, 10], n2i=[10, 10], to="none")
    ok = E.rd([0, 3], ci=[1, 2], n1i=[10, 10], n2i=[10, 10], add=0)
    np.testing.assert_allclose(ok.yi, [-0.1, 0.1], rtol=1e-15)
    assert "no continuity correction" in ok.formula


# ------------------------------------------------------------------------------- c(m)


def _exact_c(m: int) -> float:
    """c(m) from the exact gamma ratio in 50-digit decimal arithmetic (integer m >= 2)."""
    from decimal import Decimal, localcontext

    with localcontext() as ctx:
        ctx.prec = 50
        sqrt_pi = Decimal("3.14159265358979323846264338327950288419716939937510").sqrt()
        k = m // 2
        if (
            m % 2 == 0
        ):  # Gamma(k) / Gamma(k - 1/2), Gamma(k - 1/2) = (2k-2)! sqrt(pi) / (4^(k-1) (k-1)!)
            ratio = Decimal(4 ** (k - 1) * math.factorial(k - 1) ** 2) / (
                Decimal(math.factorial(2 * k - 2)) * sqrt_pi
            )
        else:  # Gamma(k + 1/2) / Gamma(k), Gamma(k + 1/2) = (2k)! sqrt(pi) / (4^k k!)
            ratio = (
                Decimal(math.factorial(2 * k))
                * sqrt_pi
                / (Decimal(4**k * math.factorial(k) * math.factorial(k - 1)))
            )
        return float(ratio / (Decimal(m) / 2).sqrt())


def test_hedges_correction_exact_metafor_form_and_large_m():
    """metafor:::.cmicalc(mi) = exp(lgamma(mi/2) - log(sqrt(mi/2)) - lgamma((mi-1)/2))."""
    from scipy.special import gammaln

    ms = [2, 3, 4, 9, 10, 38, 58, 59, 60, 61, 62, 99, 100, 101, 999, 1000, 3000, 4001]
    np.testing.assert_allclose(
        E.hedges_correction(np.array(ms, dtype=float)), [_exact_c(m) for m in ms], rtol=2e-15
    )
    m = np.arange(2, 400, dtype=float)
    lg = np.exp(gammaln(m / 2) - np.log(np.sqrt(m / 2)) - gammaln((m - 1) / 2))
    np.testing.assert_allclose(
        E.hedges_correction(m), lg, rtol=1e-12
    )  # lgamma form: ~3e-13 own error
    # huge m: c(m) = 1 - 3/(4m - 1) + O(m^-2), increasing to 1
    big = np.array([1e5, 1e7, 1e9, 1e12])
    c = E.hedges_correction(big)
    assert np.all(np.abs(c - (1 - 3 / (4 * big - 1))) < np.maximum(1 / big**2, 4e-16))
    assert np.all(np.diff(c) > 0) and np.all(c < 1)
    assert E.hedges_correction(2.0) == pytest.approx(1 / math.sqrt(math.pi), rel=1e-15)
    with pytest.raises(InputError):
        E.hedges_correction(1.0)


# ------------------------------------------------------------------------------- properties

pos = st.floats(0.1, 100, allow_nan=False)
mean = st.floats(-1e3, 1e3, allow_nan=False)
size = st.integers(3, 500)


@settings(max_examples=60, deadline=None)
@given(mean, pos, mean, pos, size)
def test_mean_change_r0_equals_before_after(m_pre, sd_pre, m_post, sd_post, n):
    mc = E.mean_change(m_pre, sd_pre, m_post, sd_post, n, 0.0)
    ba = E.before_after(m_pre, sd_pre, n, m_post, sd_post, n)
    assert mc.yi[0] == ba.yi[0]
    assert mc.vi[0] == pytest.approx(ba.vi[0], rel=1e-12)


@settings(max_examples=60, deadline=None)
@given(mean, pos, size, mean, pos, size)
def test_swapping_groups_negates_md_and_smd(m1, sd1, n1, m2, sd2, n2):
    for variance in ("unpooled", "pooled"):
        a = E.md(m1, sd1, n1, m2, sd2, n2, variance=variance)
        b = E.md(m2, sd2, n2, m1, sd1, n1, variance=variance)
        assert a.yi[0] == -b.yi[0]
        assert a.vi[0] == pytest.approx(b.vi[0], rel=1e-12)
    a, b = E.smd(m1, sd1, n1, m2, sd2, n2), E.smd(m2, sd2, n2, m1, sd1, n1)
    assert a.yi[0] == pytest.approx(-b.yi[0], rel=1e-12, abs=1e-15)
    assert a.vi[0] == pytest.approx(b.vi[0], rel=1e-12)


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 40), st.integers(1, 40), st.integers(0, 40), st.integers(1, 40))
def test_log_or_symmetries(ai, bi, ci, di):
    a = E.log_or(ai, bi, ci, di)
    swapped = E.log_or(ci, di, ai, bi)  # groups swapped
    flipped = E.log_or(bi, ai, di, ci)  # events <-> non-events
    assert a.yi[0] == pytest.approx(-swapped.yi[0], rel=1e-12, abs=1e-14)
    assert a.yi[0] == pytest.approx(-flipped.yi[0], rel=1e-12, abs=1e-14)
    assert a.vi[0] == pytest.approx(swapped.vi[0], rel=1e-12) == flipped.vi[0]
    totals = E.log_or(ai, ci=ci, n1i=ai + bi, n2i=ci + di)
    assert totals.yi[0] == a.yi[0] and totals.vi[0] == a.vi[0]


@settings(max_examples=40, deadline=None)
@given(pos, pos, size, st.floats(-1, 0.99), st.floats(0.001, 0.01))
def test_mean_change_variance_decreases_with_r(sd_pre, sd_post, n, r, dr):
    lo = E.mean_change(0.0, sd_pre, 1.0, sd_post, n, r)
    hi = E.mean_change(0.0, sd_pre, 1.0, sd_post, n, r + dr)
    assert hi.vi[0] < lo.vi[0]


# ------------------------------------------------------------------------------- edges, errors


def test_k1_scalars_broadcast_and_frozen_result():
    es = E.md(5.0, 2.0, [10, 20], 4.0, 2.0, 10)
    assert es.k == 2 and es.measure == "MD"
    np.testing.assert_allclose(es.vi, [0.8, 0.6], rtol=1e-15)
    np.testing.assert_allclose(es.sei, np.sqrt([0.8, 0.6]), rtol=1e-15)
    with pytest.raises(ValueError):
        es.yi[0] = 1.0
    one = E.smd([1.0], [1.0], [5], [0.0], [1.0], [5])
    assert one.k == 1
    f = one.to_frame()
    assert list(f.columns) == ["yi", "vi"] and f.attrs["measure"] == "SMD"
    with pytest.raises(InputError, match="different lengths"):
        E.md([1, 2], 1, 10, [1, 2, 3], 1, 10)


def test_huge_and_tiny_values_stay_finite():
    es = E.md(1e12, 1e9, 10_000_000, 0.0, 1e9, 10_000_000)
    assert np.isfinite(es.vi).all() and es.vi[0] == pytest.approx(2e11, rel=1e-12)
    g = E.smd(1e-9, 1e-9, 2, 0.0, 1e-9, 2)  # m = 2, the smallest defined case
    assert g.yi[0] == pytest.approx(1 / math.sqrt(math.pi), rel=1e-12)


BAD = [
    # (measure, column, value, row, message fragment)
    ("MD", "sd1i", -1.0, 2, "standard deviation must be >= 0"),
    ("MD", "n2i", 1, 3, "sample size must be >= 2"),
    ("MD", "m1i", "abc", 1, "not a finite number"),
    ("MD", "m2i", np.nan, 4, "empty cell"),
    ("SMCR", "r", 1.2, 2, "correlation must be in [-1, 1]"),
    ("SMCR", "n", 2, 1, "sample size must be >= 3 for SMCR"),
    ("SMCR", "sd_pre", 0.0, 2, "standard deviation must be > 0"),
    ("MC", "r", -1.5, 3, "correlation must be in [-1, 1]"),
    ("OR", "ai", -1, 2, "event count must be >= 0"),
    ("OR", "ci", 99, 1, "event count exceeds the group size n2i"),
    ("RR", "n1i", 0, 3, "group size must be >= 1"),
]


def _table_for(measure: str) -> pd.DataFrame:
    if measure in ("MD", "SMD"):
        return frame("normand1999").iloc[:4].copy()
    if measure in ("SMCR", "MC"):
        d = frame("morris2008").iloc[:4]
        return pd.DataFrame({"m_pre": d.m_pre_t, "sd_pre": d.sd_pre_t, "m_post": d.m_post_t,
                             "sd_post": d.sd_post_t, "n": d.n_t, "r": d.r})  # fmt: skip
    d = frame("zero_cells").iloc[:4]
    return d.copy()


@pytest.mark.parametrize(("measure", "column", "value", "row", "fragment"), BAD)
def test_bad_cells_are_located(measure, column, value, row, fragment):
    df = _table_for(measure).astype(object)
    df.loc[df.index[row - 1], column] = value
    with pytest.raises(InputError) as err:
        E.compute(df, measure, source="in.csv")
    e = err.value
    assert (e.file, e.row, e.column) == ("in.csv", row, column)
    assert fragment in e.message
    assert str(e).startswith(f"in.csv, row {row}, column '{column}': ")


def test_errors_use_the_frames_own_column_names():
    d = frame("crins2014").astype(object)
    d.loc[1, "cont.AR.events"] = 40  # > cont.total = 28
    with pytest.raises(InputError, match=r"row 2, column 'cont.AR.events': event count exceeds"):
        E.compute(d, "OR", columns=CRINS_COLUMNS, source="crins.csv")
    with pytest.raises(InputError, match=r"missing required column 'exp.total' \(or 'bi'\)"):
        E.compute(d.drop(columns="exp.total"), "OR", columns=CRINS_COLUMNS)
    with pytest.raises(InputError, match="missing required column 'sd2i'"):
        E.compute(frame("normand1999").drop(columns="sd2i"), "MD", source="n.csv")


def test_inconsistent_totals_and_zero_variance():
    with pytest.raises(InputError, match="row 1, column 'n1i': n1i must equal ai \\+ bi"):
        E.log_or([2], [3], [1], [4], n1i=[6])
    with pytest.raises(InputError, match="row 2: sampling variance is 0"):
        E.md([1, 2], [1, 0], [5, 5], [0, 0], [1, 0], [5, 5])
    with pytest.raises(InputError, match="pooled standard deviation is 0"):
        E.smd([1], [0], [5], [0], [0], [5])
    with pytest.raises(InputError, match="sampling variance is 0"):
        E.mean_change(1.0, 2.0, 1.0, 2.0, 10, 1.0)  # r = 1, equal SDs


def test_compute_rejects_unknown_measure_option_and_role():
    d = frame("normand1999")
    with pytest.raises(InputError, match="unknown measure 'XYZ'"):
        E.compute(d, "XYZ", source="n.csv")
    with pytest.raises(InputError, match="unknown option"):
        E.compute(d, "SMD", variance="pooled")
    with pytest.raises(InputError, match="unknown variance 'both'"):
        E.compute(d, "MD", variance="both")
    with pytest.raises(InputError, match="unknown column role"):
        E.compute(d, "MD", columns={"mean1": "m1i"})
    with pytest.raises(InputError, match="empty table"):
        E.compute(d.iloc[:0], "MD")
    with pytest.raises(InputError, match="unknown 'to' value"):
        E.compute(
            frame("bcg"),
            "OR",
            to="some",
            columns={"ai": "tpos", "bi": "tneg", "ci": "cpos", "di": "cneg"},
        )


def test_compute_keeps_input_columns_and_registry_is_consistent():
    d = frame("normand1999")
    out = E.compute(d, "MD")
    assert list(out.columns) == [*d.columns, "yi", "vi"]
    assert "yi" not in d.columns  # input untouched
    assert set(E.MEASURES) == set(E.COLUMNS)


# R: library(metafor)  # 3.8.1
#    escalc("PLO", xi = c(0, 3, 10, 5), ni = c(10, 12, 10, 20))
#    escalc("PLO", xi = c(0, 3, 10, 5), ni = c(10, 12, 10, 20), to = "all")
#    escalc("PR", xi = c(0, 3, 10, 5), ni = c(10, 12, 10, 20))
PLO_X, PLO_N = [0, 3, 10, 5], [10, 12, 10, 20]


def test_plo_matches_metafor():
    from bayesmeta.effects import plo

    es = plo(PLO_X, PLO_N)
    np.testing.assert_allclose(es.yi, [-3.0445, -1.0986, 3.0445, -1.0986], atol=5e-5)
    np.testing.assert_allclose(es.vi, [2.0952, 0.4444, 2.0952, 0.2667], atol=5e-5)
    assert es.corrected.tolist() == [True, False, True, False]
    every = plo(PLO_X, PLO_N, to="all")
    np.testing.assert_allclose(every.yi, [-3.0445, -0.9985, 3.0445, -1.0361], atol=5e-5)
    np.testing.assert_allclose(every.vi, [2.0952, 0.3910, 2.0952, 0.2463], atol=5e-5)
    np.testing.assert_allclose(plo(PLO_X, mi=[10, 9, 0, 15]).yi, es.yi, rtol=1e-12)


def test_pr_matches_metafor():
    from bayesmeta.effects import pr

    es = pr(PLO_X, PLO_N)
    np.testing.assert_allclose(es.yi, [0.0455, 0.25, 0.9545, 0.25], atol=5e-5)
    np.testing.assert_allclose(es.vi, [0.0039, 0.0156, 0.0039, 0.0094], atol=5e-5)


def test_plo_bad_counts_name_the_row():
    from bayesmeta.effects import plo

    with pytest.raises(InputError, match="row 2.*exceeds"):
        plo([1, 13], [10, 12])
    with pytest.raises(InputError, match="logit undefined"):
        plo([0, 3], [10, 12], add=0)


def test_plo_from_csv_keeps_group_size_as_sample_size(tmp_path):
    from bayesmeta.inputs import load_studies

    f = tmp_path / "rates.csv"
    f.write_text("study,events,total\na,0,10\nb,3,12\nc,10,10\nd,5,20\n")
    t = load_studies(f, measure="PLO", columns={"xi": "events", "ni": "total"})
    np.testing.assert_allclose(t.yi, [-3.0445, -1.0986, 3.0445, -1.0986], atol=5e-5)
    assert t.ni.tolist() == [10, 12, 10, 20] and t.measure == "PLO"
