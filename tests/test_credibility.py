"""Analysis of Credibility against independent computations.

* The sceptical and advocacy limits (Matthews 2018, closed forms) against a direct search:
  the prior scale at which the conjugate normal posterior's interval touches 0, found by
  root-finding on the posterior limit itself, for published rows of the reference review
  (`zhang2020_pooled`, shipped) to 1e-8 relative.
* Held's (2019) p-value for intrinsic credibility and Matthews' against R ReplicationSuccess
  1.3 `pIntrinsic()` (two-sided), whose package tests list: p = 1e-4 -> 0.00594020536563311
  (Held), 0.00222378173673518 (Matthews); p = 0.5 -> 0.633407499183923, 0.595937883003954.
* Held's criterion against its definition: the Box prior-predictive p-value of the estimate
  under the critical sceptical prior is below alpha exactly when p_IC is.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from scipy import optimize, stats

from bayesmeta import datasets
from bayesmeta.cli import main
from bayesmeta.credibility import credibility
from bayesmeta.errors import InputError

Z = stats.norm.isf(0.025)
ROWS = datasets.load("zhang2020_pooled")


def posterior_limit(est: float, se: float, m: float, s: float, upper: bool) -> float:
    """The 95% limit nearer to 0 of N(est, se^2) x prior N(m, s^2)."""
    prec = 1 / se**2 + 1 / s**2
    mean = (est / se**2 + m / s**2) / prec
    return mean + (Z if upper else -Z) / math.sqrt(prec)


@pytest.mark.parametrize("row", [0, 3, 9, 12])  # significant rows: MD > 0, < 0, fixed
def test_sceptical_limit_matches_a_direct_search(row):
    r = ROWS.iloc[row]
    c = credibility(r["ci_low"], r["ci_high"])
    est, se = c.estimate, c.se
    upper = est < 0

    def f(log_s: float) -> float:
        return posterior_limit(est, se, 0.0, math.exp(log_s), upper)

    s = math.exp(optimize.brentq(f, math.log(se * 1e-3), math.log(se * 1e3), xtol=1e-14))
    assert c.significant and c.sceptical_limit == pytest.approx(Z * s, rel=1e-8)
    assert c.credible == (abs(est) > c.sceptical_limit)
    assert c.credible == (c.p_matthews < 0.05)


@pytest.mark.parametrize("row", [11, 15, 17])  # non-significant rows
def test_advocacy_limit_matches_a_direct_search(row):
    r = ROWS.iloc[row]
    c = credibility(r["ci_low"], r["ci_high"])
    est, se = c.estimate, c.se
    sign = math.copysign(1.0, est)

    def f(m: float) -> float:  # advocacy prior N(m, (m/Z)^2): interval [0, 2m]
        return posterior_limit(est, se, m, abs(m) / Z, upper=sign < 0)

    m = optimize.brentq(f, sign * 1e-6 * se, sign * 1e3 * se, xtol=1e-14)
    assert not c.significant and c.advocacy_limit == pytest.approx(2 * m, rel=1e-8)


def test_ratio_scale_works_on_logs():
    c = credibility(0.70, 0.96, ratio=True)
    d = credibility(math.log(0.70), math.log(0.96))
    assert c.sceptical_limit == pytest.approx(math.exp(d.sceptical_limit), rel=1e-12)
    assert c.p_intrinsic == pytest.approx(d.p_intrinsic, rel=1e-12)


@pytest.mark.parametrize(
    ("p", "held", "matthews"),
    [
        (1e-4, 0.00594020536563311, 0.00222378173673518),
        (0.5, 0.633407499183923, 0.595937883003954),
        (0.999999, 0.999999292893219, 0.999999213848622),
    ],
)
def test_intrinsic_p_values_match_replication_success(p, held, matthews):
    zval = stats.norm.isf(p / 2)
    se = 0.1
    c = credibility(zval * se - Z * se, zval * se + Z * se)
    assert c.p == pytest.approx(p, rel=1e-9)
    assert c.p_intrinsic == pytest.approx(held, rel=1e-9)
    assert c.p_matthews == pytest.approx(matthews, rel=1e-9)


@pytest.mark.parametrize("zval", [2.0, 2.5, 2.7, 2.8, 3.5])
def test_held_criterion_is_the_box_check(zval):
    """Under the critical sceptical prior N(0, s^2) the estimate's prior-predictive
    distribution is N(0, s^2 + se^2); Held: intrinsically credible iff its two-sided tail
    probability (Box 1980) is below alpha."""
    se = 1.0
    c = credibility(zval - Z, zval + Z)
    s = c.sceptical_limit / Z
    p_box = 2 * stats.norm.sf(zval / math.sqrt(s**2 + se**2))
    assert c.intrinsically_credible == (p_box < 0.05)
    assert p_box == pytest.approx(2 * stats.norm.sf(math.sqrt(zval**2 - Z**2)), rel=1e-10)


def test_bad_intervals_are_refused():
    with pytest.raises(InputError, match="below ci_high"):
        credibility(1.0, 0.5)
    with pytest.raises(InputError, match="> 0 on a ratio scale"):
        credibility(-0.1, 2.0, ratio=True)


def test_cli_one_interval_and_a_table(tmp_path, capsys):
    assert main(["credibility", "--ci", "0.06", "0.76"]) == 0
    out = capsys.readouterr().out
    assert "sceptical limit SL = 0.5737" in out
    assert main(["credibility", "--ci", "0.06", "0.76", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["sceptical_limit"] == pytest.approx(0.57370, 1e-4)
    f = tmp_path / "pub.csv"
    ROWS[["outcome", "subgroup", "md", "ci_low", "ci_high"]].to_csv(f, index=False)
    assert main(["credibility", str(f)]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].startswith("outcome,subgroup,md,ci_low,ci_high,") and len(lines) == 19
    assert main(["credibility", "--ci", "0.76", "0.06"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "below ci_high" in err
    bad = tmp_path / "bad.csv"
    bad.write_text("ci_low,ci_high\n0.1,0.5\n0.9,x\n")
    assert main(["credibility", str(bad)]) == 2
    assert "bad.csv, row 2, column 'ci_high'" in capsys.readouterr().err


def test_review_rows_have_defined_results():
    out = [credibility(r.ci_low, r.ci_high) for r in ROWS.itertuples()]
    assert sum(c.significant for c in out) == 11  # 7 of the 18 CIs contain 0
    assert all(np.isfinite(c.sceptical_limit or c.advocacy_limit) for c in out)
