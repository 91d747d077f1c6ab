"""A second real review in the spec format: Umpierre et al. (2011, JAMA), structured exercise
and HbA1c, overall and by exercise type (models/umpierre2011.toml).

The text states pooled results and subgroups but not which studies each analysis pools, nor k
and n per exercise type: the spec leaves them out and the report must still build. Numbers are
checked against the shipped data file, against R bayesmeta (tests/fixtures/
make_review_fixtures.R) and against the closed forms of the conjugate normal posterior,
Matthews' (2018) sceptical limit and Held's (2019) intrinsic-credibility p.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from bayesmeta import datasets
from bayesmeta._paths import models_dir
from bayesmeta.errors import InputError
from bayesmeta.review.spec import load_spec, parse_spec
from conftest import load_fixture

SPEC = models_dir() / "umpierre2011.toml"
Z = stats.norm.ppf(0.975)


@pytest.fixture(scope="module")
def spec():
    return load_spec(SPEC)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    from bayesmeta.review.reanalysis import reproduce

    out = tmp_path_factory.mktemp("umpierre")
    r = reproduce(out, spec=SPEC, progress=False, mcmc=False, simulation=False)
    return r, out


def test_spec_equals_the_shipped_data(spec):
    df = datasets.load("umpierre2011_pooled").set_index("subgroup")
    assert [a.subgroup for a in spec.analyses] == list(df.index)
    for a in spec.analyses:
        row, p = df.loc[a.subgroup], a.published
        assert (p.md, p.ci_low, p.ci_high, p.model) == (
            row["md"], row["ci_low"], row["ci_high"], row["model"],
        )  # fmt: skip
        assert p.k == (None if row.isna()["k"] else row["k"])
        want_i2 = None if row.isna()["i2_percent"] else row["i2_percent"]
        assert p.heterogeneity_i2 == want_i2
        assert spec.outcomes[a.outcome].unit == row["unit"]


def test_every_number_is_in_its_quote(spec):
    for a in spec.analyses:
        p = a.published
        for x in (p.md, p.ci_low, p.ci_high):
            assert f"{x:.2f}" in a.quote, (a.key, x)


def test_only_the_reference_review_names_a_coverage_study(spec):
    assert spec.model_file("simulation") is None
    assert load_spec().model_file("simulation") == models_dir() / "simulate_review.toml"


def test_what_the_text_does_not_state_is_left_out(spec):
    assert spec.references == {} and spec.review.get("table1") is None
    assert all(a.arms == () and a.published.n is None for a in spec.analyses)
    assert [a.published.k for a in spec.analyses] == [23, None, None, None]
    assert spec.rule.test == "none" and spec.rule.choose(0.001) == spec.rule.choose(0.9) == "DL"
    assert spec.subgroup_label == "exercise type"
    assert spec.reference_difference("T2DM", "hba1c") == 0.67


def test_exact_subgroup_model_matches_r_bayesmeta(run):
    """bayesmeta(y = c(-0.73, -0.57, -0.51), sigma = (hi - lo)/(2 qnorm(0.975)),
    tau.prior = half-normal(0.67), mu.prior = c(0, 67), delta = 1e-4, epsilon = 1e-8):
    medians and central 95 % limits to 1e-4 x D, P(benefit) to 5e-5."""
    r, _ = run
    ref = load_fixture("umpierre2011_celltype.json")["fit"]
    f = r.celltype[("T2DM", "hba1c")]
    np.testing.assert_allclose(f.y, ref["y"], rtol=1e-12)
    np.testing.assert_allclose(f.se, ref["sigma"], rtol=1e-12)
    pairs = [("mu", ref["mu"]), ("tau", ref["tau"])]
    pairs += [(f"theta[{lab}]", ref["theta"][lab]) for lab in ref["labels"]]
    for name, want in pairs:
        got = f.exact[name]
        for key in ("median", "ci_low", "ci_high"):
            assert getattr(got, key) == pytest.approx(want[key], abs=1e-4 * 0.67), (name, key)
        if "p_below_0" in want:  # HbA1c: a decrease is the benefit
            assert got.p_benefit == pytest.approx(want["p_below_0"], abs=5e-5), name


def test_verdict_rows_against_closed_forms(run):
    """Conjugate normal posteriors (prior N(0, (s D)^2), s = 100 vague, 0.6079 sceptical), the
    sceptical limit SL = (U - L)^2 / (4 sqrt(U L)) on |CI| (Matthews 2018, eq. 2.3) and Held's
    p_IC = 2 (1 - Phi(|t| / sqrt 2)) with t the CI's midpoint over its SE (Held 2019), to 1e-8."""
    from bayesmeta.review.verdict import verdict_table

    r, _ = run
    v = verdict_table(r).set_index("analysis")
    d = 0.67
    for a in r.spec.analyses:
        p = a.published
        se = (p.ci_high - p.ci_low) / (2 * Z)
        row = v.loc[a.key]
        for prior, s in (("vague", 100.0), ("sceptical", 0.6079)):
            var = 1 / (1 / (s * d) ** 2 + 1 / se**2)
            mean = var * p.md / se**2
            assert row[f"{prior}_median"] == pytest.approx(mean, abs=1e-8)
            assert row[f"{prior}_ci_low"] == pytest.approx(mean - Z * math.sqrt(var), abs=1e-8)
            assert row[f"{prior}_ci_high"] == pytest.approx(mean + Z * math.sqrt(var), abs=1e-8)
        lo, hi = sorted((abs(p.ci_low), abs(p.ci_high)))
        assert row["sceptical_limit"] == pytest.approx((hi - lo) ** 2 / (4 * math.sqrt(hi * lo)),
                                                       rel=1e-8)  # fmt: skip
        t = (p.ci_low + p.ci_high) / 2 / se
        p_ic = 2 * stats.norm.sf(abs(t) / math.sqrt(2))
        assert row["p_intrinsic"] == pytest.approx(p_ic, rel=1e-8)
        assert bool(row["intrinsically_credible"]) == (p_ic < 0.05)
    assert list(v.index[v["holds"].astype(bool)]) == [
        "T2DM/hba1c/all", "T2DM/hba1c/aerobic", "T2DM/hba1c/combined",
    ]  # fmt: skip


