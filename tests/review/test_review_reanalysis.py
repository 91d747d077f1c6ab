"""End to end: reproduce() into tmp_path (fast: exact and conjugate only; slow: with PyMC)."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from bayesmeta.review.reanalysis import reproduce


@pytest.fixture(scope="module")
def fast_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("fast")
    r = reproduce(out, seed=11, progress=False, mcmc=False, figures=True)
    return out, r


def test_outputs_exist(fast_run):
    out, r = fast_run
    for name in ("comparison.csv", "arviz_summary.csv", "findings.csv", "report.md", "report.html"):
        assert (out / name).stat().st_size > 1000, name
    # 6 forest + 1 shrinkage + 6 densities + 6 prior-sensitivity figures + 1 safety figure,
    # plus the 2 figures of the coverage simulation
    assert len(list((out / "figures").glob("*.png"))) == 20
    assert len(list((out / "simulation").glob("*.png"))) == 2
    html = (out / "report.html").read_text()
    assert html.count("data:image/png;base64,") == 22


def test_comparison_csv_contents(fast_run):
    out, _ = fast_run
    c = pd.read_csv(out / "comparison.csv").set_index("analysis")
    assert len(c) == 18
    ins = c.loc["T2DM/insulin_dose/all"]
    assert ins["classical_status"] == "reproduced"
    assert ins["classical_md"] == pytest.approx(-35.76, abs=0.01)
    assert ins["classical_ci_low"] == pytest.approx(-40.47, abs=0.01)
    assert ins["classical_ci_high"] == pytest.approx(-31.04, abs=0.01)
    assert (c["classical_status"] == "reproduced").sum() == 3
    assert (c["classical_status"] == "not reproducible").sum() == 5
    assert np.isnan(c.loc["T1DM/hba1c/all", "classical_md"])  # no number that looks reproduced
    # the vague prior returns the published estimate and CI (to the rounding of the SE)
    assert np.allclose(c["bayes_vague_median"], c["md"], atol=2e-3 * c["se_implied"].max())
    assert np.allclose(c["bayes_vague_ci_low"], c["ci_low"], atol=0.011)
    assert c["bayes_vague_p_beyond_mcid"].isna().all()  # no MCID declared
    assert c["celltype_pymc_median"].isna().all()  # mcmc=False
    assert c.loc["T1DM/hba1c/all", "celltype_exact_ci_high"] == pytest.approx(3.6129, abs=1e-3)
    assert c.loc["T2DM/insulin_dose/BM-MNC", "n_table1"] == 38


def test_arviz_summary_behind_every_posterior(fast_run):
    out, r = fast_run
    a = pd.read_csv(out / "arviz_summary.csv")
    assert {"theta_vague[T1DM/c_peptide/all]", "mu", "tau", "theta[MSC]"} <= set(a["param"])
    conj = a[a["source"] == "published estimate x effect prior"]
    assert len(conj) == 18 * 3
    # i.i.d. draws: means within 5 Monte Carlo SEs of the exact posterior means
    c = r.comparison.set_index("analysis")
    for _, row in conj.iterrows():
        name, key = row["param"].split("[", 1)
        prior = name.removeprefix("theta_")
        exact = c.loc[key.rstrip("]"), f"bayes_{prior}_median"]
        assert abs(row["mean"] - exact) < 5 * row["sd"] / np.sqrt(4000)


def test_report_states_what_cannot_be_reproduced(fast_run):
    out, _ = fast_run
    text = (out / "report.md").read_text()
    assert "cannot be rebuilt from its subgroup" in text
    assert "consistent only with 6 arms as units (df = 5)" in text
    assert "Mantel-Haenszel" in text and "PyMC cross-check not run" in text


def test_same_seed_gives_byte_identical_csv(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    reproduce(a, seed=3, progress=False, mcmc=False, figures=False, simulation=False)
    reproduce(b, seed=3, progress=False, mcmc=False, figures=False, simulation=False)
    for name in ("comparison.csv", "arviz_summary.csv", "findings.csv", "sensitivity.csv"):
        assert (a / name).read_bytes() == (b / name).read_bytes(), name
    c = tmp_path / "c"
    reproduce(c, seed=4, progress=False, mcmc=False, figures=False, simulation=False)
    assert (a / "comparison.csv").read_bytes() == (c / "comparison.csv").read_bytes()  # exact
    assert (a / "arviz_summary.csv").read_bytes() != (c / "arviz_summary.csv").read_bytes()


def test_progress_goes_to_stderr(tmp_path, capsys):
    reproduce(tmp_path, progress=True, mcmc=False, figures=False, simulation=False)
    cap = capsys.readouterr()
    assert cap.out == ""
    assert "[reproduce" in cap.err and "wrote report.md" in cap.err


def test_study_level_path_on_simulated_data(tmp_path):
    """SIMULATED per-arm values (see test_review_studylevel.simulate_arms)."""
    from test_review_studylevel import simulate_arms

    from bayesmeta.review.spec import load_spec

    path = tmp_path / "simulated_arms.csv"
    simulate_arms(load_spec()).to_csv(path, index=False)
    r = reproduce(tmp_path / "out", studies=path, progress=False, mcmc=False, figures=True)
    c = pd.read_csv(tmp_path / "out" / "comparison.csv")
    assert (c["study_status"] == "analysed").all()
    assert (tmp_path / "out" / "study_level.csv").exists()
    assert "RevMan method" in (tmp_path / "out" / "report.md").read_text()
    assert r.studylevel is not None


def test_bad_studies_file_is_an_input_error(tmp_path):
    from bayesmeta.errors import InputError

    bad = tmp_path / "bad.csv"
    bad.write_text("study,ref\nx,16\n")
    with pytest.raises(InputError, match="missing required column"):
        reproduce(tmp_path / "out", studies=bad, progress=False, mcmc=False)


@pytest.mark.slow
def test_full_run_with_pymc(tmp_path):
    r = reproduce(tmp_path, seed=20201, progress=False, draws=500, tune=500, chains=2)
    c = pd.read_csv(tmp_path / "comparison.csv").set_index("analysis")
    assert c["celltype_pymc_median"].notna().sum() == 18
    text = (tmp_path / "report.md").read_text()
    assert "Sampler diagnostics" in text and "max R-hat" in text
    for f in r.celltype.values():
        assert f.pymc_diagnostics["chains"] == 2


@pytest.mark.slow
def test_cli_reproduce(tmp_path):
    from bayesmeta.cli import main

    assert main(["reproduce", "--out", str(tmp_path), "--quiet"]) == 0
    assert (tmp_path / "report.html").exists()


def test_probability_beyond_a_declared_mcid():
    """With an MCID in the spec (a test value, not a claim), P(benefit beyond it) is reported."""
    import tomllib

    from scipy import stats

    from bayesmeta._paths import models_dir
    from bayesmeta.review.published import analysis_stats
    from bayesmeta.review.reanalysis import bayes_rows
    from bayesmeta.review.spec import parse_spec

    raw = tomllib.loads((models_dir() / "zhang2020.toml").read_text())
    raw["outcomes"]["hba1c"]["mcid"] = {"value": 0.5, "unit": "test", "source": "test only"}
    spec = parse_spec(raw)
    stats_ = {a.key: analysis_stats(a) for a in spec.analyses}
    rows, _ = bayes_rows(spec, stats_, np.random.default_rng(0))
    b = next(x for x in rows["T2DM/hba1c/all"] if x.prior == "vague")
    assert b.p_beyond_mcid == pytest.approx(
        stats.norm.cdf(-0.5, b.posterior.mean, b.posterior.sd), rel=1e-12
    )
    assert b.p_beyond_mcid < b.p_benefit
    assert np.isnan(next(x for x in rows["T2DM/fpg/all"] if x.prior == "vague").p_beyond_mcid)


def test_prior_sensitivity_section(fast_run):
    """Every cell-type model is swept over 40 tau priors (k = 1 rows are not); each swept fit
    equals a direct exact fit of the same model (1e-10)."""
    from bayesmeta.exact import NormalNormal
    from bayesmeta.review.reanalysis import SENSITIVITY_N

    out, r = fast_run
    sens = pd.read_csv(out / "sensitivity.csv")
    assert sens["analysis"].nunique() == 6 and set(sens["k"]) == {2}
    assert (sens.groupby("analysis").size() == 2 * SENSITIVITY_N).all()
    report = (out / "report.md").read_text()
    assert re.search(r"^## \d+\. Prior sensitivity \(exact engine\)$", report, re.M)
    assert (out / "figures" / "sensitivity_T2DM_hba1c.png").stat().st_size > 10_000
    for key in ("T2DM/hba1c/cell-type model", "T1DM/c_peptide/cell-type model"):
        row = r.sensitivity[r.sensitivity["analysis"] == key].iloc[7]
        d, o, _ = key.split("/")
        subs = r.spec.subgroups(d, o)
        y = [r.stats[a.key].md for a in subs]
        s = [r.stats[a.key].se for a in subs]
        fit = NormalNormal(y, s, row["tau_prior"], row["mu_prior"])
        assert fit.mu.median == pytest.approx(row["mu_median"], rel=1e-10)
        assert fit.tau.median == pytest.approx(row["tau_median"], rel=1e-10)


def test_interval_trust_section(fast_run):
    """The review-shaped coverage study: 16 rows x 4 tau x 4 methods; at tau = 0 the
    fixed-effect interval is exact, so its coverage pooled over the 16 rows (1600 replicates)
    must be within 3 MCSE (3 x 0.0054) of 0.95."""
    from bayesmeta.review.trust import TRUST_REPLICATES

    out, r = fast_run
    trust = pd.read_csv(out / "interval_trust.csv")
    assert len(trust) == 16 * 4 * 4
    fe0 = trust[(trust["method"] == "FE") & (trust["tau"] == "0se")]
    n = TRUST_REPLICATES * len(fe0)
    mcse = (0.95 * 0.05 / n) ** 0.5
    assert abs(fe0["coverage"].mean() - 0.95) < 3 * mcse
    assert "How trustworthy is the review's interval method" in (out / "report.md").read_text()
    # shipped metrics of this seed-independent study are used (tests/review/test_review_trust.py)
    assert (out / "simulation" / "metrics.csv").exists()


def test_package_level_reproduce_is_the_function() -> None:
    """`from bayesmeta.review import reproduce` is the function, however often it is imported
    (the module is `reanalysis`: a submodule of the same name used to shadow it)."""
    import bayesmeta.review as review
    import bayesmeta.review.reanalysis as reanalysis

    first = review.reproduce
    from bayesmeta.review import reproduce as again

    assert callable(first) and first is again is reanalysis.reproduce


def test_figures_drawn_by_the_worker_equal_those_drawn_here(fast_run, tmp_path):
    """Half the figures are drawn by a second process: the files are byte-identical to a run
    that draws them all in this process, and a worker that fails leaves no figure missing."""
    from bayesmeta.review.figure_worker import FigureWorker
    from bayesmeta.review.figures import make_figures

    _, r = fast_run
    here = make_figures(r, tmp_path / "here" / "figures")
    shared = make_figures(r, tmp_path / "shared" / "figures", pool=FigureWorker.start())
    assert [c for c, _ in here] == [c for c, _ in shared]
    names = sorted(p.name for p in (tmp_path / "here" / "figures").glob("*.png"))
    assert len(names) == 20
    for name in names:
        a = (tmp_path / "here" / "figures" / name).read_bytes()
        assert a == (tmp_path / "shared" / "figures" / name).read_bytes(), name
    broken = FigureWorker(None)  # a worker that never started: everything is drawn here
    make_figures(r, tmp_path / "broken" / "figures", pool=broken)
    assert len(list((tmp_path / "broken" / "figures").glob("*.png"))) == 20
