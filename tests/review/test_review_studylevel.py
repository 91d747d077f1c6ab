"""Study-level path: the template, per-arm file validation and the analysis on SIMULATED data.

All per-arm values in this file are SIMULATED inside the tests (labelled as such); they are not
the review's data and are never written outside pytest's tmp_path.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bayesmeta import datasets
from bayesmeta.classical import pool
from bayesmeta.errors import InputError
from bayesmeta.review import studylevel
from bayesmeta.review.spec import load_spec

TEMPLATE = Path(__file__).resolve().parents[2] / "docs/templates/zhang2020_forest_arms_template.csv"


@pytest.fixture(scope="module")
def spec():
    return load_spec()


def simulate_arms(spec, seed: int = 7) -> pd.DataFrame:
    """SIMULATED per-arm values for every arm of the template (Table 1's n; made-up means/SDs)."""
    rng = np.random.default_rng(seed)
    t1 = datasets.load("zhang2020_table1").set_index("arm")
    base = {
        "c_peptide": (0.4, 0.3, 0.3),
        "hba1c": (8.5, 1.4, -1.0),
        "insulin_dose": (50, 15, -30),
        "fpg": (9.0, 2.5, -0.5),
    }
    df = studylevel.template_frame(spec)
    rows = []
    for r in df.to_dict("records"):
        m, sd, change = base[r["outcome"]]
        n = int(t1.loc[f"{r['ref']}-{r['cell_type']}", "n_treated"])
        rows.append(
            r
            | {
                "n": n,
                "m_pre": round(rng.normal(m, sd / 3), 3),
                "sd_pre": round(sd * rng.uniform(0.7, 1.3), 3),
                "m_post": 0.0,
                "sd_post": round(sd * rng.uniform(0.7, 1.3), 3),
            }
        )
        rows[-1]["m_post"] = round(rows[-1]["m_pre"] + change * rng.uniform(0.5, 1.5), 3)
    return pd.DataFrame(rows, columns=list(studylevel.COLUMNS))


@pytest.fixture
def arms_file(spec, tmp_path):
    path = tmp_path / "simulated_arms.csv"
    simulate_arms(spec).to_csv(path, index=False)
    return path


def test_shipped_template_is_current_and_empty(spec):
    shipped = pd.read_csv(TEMPLATE, dtype=str, keep_default_na=False)
    fresh = studylevel.template_frame(spec).astype(str)
    pd.testing.assert_frame_equal(shipped, fresh)
    assert (shipped[list(studylevel.VALUE_COLUMNS)] == "").all().all()
    assert len(shipped) == 44  # distinct (disease, outcome, arm) of the 18 rows


def test_the_empty_template_is_rejected_at_its_first_empty_cell(spec):
    with pytest.raises(InputError) as info:
        studylevel.read_arms(TEMPLATE, spec)
    e = info.value
    assert (e.row, e.column) == (1, "n") and str(TEMPLATE) in str(e)


def _bad(spec, tmp_path, edit, row, column, match):
    df = simulate_arms(spec)
    df = edit(df)
    path = tmp_path / "bad.csv"
    df.to_csv(path, index=False)
    with pytest.raises(InputError, match=match) as info:
        studylevel.read_arms(path, spec)
    assert (info.value.file, info.value.row, info.value.column) == (str(path), row, column)
    assert "\n" not in str(info.value)


def test_missing_column(spec, tmp_path):
    _bad(spec, tmp_path, lambda d: d.drop(columns="sd_post"), None, "sd_post", "missing required")


def test_unknown_reference(spec, tmp_path):
    def edit(d):
        d.loc[2, "ref"] = 99
        return d

    _bad(spec, tmp_path, edit, 3, "ref", "unknown reference 99")


def test_wrong_cell_type(spec, tmp_path):
    def edit(d):
        d.loc[0, "cell_type"] = "MSC"  # ref 16 is BM-HSC only
        return d

    _bad(spec, tmp_path, edit, 1, "cell_type", "reference 16 has no MSC arm")


def test_unknown_outcome(spec, tmp_path):
    def edit(d):
        d.loc[4, "outcome"] = "weight"
        return d

    _bad(spec, tmp_path, edit, 5, "outcome", "unknown outcome 'weight'")


def test_non_integer_n(spec, tmp_path):
    def edit(d):
        d["n"] = d["n"].astype(float)
        d.loc[5, "n"] = 7.5
        return d

    _bad(spec, tmp_path, edit, 6, "n", "whole number")


def test_negative_sd(spec, tmp_path):
    def edit(d):
        d.loc[6, "sd_pre"] = -1.0
        return d

    _bad(spec, tmp_path, edit, 7, "sd_pre", "must be > 0")


def test_text_in_a_number_column(spec, tmp_path):
    def edit(d):
        d["m_post"] = d["m_post"].astype(object)
        d.loc[8, "m_post"] = "abc"
        return d

    _bad(spec, tmp_path, edit, 9, "m_post", "not a finite number")


def test_duplicate_arm(spec, tmp_path):
    _bad(
        spec,
        tmp_path,
        lambda d: pd.concat([d, d.iloc[[3]]], ignore_index=True),
        45,
        "ref",
        "duplicate arm 25-BM-HSC",
    )


def test_analysis_on_simulated_data(spec, arms_file):
    """RevMan method, rule once per plot, r = 0 paired == RevMan; arms selected as published."""
    arms = studylevel.read_arms(arms_file, spec)
    res = studylevel.analyse(arms, spec, seed=1, mcmc=False)
    t = res.table.set_index("analysis")
    assert len(t) == 18 and (t["status"] == "analysed").all()
    for a in spec.analyses:
        rows = arms[
            (arms.disease == a.disease) & (arms.outcome == a.outcome) & arms.arm.isin(a.arms)
        ]
        assert len(rows) == len(a.arms)
        assert t.loc[a.key, "n_file"] == rows["n"].sum()
    # the rule is decided once per forest plot, on the overall row's arms
    for d, o in spec.groups():
        overall = spec.overall(d, o)
        rows = (
            arms[(arms.disease == d) & (arms.outcome == o)].set_index("arm").loc[list(overall.arms)]
        )
        yi = rows["m_post"] - rows["m_pre"]
        vi = rows["sd_pre"] ** 2 / rows["n"] + rows["sd_post"] ** 2 / rows["n"]
        q_p = pool(pd.DataFrame({"study": rows.index, "yi": yi, "vi": vi}), method="FE").q_p
        method = "DL" if q_p < 0.10 else "FE"
        expect = pool(pd.DataFrame({"study": rows.index, "yi": yi, "vi": vi}), method=method)
        assert t.loc[overall.key, "revman_method"] == method
        assert t.loc[overall.key, "revman_md"] == pytest.approx(expect.estimate, rel=1e-12)
        for s in spec.subgroups(d, o):
            if len(s.arms) > 1:
                assert t.loc[s.key, "revman_method"] == method
    sens = res.sensitivity
    r0 = sens[sens.r == 0.0].set_index("analysis")
    for key in r0.index:
        assert r0.loc[key, "md"] == pytest.approx(t.loc[key, "revman_md"], rel=1e-12)
    one = t.loc["T1DM/hba1c/MSC"]
    row = arms[(arms.outcome == "hba1c") & (arms.arm == "27-MSC")].iloc[0]
    assert one["revman_md"] == pytest.approx(row.m_post - row.m_pre, rel=1e-12)
    assert one["revman_method"] == "single"


def test_missing_arms_are_reported_not_invented(spec, tmp_path):
    df = simulate_arms(spec)
    df = df[~((df.outcome == "fpg") & (df.ref == 34))]
    path = tmp_path / "partial.csv"
    df.to_csv(path, index=False)
    res = studylevel.analyse(studylevel.read_arms(path, spec), spec, seed=1, mcmc=False)
    t = res.table.set_index("analysis")
    assert t.loc["T2DM/fpg/all", "status"] == "incomplete"
    assert t.loc["T2DM/fpg/MSC", "arms_missing"] == "34-MSC"
    assert any("34-MSC" in n for n in res.notes)
    assert t.loc["T2DM/hba1c/all", "status"] == "analysed"


@pytest.mark.slow
def test_pymc_nested_model_on_simulated_data(spec, arms_file):
    arms = studylevel.read_arms(arms_file, spec)
    sub = arms[(arms.disease == "T2DM") & (arms.outcome == "insulin_dose")]
    res = studylevel.analyse(sub, spec, seed=3, mcmc=True, draws=500, tune=500, chains=2)
    bm = res.pymc[("T2DM", "insulin_dose")]
    assert "cluster" in bm.idata_["posterior"].coords  # ref 23's two arms share a study effect
    assert list(bm.idata_["posterior"].coords["cluster"].values).count("23") == 1
    t = res.table.set_index("analysis")
    assert np.isfinite(t.loc["T2DM/insulin_dose/all", "pymc_median"])
    assert bm.diagnostics_["max_rhat"] < 1.1