def test_checks_say_what_the_text_cannot_support(run):
    r, _ = run
    verdicts = {f.id: f.verdict for f in r.findings}
    assert verdicts == {
        "study-lists": "unverifiable",
        "ci-symmetry": "consistent",
        "model-rule": "consistent",
    }
    lists = next(f for f in r.findings if f.id == "study-lists")
    assert "4 of 4 rows" in lists.summary and "no Table 1" in lists.summary


def test_report_builds_in_the_reviews_own_terms(run):
    r, out = run
    md = (out / "report.md").read_text()
    assert md.startswith("# Re-analysis of Umpierre et al. (2011)")
    assert md.index("## Verdict: do the published results hold up?") < md.index("## 1.")
    assert "Hierarchical exercise-type model" in md
    for foreign in ("cell-type", "cell type", "T1DM", "C-peptide", "ref 23"):
        assert foreign not in md, foreign
    assert "| T2DM/hba1c/aerobic | — | — | -0.73 [-1.06, -0.40] |" in md
    assert "I^2 = 91.3 %" in md
    assert "interval method for rows like its own" not in md  # no simulation shaped like it
    assert (out / "report.html").exists()
    assert len(pd.read_csv(out / "verdict.csv")) == 4
    pngs = sorted(p.name for p in (out / "figures").glob("*.png"))
    assert pngs == ["densities_T2DM_hba1c.png", "forest_T2DM_hba1c.png",
                    "sensitivity_T2DM_hba1c.png", "shrinkage_celltype.png"]  # fmt: skip


def test_cli_reproduces_the_second_spec(tmp_path, capsys):
    from bayesmeta.cli import main

    assert main(["reproduce", str(SPEC), "--out", str(tmp_path / "out"), "--no-mcmc",
                 "--quiet"]) == 0  # fmt: skip
    assert (tmp_path / "out" / "report.md").read_text().count("exercise-type") > 3


# ------------------------------------------------------------------ the optional parts of a spec


def _raw():
    import tomllib

    return tomllib.loads(SPEC.read_text(encoding="utf-8"))


def _err(raw) -> str:
    with pytest.raises(InputError) as info:
        parse_spec(raw, "models/x.toml")
    return str(info.value)


def test_a_one_method_rule_needs_its_method():
    raw = _raw()
    del raw["model_rule"]["method"]
    assert "key 'model_rule.method': missing" in _err(raw)


def test_i2_must_be_a_percentage():
    raw = _raw()
    raw["analyses"][0]["published"]["heterogeneity_i2"] = 120
    assert "heterogeneity_i2': an I^2 in % must be in [0, 100]" in _err(raw)


def test_listed_arms_need_k():
    raw = tomllib_zhang()
    del raw["analyses"][0]["published"]["k"]
    assert "k': missing (required when the analysis lists its arms)" in _err(raw)


def test_a_zhang_subgroup_without_its_arms_is_accepted():
    """Leaving out one subgroup's arms (and its k, n and p) is allowed; the overall row's arm
    list is then not checked against the union of its subgroups."""
    raw = tomllib_zhang()
    row = raw["analyses"][1]
    del row["arms"]
    for key in ("k", "n", "heterogeneity_p"):
        del row["published"][key]
    spec = parse_spec(raw, "models/x.toml")
    assert spec.analyses[1].arms == () and spec.analyses[1].published.k is None


def tomllib_zhang():
    import tomllib

    return tomllib.loads((models_dir() / "zhang2020.toml").read_text(encoding="utf-8"))


def test_a_missing_simulation_spec_is_one_line_before_anything_is_written(tmp_path):
    from bayesmeta.review.reanalysis import reproduce

    text = SPEC.read_text(encoding="utf-8").replace(
        'subgroup_label = "exercise type"',
        'subgroup_label = "exercise type"\nsimulation = "nope.toml"',
    )
    path = tmp_path / "spec.toml"
    path.write_text(text, encoding="utf-8")
    out = tmp_path / "out"
    with pytest.raises(InputError) as info:
        reproduce(out, spec=path, progress=False, mcmc=False, figures=False)
    msg = str(info.value)
    assert "\n" not in msg and "simulation spec not found" in msg and "review.simulation" in msg
    assert not out.exists()
