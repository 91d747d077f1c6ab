"""Bayesian network meta-analysis (`bayesmeta.hierarchical.network`): the NICE TSD2 smoking
example (dat.hasselblad1998) against long JAGS runs of TSD2's own program (random and fixed
effects; fixture tests/fixtures/make_network_jags.R), node-splitting on a network with
known inconsistency, rankings, and simulation-based calibration."""

from __future__ import annotations

import json
from pathlib import Path

import arviz as az
import numpy as np
import pandas as pd
import pytest
import xarray as xr
from scipy import stats

from bayesmeta.hierarchical.network import _Arms, _build, bayesian_network
from bayesmeta.network.data import from_arms, from_contrasts
from bayesmeta.priors import parse_prior

JAGS = json.loads((Path(__file__).parents[1] / "fixtures" / "network_jags.json").read_text())


def _arms() -> pd.DataFrame:
    a = JAGS["arms"]
    return pd.DataFrame(
        {"study": a["study"], "treatment": a["treatment"], "events": a["events"], "n": a["n"]}
    )


def _check(draws: np.ndarray, ref: dict, what: str) -> None:
    da = xr.DataArray(draws, dims=("chain", "draw"))
    for q, want, m_ref in zip((0.025, 0.5, 0.975), ref["q"], ref["mcse"], strict=True):
        got = float(np.quantile(draws, q))
        m_here = float(az.mcse(da, method="quantile", prob=q))
        assert abs(got - want) <= 3.5 * np.hypot(m_here, m_ref), (what, q, got, want)


@pytest.mark.slow
@pytest.mark.parametrize("fixed", [False, True])
def test_tsd2_smoking_example_agrees_with_jags(fixed: bool) -> None:
    c = from_arms(_arms(), "OR")
    post = bayesian_network(
        c, "no_contact", tau_prior="uniform(0, 5)", fixed=fixed, node_split=False, ume=False, seed=3
    )
    ref = JAGS["fe" if fixed else "re"]
    for j, t in enumerate(JAGS["treatments"][1:]):
        _check(post.d[..., post.treatments.index(t)], ref["d"][j], t)
    if not fixed:
        _check(post.tau, ref["sd"], "tau")
    d = post.to_dict()
    assert d["diagnostics"]["min_ess_bulk"] >= 4000  # MC error < SD/10 for every quantile
    # SUCRA and rank probabilities: probabilities sum to 1 per treatment and per rank
    P = np.array(list(d["rank_probabilities"].values()))
    np.testing.assert_allclose(P.sum(axis=0), 1.0, atol=1e-12)
    np.testing.assert_allclose(P.sum(axis=1), 1.0, atol=1e-12)
    assert max(d["sucra"], key=d["sucra"].get) == "grp_counseling"


@pytest.mark.slow
def test_node_splitting_finds_known_inconsistency() -> None:
    """A-B, A-C and B-C trials; the B-C trials are shifted by +1 against consistency
    (d_BC = d_AC - d_AB + 1): the B vs C node-split must show it (p < 0.01), and the A-B
    split, whose indirect path runs through the inconsistent loop, not so strongly."""
    rng = np.random.default_rng(2)
    rows = []
    d = {"A": 0.0, "B": 0.5, "C": 1.0}
    for s in range(24):
        t1, t2 = [("A", "B"), ("A", "C"), ("B", "C")][s % 3]
        shift = 1.0 if (t1, t2) == ("B", "C") else 0.0
        rows.append(
            {
                "study": f"s{s}",
                "treat1": t1,
                "treat2": t2,
                "yi": d[t2] - d[t1] + shift + rng.normal(0, 0.1),
                "vi": 0.01,
            }
        )
    c = from_contrasts(pd.DataFrame(rows))
    post = bayesian_network(c, "A", fixed=True, ume=False, seed=1, draws=1000)
    splits = {s["comparison"]: s for s in post.node_split}
    assert splits["C vs B"]["p"] < 0.01
    assert splits["C vs B"]["direct"]["median"] == pytest.approx(1.5, abs=0.15)


@pytest.mark.slow
def test_simulation_based_calibration_of_the_random_effects_model() -> None:
    """Talts et al. (2018) for the contrast model with a three-arm trial: 60 replicates from
    the prior with one compiled model; the ranks of d_B, d_C and tau are uniform (KS
    p > 0.001)."""
    from bayesmeta.hierarchical.compiled import compile_model
    from bayesmeta.hierarchical.trace import sample_nutpie

    tix = [
        np.array([0, 1]),
        np.array([0, 2]),
        np.array([1, 2]),
        np.array([0, 1, 2]),
        np.array([0, 1]),
        np.array([0, 2]),
    ]
    Vs = [
        np.array([[0.04]]) if len(t) == 2 else np.array([[0.05, 0.02], [0.02, 0.05]]) for t in tix
    ]
    lay = _Arms(
        "contrast",
        [f"s{i}" for i in range(6)],
        tix,
        [(np.zeros(len(t) - 1), V) for t, V in zip(tix, Vs, strict=True)],
    )
    prior = parse_prior("halfnormal(0.3)", "tau")
    compiled = compile_model(_build(lay, 3, prior, d_sd=1.0))
    rng = np.random.default_rng(7)
    ranks = []
    for r in range(60):
        dv = np.concatenate([[0.0], rng.normal(0, 1.0, 2)])
        tau = abs(rng.normal(0, 0.3))
        data = {}
        for i, (t, V) in enumerate(zip(tix, Vs, strict=True)):
            a = len(t)
            L = np.linalg.cholesky(0.5 * (np.eye(a - 1) + np.ones((a - 1, a - 1))))
            delta = dv[t[1:]] - dv[t[0]] + tau * L @ rng.normal(size=a - 1)
            y = rng.multivariate_normal(delta, V)
            data[f"yobs_{i}"] = np.linalg.inv(np.linalg.cholesky(V)) @ y
        post, _ = sample_nutpie(
            compiled.with_data(**data),
            draws=500,
            tune=700,
            chains=2,
            cores=2,
            seed=r,
            progress_bar=False,
            target_accept=0.95,
        )
        d = np.asarray(post["d"].values).reshape(-1, 3)
        t_ = np.asarray(post["tau"].values).ravel()
        ranks.append([np.mean(d[:, 1] < dv[1]), np.mean(d[:, 2] < dv[2]), np.mean(t_ < tau)])
    q = np.array(ranks)
    for j, name in enumerate(("d_B", "d_C", "tau")):
        assert stats.kstest(q[:, j], "uniform").pvalue > 0.001, name
