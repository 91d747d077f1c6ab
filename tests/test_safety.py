"""Event-rate intervals against base R (tests/fixtures/safety.json, made by
tests/fixtures/make_safety_fixtures.R from data/zhang2020_adverse.csv): binom.test
(Clopper-Pearson), prop.test(correct = FALSE) (Wilson), qbeta / pbeta (Jeffreys posterior),
each to 1e-10."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from bayesmeta import datasets
from bayesmeta.errors import InputError
from bayesmeta.safety import beta_posterior, clopper_pearson, rate_table, wilson

FIX = json.loads((Path(__file__).parent / "fixtures" / "safety.json").read_text())["rows"]


@pytest.mark.parametrize("i", range(len(FIX)))
def test_intervals_match_r(i):
    r = FIX[i]
    x, n = r["events"], r["n"]
    np.testing.assert_allclose(clopper_pearson(x, n), r["cp"], rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(wilson(x, n), r["wilson"], rtol=1e-10, atol=1e-14)
    post = beta_posterior(x, n)
    got = [post.quantile(0.5), *post.interval(0.95)]
    np.testing.assert_allclose(got, r["post"], rtol=1e-10)
    assert post.sf(0.01) == pytest.approx(r["p1"], rel=1e-10)
    assert post.sf(0.05) == pytest.approx(r["p5"], rel=1e-10)


def test_rate_table_of_the_review():
    t = rate_table(datasets.load("zhang2020_adverse"))
    assert len(t) == 10 and t["rate"].between(0, 1).all()
    zero = t[t["events"] == 0].iloc[0]
    assert zero["rule_of_three"] == pytest.approx(3 / 24) and zero["cp_low"] == 0.0
    assert t["rule_of_three"].isna().sum() == 9
    assert (t["cp_low"] <= t["rate"]).all() and (t["rate"] <= t["cp_high"]).all()


@pytest.mark.parametrize(("x", "n", "match"), [
    (5, 4, "events must lie"), (-1, 4, "events must lie"), (1.5, 4, "whole numbers"),
    (0, 0, "n must be >= 1"),
])  # fmt: skip
def test_bad_counts(x, n, match):
    with pytest.raises(InputError, match=match):
        clopper_pearson(x, n)
