"""The report answers its question first: the verdict table and its generated sentences.

The sentences are checked against counts made here from the table itself; the table's
columns against the quantities they come from (the published CIs, the conjugate posteriors,
the cell-type model and the Analysis of Credibility's closed form)."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from bayesmeta.credibility import credibility
from bayesmeta.review.reanalysis import reproduce
from bayesmeta.review.verdict import VERDICT_COLUMNS, verdict_sentences, verdict_table


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("verdict")
    r = reproduce(out, mcmc=False, progress=False, figures=False, simulation=False)
    return out, r


def excl(v, prefix):
    return (v[f"{prefix}_ci_low"] > 0) | (v[f"{prefix}_ci_high"] < 0)


def test_table_columns_come_from_their_sources(run):
    out, r = run
    v = verdict_table(r)
    assert list(v.columns) == list(VERDICT_COLUMNS) and len(v) == len(r.spec.analyses)
    for row, a in zip(v.itertuples(), r.spec.analyses, strict=True):
        assert row.published_md == a.published.md
        c = credibility(a.published.ci_low, a.published.ci_high)
        assert row.p_intrinsic == pytest.approx(c.p_intrinsic, rel=1e-12)
        fit = r.celltype[(a.disease, a.outcome)]
        assert row.hierarchical_median == fit.exact[fit.param(a.subgroup)].median
    holds = v["published_excludes_0"] & excl(v, "sceptical") & excl(v, "hierarchical")
    assert (v["holds"] == holds).all()
    saved = pd.read_csv(out / "verdict.csv")
    np.testing.assert_allclose(saved["sceptical_ci_low"], v["sceptical_ci_low"], rtol=1e-5)  # %.6g


def test_sentences_are_counted_from_the_table(run):
    _, r = run
    v = verdict_table(r)
    s = verdict_sentences(v)
    assert 3 <= len(s) <= 6
    sig = v["published_excludes_0"]
    n_sig = int(sig.sum())
    assert s[0].startswith(f"{n_sig} of the {len(v)} published")
    m = re.match(r"Under a vague prior (\d+) of these (\d+) .* centred on no effect (\d+) do", s[1])
    assert m and [int(x) for x in m.groups()] == [
        int((excl(v, "vague") & sig).sum()),
        n_sig,
        int((excl(v, "sceptical") & sig).sum()),
    ]
    over = v["analysis"].str.endswith("/all")
    m = re.search(r"excludes 0 for (\d+) of (\d+) outcomes", s[2])
    assert m and [int(x) for x in m.groups()] == [
        int((excl(v, "hierarchical") & over).sum()),
        int(over.sum()),
    ]
    m = re.search(r"Credibility, (\d+) of the (\d+) significant", s[3])
    assert m and int(m.group(1)) == int((v["intrinsically_credible"] & sig).sum())
    m = re.search(r"In all, (\d+) of the (\d+)", s[4])
    assert m and int(m.group(1)) == int(v["holds"].sum())


def test_report_opens_with_the_verdict(run):
    out, _ = run
    text = (out / "report.md").read_text()
    first = [line for line in text.splitlines() if line.startswith("## ")][0]
    assert first == "## Verdict: do the published results hold up?"


def test_sections_are_numbered_in_order_and_emphasis_renders(run):
    out, _ = run
    text = (out / "report.md").read_text()
    numbers = [int(m) for m in re.findall(r"^## (\d+)\. ", text, re.M)]
    assert numbers == list(range(1, len(numbers) + 1)) and len(numbers) >= 8
    html_text = (out / "report.html").read_text()
    assert "<em>" in html_text and "*Holds*" not in html_text


def test_safety_section_and_csv(run):
    """safety.csv has the documented columns, one row per reported adverse event, the same
    numbers as bayesmeta.safety (checked against R there); the report has the section and says
    what the pooled counts cannot show."""
    from bayesmeta import datasets
    from bayesmeta.safety import SAFETY_COLUMNS, rate_table

    out, _ = run
    saved = pd.read_csv(out / "safety.csv")
    assert list(saved.columns) == list(SAFETY_COLUMNS) and len(saved) == 10
    ref = rate_table(datasets.load("zhang2020_adverse"))
    np.testing.assert_allclose(saved["cp_high"], ref["cp_high"], rtol=1e-5)
    assert saved["rule_of_three"].notna().sum() == 1
    text = (out / "report.md").read_text()
    assert re.search(r"^## \d+\. Safety: adverse events per cell type$", text, re.M)
    assert "there is no comparison arm" in text and "not a count of zero events" in text
