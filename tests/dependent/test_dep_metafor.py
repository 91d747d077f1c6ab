"""Multilevel, multivariate and cluster-robust results against metafor 3.8.1 and
clubSandwich on metadat data sets (konstantopoulos2011, assink2016, bornmann2007,
tannersmith2016, berkey1998, kalaian1996): coefficients, SEs, p-values, intervals, variance
components, between-cluster correlations, Q_E, log-likelihoods, profile intervals,
multilevel I^2, CR1 and CR2 (Satterthwaite) tests.

Fixture: tests/fixtures/make_dependent_fixtures.R (metafor's optimiser tightened to
rel.tol 1e-15 ... 1e-10, the tightest it reaches). Tolerance 1e-6 relative, except the
variance components of the UN/HCS fits where metafor's optimum is flat (1e-5; there our
log-likelihood is at least metafor's)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from bayesmeta.dependent import multilevel, multivariate, random_effects_robust, vcalc

FIX = json.loads((Path(__file__).parents[1] / "fixtures" / "dependent_metafor.json").read_text())
CASES = {c["name"]: c for c in FIX["cases"]}
REL = 1e-6


def close(a, b, rtol=REL, atol=1e-10):
    np.testing.assert_allclose(np.asarray(a, float), np.asarray(b, float), rtol=rtol, atol=atol)


def fit_case(c: dict):
    if c["kind"] == "multilevel":
        X = np.array(c["X"])
        mods = X[:, 1:] if X.shape[1] > 1 else None
        return multilevel(c["yi"], c["vi"], c["cluster"], c["study"], mods=mods,
                          method=c["method"], test=c["test"], robust="CR2")  # fmt: skip
    if c["kind"] == "multivariate":
        return multivariate(c["yi"], c["cluster"], c["outcome"], V=c["V"], struct=c["struct"],
                            robust="CR2")  # fmt: skip
    return random_effects_robust(c["yi"], c["vi"], c["cluster"], robust="CR2")


@pytest.mark.parametrize("name", list(CASES))
def test_coefficients(name: str) -> None:
    c = CASES[name]
    r = fit_case(c)
    f = c["fit"]
    close(r.coef["estimate"], f["beta"])
    close(r.coef["se"], f["se"], rtol=1e-5 if name.endswith(("UN", "HCS")) else REL)
    close(
        r.coef["pval"], f["pval"], rtol=1e-4 if name.endswith(("UN", "HCS")) else 1e-5, atol=1e-14
    )
    close(r.coef["ci_low"], f["ci_lb"], rtol=1e-5 if name.endswith(("UN", "HCS")) else REL)
    close(r.coef["ci_high"], f["ci_ub"], rtol=1e-5 if name.endswith(("UN", "HCS")) else REL)
    if c["kind"] != "re-robust":
        close(r.q, f["QE"])
        assert r.loglik >= f["logLik"] - 1e-9
        close(r.loglik, f["logLik"], rtol=1e-9)


@pytest.mark.parametrize("name", [n for n, c in CASES.items() if c["kind"] == "multilevel"])
def test_multilevel_components(name: str) -> None:
    c = CASES[name]
    r = fit_case(c)
    f = c["fit"]
    close(r.sigma2, f["sigma2"], rtol=2e-6)
    assert r.n_clusters == f["n_clusters"] and r.k == f["k"]
    close(r.i2, f["I2"]["total"], rtol=2e-6)
    close(r.i2_levels, f["I2"]["levels"], rtol=2e-6)
    # profile-likelihood intervals (metafor's confint with uniroot's tol at 1e-10)
    for j, (lo, hi) in enumerate(r.sigma2_ci or []):
        ref = f["sigma2_ci"][str(j + 1)]
        close([lo, hi], ref, rtol=1e-6, atol=1e-9)
    if f.get("QM") is not None and r.qm is not None:
        close(r.qm[0], f["QM"])
        close(r.qm[2], f["QMp"], rtol=1e-5, atol=1e-14)


@pytest.mark.parametrize("name", [n for n, c in CASES.items() if c["kind"] == "multivariate"])
def test_multivariate_components(name: str) -> None:
    c = CASES[name]
    r = fit_case(c)
    f = c["fit"]
    tol = 2e-5 if c["struct"] in ("UN", "HCS") else 2e-6
    close(list(r.tau2.values()), np.atleast_1d(f["tau2"]) * np.ones(2), rtol=tol)
    close(r.rho_between[0, 1], f["rho"], rtol=tol)
    assert list(r.tau2) == f["outcomes"]


@pytest.mark.parametrize("kind", ["cr1", "cr2"])
@pytest.mark.parametrize("name", list(CASES))
def test_robust(name: str, kind: str) -> None:
    c = CASES[name]
    r = fit_case(c)
    if kind == "cr1":
        from bayesmeta.dependent.robust import cluster_robust

        # same model, CR1
        X = np.array(c["X"]) if "X" in c else None
        rr = cluster_robust(np.array(c["yi"]), X if X is not None else r.extra.get("X"),
                            r.extra["M"], c["cluster"], "CR1")  # fmt: skip
    else:
        rr = r.robust
    ref = c[kind]
    flat = name.endswith(("UN", "HCS"))
    close(rr["se"], ref["se"], rtol=2e-5 if flat else REL)
    close(rr["df"], ref["df"], rtol=2e-5 if flat else REL)
    close(rr["pval"], ref["pval"], rtol=5e-5 if flat else 1e-5, atol=1e-14)
    close(rr["ci_low"], ref["ci_lb"], rtol=2e-5 if flat else REL)
    close(rr["ci_high"], ref["ci_ub"], rtol=2e-5 if flat else REL)


def test_vcalc_equals_metafor() -> None:
    for name in ("berkey1998-vcalc0.4-UN", "kalaian1996-UN"):
        c = CASES[name]
        V = vcalc(c["vi"], c["cluster"], c["outcome"], c["rho_within"])
        close(V, c["V"], rtol=1e-12, atol=1e-15)
        r = multivariate(c["yi"], c["cluster"], c["outcome"], vi=c["vi"], rho=c["rho_within"],
                         struct="UN")  # fmt: skip
        close(r.coef["estimate"], c["fit"]["beta"])
