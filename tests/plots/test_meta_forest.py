"""The forest plot in the RevMan 5 layout, read back from what is drawn (texts, axis scale and
label, lines, row count), not from pixels; and the measure-aware axes of the funnel and
posterior plots. Posterior weights of exact results equal R bayesmeta 3.4's ``$weights``
(tests/fixtures/make_weights_fixtures.R) to 1e-7 relative."""

from __future__ import annotations

import re

import numpy as np
import pytest

from bayesmeta import StudyTable, datasets
from bayesmeta.classical import pool
from bayesmeta.classical.mantel_haenszel import pool_tables
from bayesmeta.cli import main
from bayesmeta.exact import NormalNormal
from bayesmeta.inputs import load_studies
from bayesmeta.plots.meta_forest import fixed, plot_decimals
from conftest import load_fixture

NUM = re.compile(r"-?\d+\.\d+|-?\d+")
CI = re.compile(r"^(-?\d+\.(\d+)) \[(-?\d+\.(\d+)), (-?\d+\.(\d+))\]$")


def texts(fig):
    return [t.get_text() for t in fig.axes[0].texts]


def ci_texts(fig):
    return [m for m in (CI.match(t) for t in texts(fig)) if m]


def null_lines(ax):
    return [ln for ln in ax.get_lines() if ln.get_gid() == "null line"]


@pytest.fixture(scope="module")
def crins():
    return load_studies("crins2014")


def test_ratio_measure_on_the_ratio_scale(crins):
    res = pool(crins, "REML")
    fig = res.plot_forest()
    ax = fig.axes[0]
    assert ax.get_xscale() == "log"
    assert ax.get_xlabel() == "Odds ratio (log scale)"
    (ref,) = null_lines(ax)
    assert ref.get_xdata()[0] == 1.0
    lo, hi = ax.get_xlim()
    assert lo * hi == pytest.approx(1.0, rel=1e-9)  # symmetric about 1 on the log axis
    found = ci_texts(fig)
    # 6 studies and the total: the odds ratios exp(yi) and exp(yi -/+ 1.96 se), 2 decimals
    assert len(found) == 7 and {len(m.group(i)) for m in found for i in (2, 4, 6)} == {2}
    study_rows = found[:6]
    z = 1.959963984540054
    for m, y, v in zip(study_rows, crins.yi, crins.vi, strict=True):
        assert m.group(0) == (f"{fixed(np.exp(y), 2)} [{fixed(np.exp(y - z * v**0.5), 2)}, "
                              f"{fixed(np.exp(y + z * v**0.5), 2)}]")  # fmt: skip
    total = found[6]
    assert float(total.group(1)) == pytest.approx(np.exp(res.estimate), abs=0.005)
    # weight column: one per study plus 100.0% on the total, as RevMan prints them
    weights = [t for t in texts(fig) if t.endswith("%") and "I\u00b2" not in t]
    assert len(weights) == 7 and weights[-1] == "100.0%"
    np.testing.assert_allclose([float(w[:-1]) for w in weights[:6]], res.studies["weight"],
                               atol=0.05)  # fmt: skip
    assert "Odds ratio\nIV, Random (REML), 95% CI" in texts(fig)
    assert any(t.startswith("Heterogeneity: Tau\u00b2 = 0.22; Chi\u00b2 = 6.91, df = 5")
               for t in texts(fig))  # fmt: skip
    assert "Test for overall effect: Z = 4.76 (P < 0.00001)" in texts(fig)
    # rows: heading line, 6 studies, total, prediction interval, 2 notes
    assert sum(t in crins.study for t in texts(fig)) == 6


def test_difference_measure_one_number_format():
    # one study with a tiny effect beside large ones: every number keeps the same decimals
    t = StudyTable.from_arrays([-0.0001716, -2.310, 1.25, -0.8], vi=[0.04, 0.09, 0.25, 0.16],
                               measure="MD")  # fmt: skip
    fig = pool(t, "REML").plot_forest()
    ax = fig.axes[0]
    assert ax.get_xscale() == "linear" and ax.get_xlabel() == "Mean difference"
    (ref,) = null_lines(ax)
    assert ref.get_xdata()[0] == 0.0
    found = ci_texts(fig)
    assert len(found) == 5
    assert {len(m.group(i)) for m in found for i in (2, 4, 6)} == {2}
    assert found[0].group(1) == "0.00"  # -0.0001716: never "-0.00" or "-0.0001716"
    assert not any("e-" in x for x in texts(fig))
    lo, hi = ax.get_xlim()
    assert lo == pytest.approx(-hi)


