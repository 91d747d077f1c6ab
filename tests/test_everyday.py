"""The everyday path: scale-aware default priors (R bayesmeta uisd() and bayesmeta() with those
priors), scale equivariance, shipped data by name, subgroup JSON against R bmr(), readable
printing, one-call plots, and the metafor edge cases (tests/fixtures/everyday.json, made by
tests/fixtures/make_everyday_fixtures.R)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from bayesmeta import StudyTable, datasets
from bayesmeta.classical import leave_one_out, pool
from bayesmeta.cli import main
from bayesmeta.defaults import default_priors, uisd
from bayesmeta.exact import NormalNormal
from bayesmeta.inputs import load_studies
from bayesmeta.posterior import posterior
from conftest import load_fixture

FIX = load_fixture("everyday.json")


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


# ---------------------------------------------------------------- default priors
@pytest.mark.parametrize("name", ["crins", "rubin"])
def test_uisd_matches_r(name):
    rec = FIX["uisd"][name]
    assert uisd(rec["n"], rec["sei"]) == pytest.approx(rec["uisd"], rel=1e-10)


@pytest.mark.parametrize("name", ["rubin", "normand"])
def test_default_prior_fit_matches_r_bayesmeta(name):
    """bayesmeta(y, sigma, tau.prior = HN(0.5 * uisd)) with R's flat default mu prior."""
    rec = FIX["default_prior_fits"][name]
    d = default_priors(rec["sei"], n=rec["n"])
    assert d.mu == "flat" and d.rule == "uisd"
    assert d.scale == pytest.approx(rec["uisd"], rel=1e-10)
    fit = NormalNormal(rec["y"], rec["sei"], n=rec["n"])
    sd = rec["mu"]["sd"]
    assert fit.mu.mean == pytest.approx(rec["mu"]["mean"], abs=1e-4 * sd)
    assert fit.mu.sd == pytest.approx(sd, rel=1e-4)
    q = fit.mu.quantile([0.025, 0.5, 0.975])
    np.testing.assert_allclose(q, rec["mu"]["q"], atol=1e-4 * sd)
    np.testing.assert_allclose(fit.tau.quantile([0.025, 0.5, 0.975]), rec["tau"]["q"], rtol=1e-6)
    assert 1 - float(fit.mu.cdf(0.0)) == pytest.approx(rec["p_mu_gt_0"], abs=1e-5)


def test_log_ratio_default_and_fallback():
    assert default_priors([0.3, 0.4], measure="or").tau == "halfnormal(0.5)"
    d = default_priors([1.0, 2.0, 2.0])
    assert (d.rule, d.tau) == ("se", f"halfcauchy({float(np.sqrt(3 / 1.5))!r})")


@pytest.mark.parametrize("use_n", [True, False])
@pytest.mark.parametrize("c", [0.01, 1.0, 100.0])
def test_scale_equivariance_exact(c, use_n):
    """Multiplying yi and sei by c multiplies locations and scales by c; probabilities stay."""
    rec = FIX["default_prior_fits"]["normand"]
    y, s = np.asarray(rec["y"]), np.asarray(rec["sei"])
    n = rec["n"] if use_n else None
    base = NormalNormal(y, s, n=n).to_result()
    scaled = NormalNormal(c * y, c * s, n=n).to_result()
    cols = ["mean", "sd", "median", "ci_low", "ci_high"]
    np.testing.assert_allclose(
        scaled.posterior[cols].to_numpy(), c * base.posterior[cols].to_numpy(), rtol=1e-8
    )
    assert scaled.extra["p_mu_gt_0"] == pytest.approx(base.extra["p_mu_gt_0"], rel=1e-8)
    np.testing.assert_allclose(
        scaled.studies["median"].to_numpy(), c * base.studies["median"].to_numpy(), rtol=1e-8
    )


def test_default_prior_is_printed_and_in_json(capsys):
    code, out, _ = run(capsys, "posterior", "rubin1981")
    assert code == 0
    assert "by default" in out and "--tau-prior" in out and "unit-information" in out
    code, out, _ = run(capsys, "posterior", "rubin1981", "--json")
    pri = json.loads(out)["priors"]
    assert pri["mu_prior"] == "flat" and "default_prior" in pri
    code, out, _ = run(capsys, "posterior", "rubin1981", "--json", "--tau-prior", "halfcauchy(5)")
    pri = json.loads(out)["priors"]
    assert pri["tau_prior"] == "halfcauchy(5)" and "default_prior" in pri  # mu still default
    code, out, _ = run(
        capsys, "posterior", "rubin1981", "--json", "--tau-prior", "halfcauchy(5)",
        "--mu-prior", "normal(0, 100)",
    )  # fmt: skip
    assert "default_prior" not in json.loads(out)["priors"]


