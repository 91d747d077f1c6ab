"""The Bartoš et al. subfield priors equal R BayesTools' prior_informed() (RoBMA), row by
row: parameters exactly, densities, distribution functions and quantiles to 1e-8.

Fixture: tests/fixtures/make_bartos_fixture.R (BayesTools 0.2.22, R 4.2.2)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from bayesmeta.empirical.published import bartos_table, subfields
from bayesmeta.errors import InputError
from bayesmeta.priors import bartos_prior, parse_prior

FIX = json.loads((Path(__file__).parents[1] / "fixtures" / "bartos_priors.json").read_text())
ROWS = FIX["priors"]
TYPE = {"smd": "SMD", "logOR": "logOR", "logRR": "logRR", "RD": "RD", "logHR": "logHR"}


def test_every_r_prior_is_shipped_and_nothing_else() -> None:
    t = bartos_table()
    assert len(t) == len(ROWS) == 417
    ours = {(r.subfield, r.type, r.parameter) for r in t.itertuples()}
    theirs = {(r["subfield"], TYPE[r["type"]], r["parameter"]) for r in ROWS}
    assert ours == theirs
    assert set(subfields()) == {r["subfield"] for r in ROWS}
    assert "Cochrane" in subfields()  # the whole database


@pytest.mark.parametrize("row", ROWS, ids=lambda r: f"{r['subfield']}-{r['type']}-{r['parameter']}")
def test_prior_equals_bayestools(row: dict) -> None:
    kind = "mu" if row["parameter"] == "effect" else "tau"
    p = bartos_prior(row["subfield"], row["type"], kind)
    par = row["parameters"]
    if row["distribution"] == "t":
        assert p.family == "student" and p.params == (par["df"], par["location"], par["scale"])
    elif row["distribution"] == "invgamma":
        assert p.family == "invgamma" and p.params == (par["shape"], par["scale"])
    else:  # normal truncated to [0, inf): half-normal
        assert row["lower"] == 0 and par["mean"] == 0
        assert p.family == "halfnormal" and p.params == (par["sd"],)
    x = row["x"]
    np.testing.assert_allclose(p.pdf(x), row["pdf_x"], rtol=1e-8)
    np.testing.assert_allclose(p.cdf(x), row["cdf_x"], rtol=1e-8)
    np.testing.assert_allclose(p.ppf([0.25, 0.5, 0.9]), row["q"], rtol=1e-6)


def test_names_are_matched_loosely_and_parse_prior_reads_them() -> None:
    a = parse_prior("bartos(Bone, Joint and Muscle Trauma, logOR)", "tau")
    b = parse_prior("bartos(bone-joint-and-muscle-trauma, OR)", "tau")
    assert a == b and a.params == (1.01, 0.36)
    assert "Bartoš" in a.describe()
    assert parse_prior("bartos(HIV/AIDS, smd)", "mu").family == "student"


@pytest.mark.parametrize(
    ("text", "kind", "match"),
    [
        ("bartos(nowhere, smd)", "tau", "unknown bartos subfield"),
        ("bartos(heart, xyz)", "tau", "unknown bartos type"),
        ("bartos(heart)", "tau", "takes"),
        ("bartos(heart, logHR)", "tau", "no logHR heterogeneity prior for Heart"),
        ("bartos(childhood cancer, logOR)", "tau", "no logOR heterogeneity prior"),
    ],
)
def test_unknown_names_are_one_line_errors(text: str, kind: str, match: str) -> None:
    with pytest.raises(InputError, match=match):
        parse_prior(text, kind)  # type: ignore[arg-type]


def test_exact_engine_refuses_a_student_mu_prior() -> None:
    from bayesmeta.exact import NormalNormal

    with pytest.raises(InputError, match="PyMC engine"):
        NormalNormal([0.1, 0.3], [0.2, 0.2], mu_prior="bartos(cochrane, smd)")