def test_decimals_follow_the_scale():
    # the same data in other units: the decimals move with the scale, one format per plot
    y, v = np.array([0.012, -0.004, 0.02]), np.array([1e-5, 2e-5, 4e-5])
    small = pool(StudyTable.from_arrays(y, vi=v, measure="MD"), "REML").plot_forest()
    big = pool(StudyTable.from_arrays(1000 * y, vi=1e6 * v, measure="MD"), "REML").plot_forest()
    assert {len(m.group(i)) for m in ci_texts(small) for i in (2, 4, 6)} == {3}
    assert {len(m.group(i)) for m in ci_texts(big) for i in (2, 4, 6)} == {2}
    assert plot_decimals(np.array([1.0]), np.array([1.0])) == 2  # no width: RevMan's 2


def test_subgroups_headings_subtotals_and_test():
    d = datasets.load("crins2014")
    base = load_studies("crins2014")
    t = StudyTable.from_arrays(base.yi, base.vi, study=base.study, subgroup=d["IL2RA"],
                               measure="OR")  # fmt: skip
    res = pool(t, "REML", subgroup=True)
    fig = res.plot_forest()
    got = texts(fig)
    assert got.count("Subtotal (95% CI)") == 2
    assert "daclizumab" in got and "basiliximab" in got
    # subtotal weights are the sums of their studies' weights
    sub_w = [t.get_text() for t in fig.axes[0].texts
             if t.get_text().endswith("%") and t.get_fontweight() == "bold"]  # fmt: skip
    w = res.studies["weight"].to_numpy()
    sums = [w[res.studies["subgroup"] == g].sum() for g in dict.fromkeys(res.studies["subgroup"])]
    np.testing.assert_allclose([float(x[:-1]) for x in sub_w[:2]], sums, atol=0.05)
    assert sub_w[2] == "100.0%"
    assert len(ci_texts(fig)) == 6 + 2 + 1
    (line,) = [x for x in got if x.startswith("Test for subgroup differences")]
    assert line == (f"Test for subgroup differences: Chi\u00b2 = {res.q_between:.2f}, "
                    f"df = {res.q_between_df} (P = {res.q_between_p:.2f})")  # fmt: skip
    # the subgroup diamonds are drawn at the subgroup estimates (odds-ratio axis)
    diamonds = [p for p in fig.axes[0].patches]
    tips = sorted(float(np.max(p.get_xy()[:, 0])) for p in diamonds)
    want = sorted([np.exp(s.ci_high) for s in res.subgroups.values()] + [np.exp(res.ci_high)])
    np.testing.assert_allclose(tips, want, rtol=1e-12)


def test_bayesian_result_weights_and_shrinkage(crins):
    res = NormalNormal.from_table(crins).to_result()
    fig = res.plot_forest()
    assert res.settings["weight"].startswith("posterior mean of the inverse-variance weights")
    weights = [t for t in texts(fig) if t.endswith("%")]
    assert len(weights) == 7 and weights[-1] == "100.0%"
    assert sum(float(w[:-1]) for w in weights[:6]) == pytest.approx(100.0, abs=0.3)
    assert any("posterior mean of the inverse-variance" in t.get_text() for t in fig.texts)
    assert "Odds ratio\nBayesian, 95% CrI" in texts(fig)
    assert "Total (95% CrI)" in texts(fig)
    # the shrunken estimates: a marker per study at exp(posterior median)
    dots = [ln for ln in fig.axes[0].get_lines() if ln.get_marker() == "o"]
    np.testing.assert_allclose([ln.get_xdata()[0] for ln in dots],
                               np.exp(res.studies["median"]), rtol=1e-12)  # fmt: skip


@pytest.mark.parametrize("case", ["crins_halfnormal_flat", "crins_halfnormal_normal4",
                                  "rubin_halfcauchy25_normal10"])  # fmt: skip
def test_posterior_weights_equal_r_bayesmeta(case):
    # R: bayesmeta(y, s, tau.prior = ..., mu.prior.mean = ..., mu.prior.sd = ...)$weights
    rec = load_fixture("bayesmeta_weights.json")[case]
    fit = NormalNormal(rec["yi"], rec["sei"], rec["tau_prior"], rec["mu_prior"])
    np.testing.assert_allclose(fit.posterior_weights(), rec["weights"], rtol=1e-7)
    assert fit.posterior_weights().sum() == pytest.approx(100.0, rel=1e-12)