def test_help_shows_real_defaults(capsys):
    with pytest.raises(SystemExit):
        main(["posterior", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "mu ~ flat" in out and "unit-information SD" in out and "halfnormal(0.5)" in out


def test_eight_schools_no_longer_shrunk_to_zero():
    """The old log-OR defaults gave mu 3.77 on the 8 schools; R bayesmeta gives about 8."""
    rec = FIX["default_prior_fits"]["rubin"]
    res = posterior(load_studies("rubin1981"))
    assert res.estimate == pytest.approx(rec["mu"]["q"][1], abs=1e-4 * rec["mu"]["sd"])


# ---------------------------------------------------------------- subgroups (bmr)
KARNER = FIX["karner"]


def _karner_csv(tmp_path):
    path = tmp_path / "karner.csv"
    pd.DataFrame(
        {"study": KARNER["study"], "yi": KARNER["yi"], "sei": KARNER["sei"],
         "duration": KARNER["group"]}
    ).to_csv(path, index=False)  # fmt: skip
    return path


def _check_karner(obj, tol_sd, tail_sd=None):
    tail_sd = tol_sd if tail_sd is None else tail_sd
    for g, rec in KARNER["subgroups"].items():
        got = obj["subgroups"][g]
        sd = rec["sd"]
        assert got["k"] == rec["k"]
        assert got["median"] == pytest.approx(rec["q"][1], abs=tol_sd * sd)
        assert got["ci_low"] == pytest.approx(rec["q"][0], abs=tail_sd * sd)
        assert got["ci_high"] == pytest.approx(rec["q"][2], abs=tail_sd * sd)
        assert got["mean"] == pytest.approx(rec["mean"], abs=tol_sd * sd)
    wm = KARNER["weighted_mean"]["q"]
    assert obj["mu"]["median"] == pytest.approx(wm[1], abs=tol_sd * obj["mu"]["sd"])
    assert obj["tau"]["median"] == pytest.approx(KARNER["tau"]["q"][1], rel=max(1e-6, tol_sd / 5))


def test_subgroup_json_exact_matches_bmr(tmp_path, capsys):
    code, out, _ = run(
        capsys, "posterior", str(_karner_csv(tmp_path)), "--subgroup", "duration",
        "--measure", "OR", "--json",
    )  # fmt: skip
    assert code == 0
    obj = json.loads(out)
    assert set(obj["subgroups"]) == {"long", "short"}
    _check_karner(obj, 1e-4)


@pytest.mark.slow
def test_subgroup_json_pymc_matches_bmr(tmp_path, capsys):
    """Same command with PyMC (4 x 2000 draws, seeded): mean and median within 0.06
    posterior SD of bmr (about 4 MCSE at an ESS of 4000), the 2.5 % / 97.5 % quantiles within
    0.25 SD (4 MCSE of a tail quantile at ESS 2000: sqrt(p(1-p)/ESS) / density), and the same
    meaning of the top-level mu as the exact engine."""
    code, out, _ = run(
        capsys, "posterior", str(_karner_csv(tmp_path)), "--subgroup", "duration",
        "--measure", "OR", "--json", "--engine", "pymc", "--seed", "3",
    )  # fmt: skip
    assert code == 0
    _check_karner(json.loads(out), 0.06, 0.25)


# ---------------------------------------------------------------- data by name, printing
RUNNABLE = [
    n for n in datasets.names() if "runnable" not in datasets.provenance(n).get("analysis", {})
]


@pytest.mark.parametrize("name", RUNNABLE)
@pytest.mark.parametrize("command", ["pool", "posterior"])
def test_every_shipped_data_set_runs_by_name(name, command, capsys):
    code, out, err = run(capsys, command, name, "--json")
    assert code == 0, err
    obj = json.loads(out)
    assert (obj["k"] if command == "pool" else len(obj["theta"])) == len(datasets.load(name))


@pytest.mark.parametrize("name", [n for n in datasets.names() if n not in RUNNABLE])
def test_shipped_sets_without_effects_refuse_in_one_line(name, capsys):
    code, out, err = run(capsys, "pool", name)
    assert code == 2 and out == "" and err.count("\n") == 1 and "effect sizes" in err


def test_unknown_name_lists_shipped_sets(capsys):
    code, _, err = run(capsys, "pool", "nosuchset")
    assert code == 2 and "crins2014" in err and err.count("\n") == 1


def test_crins_by_name_equals_published_reml(capsys):
    rec = datasets.provenance("crins2014")["published"]["reml"]
    code, out, _ = run(capsys, "pool", "crins2014", "--json")
    obj = json.loads(out)
    assert obj["estimate"] == pytest.approx(rec["mu"], rel=1e-6)
    assert obj["tau2"] ** 0.5 == pytest.approx(rec["tau"], rel=1e-6)


def test_effects_command_and_raw_columns(tmp_path, capsys):
    d = datasets.load("normand1999")
    raw = d.rename(columns={"m1i": "mean_t", "sd1i": "sd_t", "n1i": "n_t"})
    path = tmp_path / "raw.csv"
    raw.to_csv(path, index=False)
    cols = "m1i=mean_t,sd1i=sd_t,n1i=n_t"
    code, out, _ = run(capsys, "effects", str(path), "--measure", "MD", "--columns", cols)
    assert code == 0
    got = pd.read_csv(__import__("io").StringIO(out))
    assert got["yi"].tolist() == FIX_NORMAND_YI and "ni" in got
    code, out, _ = run(capsys, "pool", str(path), "--measure", "MD", "--columns", cols, "--json")
    assert code == 0 and json.loads(out)["k"] == 9
    code, _, err = run(capsys, "pool", str(path), "--measure", "XYZ")
    assert code == 2 and "MD" in err and "SMD" in err and err.count("\n") == 1
    code, _, err = run(capsys, "pool", str(path), "--measure", "MD", "--columns", "m1i=nope")
    assert code == 2 and "'nope'" in err and str(path) in err


FIX_NORMAND_YI = [-20.0, -2.0, -55.0, -71.0, -4.0, 1.0, 11.0, -10.0, 7.0]


def test_print_is_a_summary_everywhere():
    t = load_studies("crins2014")
    reml = pool(t, "REML")
    text = repr(reml)
    for part in ("Random-effects model", "zval", "pval", "I^2", "Q(df = 5)", "prediction"):
        assert part in text
    fit = NormalNormal.from_table(t)
    assert "Posterior" in str(fit) and "theta_new" in str(fit) and "tau_prior" in str(fit)
    assert repr(fit).startswith("NormalNormal(k=6")
    assert fit.to_result()._repr_html_().startswith("<pre>")
    assert "object at 0x" not in str(fit)


def test_labels_kept_from_table():
    t = load_studies("rubin1981")
    fit = NormalNormal.from_table(t)
    assert fit.to_result().studies["study"].tolist() == list("ABCDEFGH")


# ---------------------------------------------------------------- plots
def test_forest_funnel_posterior_are_figures():
    from matplotlib.figure import Figure

    from bayesmeta.plots import forest

    t = load_studies("crins2014")
    reml, bayes = pool(t, "REML"), posterior(t)
    fig = forest({"REML": reml, "Bayes": bayes}, xlabel="log OR")
    assert isinstance(fig, Figure)
    texts = [x.get_text() for x in fig.axes[0].texts]
    assert sum(s in texts for s in t.study) == 6
    assert "Total: REML" in texts and "Total: Bayes" in texts
    assert any(s.startswith("Prediction interval") for s in texts)
    assert isinstance(reml.plot_funnel(), Figure)
    post = bayes.plot_posterior()
    assert [a.get_title() for a in post.axes] == ["mu", "tau", "theta_new"]


def test_forest_subgroups_have_diamonds(tmp_path):
    t = load_studies("crins2014", subgroup=None)
    t = StudyTable.from_arrays(
        t.yi, t.vi, study=t.study, subgroup=datasets.load("crins2014")["IL2RA"]
    )
    res = pool(t, "REML", subgroup=True)
    fig = res.plot_forest()
    texts = [x.get_text() for x in fig.axes[0].texts]
    assert "daclizumab" in texts and "basiliximab" in texts  # subgroup headings
    assert texts.count("Subtotal (95% CI)") == 2
    assert any(x.startswith("Test for subgroup differences: Chi² = ") for x in texts)


def test_cli_plot_writes_png(tmp_path, capsys):
    out = tmp_path / "f.png"
    code, _, _ = run(capsys, "pool", "crins2014", "--plot", str(out))
    assert code == 0 and out.read_bytes()[:4] == b"\x89PNG"


# ---------------------------------------------------------------- metafor edge cases
def test_hksj_identical_effects_matches_metafor():
    rec = FIX["hksj_identical"]
    res = pool(StudyTable.from_arrays(rec["yi"], rec["vi"]), "REML", ci="hksj")
    assert res.estimate == pytest.approx(rec["estimate"], rel=1e-12)
    assert res.se == pytest.approx(rec["se"], abs=1e-12)
    assert (res.ci_low, res.ci_high) == pytest.approx((rec["ci_low"], rec["ci_high"]), rel=1e-12)
    assert (res.tau2, res.q, res.i2, res.h2) == pytest.approx(
        (rec["tau2"], rec["q"], rec["i2"], rec["h2"]), abs=1e-12
    )


def test_loo_knha_k2_falls_back_to_z_as_metafor():
    rec = FIX["loo_knha"]
    out = leave_one_out(rec["yi"], rec["vi"], "REML", "knha")
    np.testing.assert_allclose(out["estimate"], rec["estimate"], rtol=1e-10)
    np.testing.assert_allclose(out["ci_low"], rec["ci_low"], rtol=1e-8)
    np.testing.assert_allclose(out["ci_high"], rec["ci_high"], rtol=1e-8)


def test_fe_identical_effects_i2_zero_as_metafor():
    rec = FIX["fe_identical"]
    res = pool(StudyTable.from_arrays(rec["yi"], rec["vi"]), "FE")
    assert (res.i2, res.h2, res.q) == pytest.approx((rec["i2"], rec["h2"], rec["q"]), abs=1e-12)
