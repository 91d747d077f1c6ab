"""Sweep grammar: ranges expand to linearly spaced priors; bad text is a one-line InputError."""

from __future__ import annotations

import math

import numpy as np
import pytest

from bayesmeta.errors import InputError
from bayesmeta.priors import parse_prior
from bayesmeta.sensitivity import parse_sweep


def test_halfnormal_range_is_linspace():
    g = parse_sweep("halfnormal(0.1..2, n=20)", "tau")
    assert g.family == "halfnormal" and g.parameter == 0 and len(g.priors) == 20
    np.testing.assert_allclose(g.values, np.linspace(0.1, 2, 20), rtol=1e-12, atol=0)
    assert g.priors[1].text == "halfnormal(0.2)"  # 12 significant digits, no 0.2000000001
    assert [p.params[0] for p in g.priors] == list(g.values)


def test_halfcauchy_default_n_and_mu_sd_sweep():
    g = parse_sweep("halfcauchy(0.5..5)", "tau")
    assert len(g.priors) == 10 and g.priors[-1].text == "halfcauchy(5)"
    m = parse_sweep("normal(0, 1..10, n=5)", "mu")
    assert [p.text for p in m.priors] == [
        "normal(0, 1)",
        "normal(0, 3.25)",
        "normal(0, 5.5)",
        "normal(0, 7.75)",
        "normal(0, 10)",
    ]
    assert m.parameter == 1 and m.values == (1.0, 3.25, 5.5, 7.75, 10.0)


@pytest.mark.parametrize(
    "text", ["turner", "rhodes", "turner(all-cause mortality, pharm vs placebo)", "halfnormal(0.5)"]
)
def test_single_priors_pass_through(text):
    g = parse_sweep(text, "tau")
    assert len(g.priors) == 1 and math.isnan(g.values[0]) and g.parameter is None
    assert g.priors[0] == parse_prior(text, "tau")


@pytest.mark.parametrize(
    ("text", "kind", "fragment"),
    [
        ("halfnormal(2..0.1, n=5)", "tau", "lower < upper"),
        ("halfnormal(0.1..2, n=0)", "tau", "n must be between"),
        ("halfnormal(0.1..2, n=2.5)", "tau", "whole number"),
        ("halfnormal(0.5, n=3)", "tau", "no parameter range"),
        ("halft(1..3, 0.1..2)", "tau", "only one parameter"),
        ("halfnormal(a..2)", "tau", "not a number"),
        ("halfnormal(-1..2, n=4)", "tau", "scale must be > 0"),
        ("normal(0..1, 1..2)", "mu", "only one parameter"),
        ("halfnormal(0.1..2", "tau", "cannot read"),
        ("wibble(0.1..2)", "tau", "unknown prior family"),
        ("normal(0, 1..10)", "tau", "not a prior for tau"),
        ("halfnormal(0.1..inf)", "tau", "finite"),
    ],
)
def test_bad_sweeps_raise_one_line(text, kind, fragment):
    with pytest.raises(InputError) as err:
        parse_sweep(text, kind)
    msg = err.value.oneline()
    assert fragment in msg and "\n" not in msg