def test_posterior_weights_in_blocks_equal_the_direct_sum():
    rng = np.random.default_rng(3)
    y, s = rng.normal(0, 1, 3000), rng.uniform(0.2, 2, 3000)
    fit = NormalNormal(y, s, "halfnormal(1)")
    t2, w = fit.tau.nodes**2, fit.tau.weights
    iv = 1 / (s[:, None] ** 2 + t2[None, :])
    np.testing.assert_allclose(fit.posterior_weights(), 100 * (iv / iv.sum(0)) @ w, rtol=1e-10)


def test_favours_and_mantel_haenszel():
    d = datasets.load("crins2014")
    ai, ci = d["exp.AR.events"], d["cont.AR.events"]
    res = pool_tables(ai, d["exp.total"] - ai, ci, d["cont.total"] - ci, "MH", "RR")
    fig = res.plot_forest(favours=("Favours experimental", "Favours control"))
    ax = fig.axes[0]
    assert ax.get_xlabel() == "Risk ratio (log scale)" and ax.get_xscale() == "log"
    assert "Risk ratio\nM-H, Fixed, 95% CI" in texts(fig)
    left, right = (a for a in ax.texts if a.get_text().startswith("Favours"))
    assert (left.get_text(), left.get_horizontalalignment()) == ("Favours experimental", "left")
    assert (right.get_text(), right.get_horizontalalignment()) == ("Favours control", "right")


def test_no_measure_never_says_effect_alone():
    res = pool(StudyTable.from_arrays([0.1, 0.3, 0.2], vi=[0.1, 0.1, 0.2]), "DL")
    assert res.plot_forest().axes[0].get_xlabel() == "Effect size (measure not given)"
    assert res.plot_funnel().axes[0].get_xlabel() == "Effect size (measure not given)"


def test_funnel_and_posterior_axes_follow_the_measure(crins):
    md = StudyTable.from_arrays([1.0, 2.0, 1.5], vi=[0.5, 0.4, 0.3], measure="MD")
    fig = pool(md, "REML").plot_funnel()
    assert fig.axes[0].get_xscale() == "linear"
    assert (fig.axes[0].get_xlabel(), fig.axes[0].get_ylabel()) == (
        "Mean difference",
        "SE (mean difference)",
    )
    post = NormalNormal.from_table(md).to_result().plot_posterior()
    assert [a.get_xlabel() for a in post.axes] == [
        "mu (mean difference)",
        "tau (mean difference scale)",
        "theta_new (mean difference)",
    ]
    fig = pool(crins, "REML").plot_funnel()
    pts = fig.axes[0].collections[-1].get_offsets()
    np.testing.assert_allclose(pts[:, 0], np.exp(crins.yi), rtol=1e-12)


def test_exact_density_curves_are_the_exact_posterior(crins):
    fit = NormalNormal.from_table(crins)
    x, dens = fit.to_result().densities()["tau"]
    np.testing.assert_allclose(dens, fit.tau.pdf(x), rtol=1e-12)
    assert x[0] == 0.0


def test_cli_favours(tmp_path, capsys):
    out = tmp_path / "f.png"
    assert main(["pool", "crins2014", "--plot", str(out), "--favours", "Treatment,Control"]) == 0
    assert out.read_bytes()[:4] == b"\x89PNG"
    capsys.readouterr()
    with pytest.raises(SystemExit) as exc:
        main(["pool", "crins2014", "--plot", str(out), "--favours", "only-one"])
    err = capsys.readouterr().err
    assert exc.value.code == 2 and "--favours" in err and err.count("\n") == 1


def test_risk_of_bias_marks_beside_each_study(crins):
    import pandas as pd

    rob = pd.DataFrame({"study": list(crins.study),
                        "Random sequence generation": ["Low risk", "High risk", "Unclear risk",
                                                       "Low risk", "Some concerns", "n/a"],
                        "Blinding": ["Low risk"] * 6})  # fmt: skip
    fig = pool(crins, "REML").plot_forest(risk_of_bias=rob)
    marks = [t for t in fig.axes[0].texts if t.get_gid() == "risk of bias"]
    assert len(marks) == 5 + 6  # "n/a" has no mark
    colours = [t.get_bbox_patch().get_facecolor()[:3] for t in marks[:2]]
    assert [t.get_text() for t in marks[:4]] == ["+", "+", "\u2212", "+"]
    assert colours[0] == pytest.approx((0x4C / 255, 0xAF / 255, 0x50 / 255))
    assert "A" in texts(fig) and "B" in texts(fig)
    assert any(t.get_text() == "Risk of bias: (A) Random sequence generation; (B) Blinding"
               for t in fig.texts)  # fmt: skip
