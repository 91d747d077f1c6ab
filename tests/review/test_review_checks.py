"""Consistency findings on the review's own numbers (values from the text and Table 1)."""

from __future__ import annotations

import dataclasses
import math

import pytest

from bayesmeta import datasets
from bayesmeta.review import checks
from bayesmeta.review.spec import load_spec


@pytest.fixture(scope="module")
def spec():
    return load_spec()


@pytest.fixture(scope="module")
def table1():
    return datasets.load("zhang2020_table1")


@pytest.fixture(scope="module")
def findings(spec, table1):
    return {f.id: f for f in checks.run_checks(spec, table1)}


def test_sample_sizes_against_table1(findings):
    f = findings["sample-sizes"]
    bad = {r["analysis"]: (r["n_text"], r["n_table1"]) for r in f.rows if r["difference"]}
    assert bad == {
        "T1DM/c_peptide/all": (115, 114),
        "T1DM/c_peptide/MSC": (10, 9),
        "T1DM/hba1c/all": (112, 113),
        "T1DM/hba1c/MSC": (8, 9),
        "T2DM/insulin_dose/BM-MNC": (31, 38),  # text: 31; Table 1 arms 10 + 10 + 11 + 7
    }
    assert f.values["internal"] == [
        "T2DM/insulin_dose: overall n = 58 but subgroups give 20 + 31 = 51"
    ]
    assert f.verdict == "inconsistent"
    verdicts = {r["analysis"]: r["verdict"] for r in f.rows}
    assert verdicts["T1DM/c_peptide/MSC"] == "inconsistent"  # more than were treated
    assert verdicts["T2DM/insulin_dose/MSC"] == "consistent"


def test_k_counts_trials_in_overall_rows(findings):
    rows = {r["analysis"]: r for r in findings["k-counts"].rows}
    assert (rows["T2DM/insulin_dose/all"]["trials"], rows["T2DM/insulin_dose/all"]["arms"]) == (
        5,
        6,
    )
    assert rows["T1DM/hba1c/all"]["trials"] == rows["T1DM/hba1c/all"]["arms"] == 5


def test_k_counts_summary_names_the_trials_with_several_arms(findings, spec):
    """The summary is built from the spec: the trial with two arms in an overall row is named
    with its cell types; with that arm gone, trials and arms agree and the summary says so."""
    summary = findings["k-counts"].summary
    assert "ref 23: MSC and BM-MNC" in summary
    assert "T2DM/insulin_dose/all k = 5 trials, 6 arms" in summary
    one_arm = tuple(
        dataclasses.replace(a, arms=tuple(x for x in a.arms if x != "23-BM-MNC"))
        for a in spec.analyses
    )
    f = checks.check_k_counts(dataclasses.replace(spec, analyses=one_arm))
    assert all(r["trials"] == r["arms"] for r in f.rows)
    assert "agree in every row" in f.summary and "ref 23" not in f.summary


def test_printed_p_summary_follows_the_printed_values(findings, spec):
    """The significant rows that print a large P are listed from the spec (0.13, 0.57 and
    0.43 in the review); printing each effect's own p instead leaves nothing to report."""
    assert "print P = 0.13, 0.57 and 0.43." in findings["printed-p"].summary
    own = []
    for a in spec.analyses:
        if a.published.heterogeneity_p is None:
            own.append(a)
            continue
        p = checks.analysis_stats(a, spec.level).p
        text = "<0.001" if p < 0.001 else f"{p:.3f}"
        own.append(
            dataclasses.replace(a, published=dataclasses.replace(a.published, heterogeneity_p=text))
        )
    f = checks.check_printed_p(dataclasses.replace(spec, analyses=tuple(own)))
    assert f.verdict == "consistent"
    assert (
        f.summary == "In all 16 pooled rows the printed P is compatible with the p the CI "
        "implies for the effect."
    )


def test_ci_symmetry_rule(findings):
    f = findings["ci-symmetry"]
    assert f.verdict == "consistent" and all(r["symmetric"] for r in f.rows)


def test_one_study_sd_hba1c(findings):
    """T1DM MSC HbA1c: CI -0.09 to 0.01 on n = 8: SE = 0.1/3.919928 = 0.025511.

    Independent groups: SD = SE sqrt(n/2) = 0.05102; paired change SD = SE sqrt(n) = 0.07215.
    """
    row = next(
        r
        for r in findings["one-study-sd"].rows
        if r["analysis"] == "T1DM/hba1c/MSC" and r["n_source"] == "text"
    )
    se = 0.1 / (2 * 1.959963984540054)
    assert row["se"] == pytest.approx(se, rel=1e-12)
    assert row["sd_independent"] == pytest.approx(se * 2.0, rel=1e-12)
    assert row["sd_change_paired"] == pytest.approx(se * math.sqrt(8), rel=1e-12)
    assert row["sd_independent"] == pytest.approx(0.05102, abs=1e-5)
    assert row["sd_change_paired"] == pytest.approx(0.07215, abs=1e-5)
    lo, hi = row["sd_independent_range"]
    assert lo == pytest.approx(0.09 / 3.919928 * 2, rel=1e-5) and hi == pytest.approx(
        0.11 / 3.919928 * 2, rel=1e-5
    )
    assert row["verdict"] == "implausible"
    assert findings["one-study-sd"].verdict == "implausible"
    cpep = next(r for r in findings["one-study-sd"].rows if r["analysis"] == "T1DM/c_peptide/MSC")
    assert cpep["verdict"] == "unverifiable"  # no sourced yardstick for C-peptide


def test_one_study_sd_plausible_with_a_larger_se(spec, table1):
    """The same check on a made-up one-study row with SE 1.0 (n = 8): not implausible."""
    a = next(x for x in spec.analyses if x.key == "T1DM/hba1c/MSC")
    wide = dataclasses.replace(
        a, published=dataclasses.replace(a.published, ci_low=-2.0, ci_high=1.92)
    )
    s2 = dataclasses.replace(spec, analyses=tuple(wide if x is a else x for x in spec.analyses))
    f = checks.check_one_study_sd(s2, table1)
    assert {r["verdict"] for r in f.rows if r["analysis"] == "T1DM/hba1c/MSC"} == {"consistent"}


def test_follow_up_against_table1(findings):
    rows = {r["analysis"]: r for r in findings["follow-up"].rows}
    r = rows["T1DM/c_peptide/all"]
    assert (r["follow_up_min"], r["follow_up_max"]) == (7.0, 48.0)
    assert r["arms_shorter"] == "24-BM-HSC" and r["verdict"] == "inconsistent"
    assert rows["T2DM/fpg/MSC"]["verdict"] == "unverifiable"  # 12, 12 and 36 months
    assert rows["T1DM/hba1c/MSC"]["verdict"] == "consistent"  # Carlsson: 12 months
    assert rows["T2DM/insulin_dose/all"]["arms_shorter"] == "17-BM-MNC 29-MSC 33-BM-MNC"
    assert len(rows) == 18  # every figure caption says 12 months
    assert findings["follow-up"].verdict == "inconsistent"


def test_mantel_haenszel_captions(findings):
    f = findings["mantel-haenszel"]
    assert f.verdict == "inconsistent"
    assert [r["figure"] for r in f.rows] == [2, 3, 4, 5, 6, 7]
    assert "-35.754 [-40.474, -31.034]" in f.summary


def test_q_decomposition_finding(findings):
    f = findings["q-decomposition-T2DM-insulin_dose"]
    assert f.verdict == "consistent"
    assert "consistent only with 6 arms as units (df = 5)" in f.summary


def test_printed_p_values_are_heterogeneity_ps(findings):
    f = findings["printed-p"]
    rows = {r["analysis"]: r for r in f.rows}
    assert len(rows) == 16
    assert sum(not r["effect_p_compatible"] for r in rows.values()) == 13
    assert rows["T2DM/hba1c/BM-MNC"]["p_effect_from_ci"] == pytest.approx(0.1069, abs=1e-4)
    assert rows["T2DM/hba1c/BM-MNC"]["ci_includes_0"]
    assert rows["T1DM/hba1c/BM-HSC"]["effect_p_compatible"]


def test_model_rule(findings, spec):
    assert findings["model-rule"].verdict == "consistent"
    a = spec.analyses[0]
    flipped = dataclasses.replace(a, published=dataclasses.replace(a.published, model="fixed"))
    s2 = dataclasses.replace(spec, analyses=(flipped, *spec.analyses[1:]))
    f = checks.check_model_rule(s2)
    assert f.verdict == "inconsistent" and "T1DM/c_peptide/all" in f.summary


def test_single_rows_reproduce(findings):
    f = findings["one-study-rows"]
    assert f.verdict == "consistent"
    assert all(r["max_deviation"] <= 1e-12 for r in f.rows)


def test_unknown_verdict_is_rejected():
    with pytest.raises(ValueError):
        checks.Finding("x", "x", "fine", "x")
