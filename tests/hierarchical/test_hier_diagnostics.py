"""Diagnostics logic on synthetic DataTrees (no sampler).

Each failure mode is built in: chains with different means (R-hat), a strongly
autocorrelated AR(1) chain (low ESS), divergences, a random-walk energy (low E-BFMI), tree-depth
hits. The E-BFMI reported is checked against its definition (Betancourt 2016, eq. in sec. 6.1:
sum (E_t - E_{t-1})^2 / sum (E_t - mean E)^2) to 1e-12.
"""

from __future__ import annotations

import warnings

import arviz as az
import numpy as np
import pytest
import xarray as xr

from bayesmeta.hierarchical.diagnostics import (
    BFMI_MIN,
    SamplingWarning,
    diagnose,
    diagnose_groups,
    diagnostic_warnings,
    warn_all,
)

CHAINS, DRAWS = 4, 500


def tree(post=None, stats=None, seed=0):
    rng = np.random.default_rng(seed)
    posterior = {
        "mu": rng.normal(size=(CHAINS, DRAWS)),
        "tau": np.abs(rng.normal(size=(CHAINS, DRAWS))),
        "theta": rng.normal(size=(CHAINS, DRAWS, 3)),
        "fixed": np.ones((CHAINS, DRAWS)),
    }
    sample_stats = {
        "energy": rng.normal(size=(CHAINS, DRAWS)),
        "diverging": np.zeros((CHAINS, DRAWS), bool),
        "maxdepth_reached": np.zeros((CHAINS, DRAWS), bool),
    }
    posterior.update(post or {})
    sample_stats.update(stats or {})
    return az.from_dict(
        {"posterior": posterior, "sample_stats": sample_stats},
        dims={"theta": ["study"]},
        coords={"study": ["A", "B", "C"]},
    )


def messages(diag, centred=False):
    return diagnostic_warnings(diag, centred=centred, target_accept=0.9, draws=DRAWS, tune=500)


def test_clean_draws_give_no_warning():
    diag = diagnose(tree())
    assert diag["max_rhat"] < 1.01
    assert diag["min_ess_bulk"] > 1000 and diag["min_ess_tail"] > 1000
    assert diag["divergences"] == 0 and diag["treedepth_hits"] == 0
    assert diag["chains"] == CHAINS and diag["draws"] == DRAWS
    assert not np.isnan(diag["max_rhat"])  # the constant 'fixed' is skipped, not NaN
    assert messages(diag) == []


def test_disagreeing_chains_flag_rhat_with_the_parameter():
    rng = np.random.default_rng(1)
    theta = rng.normal(size=(CHAINS, DRAWS, 3))
    theta[0, :, 1] += 3.0  # chain 0 stuck elsewhere for study B
    diag = diagnose(tree({"theta": theta}))
    assert diag["max_rhat"] > 1.1
    assert diag["max_rhat_param"] == "theta[B]"
    (msg,) = [m for m in messages(diag) if "R-hat" in m]
    assert "theta[B]" in msg and "draws=1000" in msg and "tune=1000" in msg


def test_autocorrelated_chain_flags_low_ess():
    rng = np.random.default_rng(2)
    x = np.zeros((CHAINS, DRAWS))
    for t in range(1, DRAWS):
        x[:, t] = 0.98 * x[:, t - 1] + rng.normal(size=CHAINS) * np.sqrt(1 - 0.98**2)
    diag = diagnose(tree({"tau": x}))
    assert diag["min_ess_bulk"] < 100 * CHAINS
    assert diag["min_ess_bulk_param"] == "tau"
    msgs = messages(diag)
    assert any(m.startswith("bulk ESS") and "increase draws" in m for m in msgs)


def test_divergences_name_count_and_remedy():
    div = np.zeros((CHAINS, DRAWS), bool)
    div[0, :7] = True
    div[2, 100:105] = True
    diag = diagnose(tree(stats={"diverging": div}))
    assert diag["divergences"] == 12
    (msg,) = [m for m in messages(diag, centred=True) if "divergent" in m]
    assert msg.startswith("12 divergent transitions")
    assert "target_accept" in msg and "non-centred" in msg
    (msg,) = [m for m in messages(diag, centred=False) if "divergent" in m]
    assert "centred=True" in msg and "tau prior" in msg


def test_random_walk_energy_flags_low_bfmi():
    rng = np.random.default_rng(3)
    energy = np.cumsum(rng.normal(size=(CHAINS, DRAWS)), axis=1)
    diag = diagnose(tree(stats={"energy": energy}))
    e = energy
    by_hand = np.sum(np.diff(e, axis=1) ** 2, axis=1) / np.sum(
        (e - e.mean(axis=1, keepdims=True)) ** 2, axis=1
    )
    assert diag["min_bfmi"] == pytest.approx(by_hand.min(), rel=1e-12)
    assert diag["min_bfmi"] < BFMI_MIN
    assert any("E-BFMI" in m and "tune" in m for m in messages(diag))


def test_tree_depth_hits_are_counted():
    hits = np.zeros((CHAINS, DRAWS), bool)
    hits[1, :3] = True
    diag = diagnose(tree(stats={"maxdepth_reached": hits}))
    assert diag["treedepth_hits"] == 3
    assert any("maximum tree depth" in m for m in messages(diag))


def test_pymc_sample_stats_names_are_understood():
    hits = np.zeros((CHAINS, DRAWS), bool)
    hits[0, 0] = True
    idata = tree(stats={"reached_max_treedepth": hits})
    del idata["sample_stats"]["maxdepth_reached"]
    assert diagnose(idata)["treedepth_hits"] == 1


def test_warnings_are_emitted_as_sampling_warnings():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        warn_all(["a problem; a remedy"])
    assert [w.category for w in caught] == [SamplingWarning]
    assert str(caught[0].message) == "a problem; a remedy"


def test_stacked_statistics_equal_arviz_per_variable():
    """The vectorised R-hat / ESS equal ArviZ's per-variable az.rhat / az.ess (tail ESS at the
    5 % and 95 % quantiles, as Vehtari et al. 2021) to 1e-12, and the worst parameter is the
    first extreme in variable order."""
    rng = np.random.default_rng(5)
    walk = rng.normal(size=(CHAINS, DRAWS, 3)).cumsum(axis=1)
    shifted = rng.normal(size=(CHAINS, DRAWS)) + np.arange(CHAINS)[:, None]
    idata = tree({"theta": walk, "mu": shifted})
    diag = diagnose(idata)
    post = idata["posterior"].to_dataset()[["mu", "tau", "theta"]]
    ref = {
        "max_rhat": az.rhat(post),
        "min_ess_bulk": az.ess(post, method="bulk"),
        "min_ess_tail": az.ess(post, method="tail", prob=(0.05, 0.95)),
    }
    for key, ds in ref.items():
        flat = {f"{n}[{s}]" if "study" in da.dims else n: float(v)
                for n, da in ds.data_vars.items()
                for s, v in (zip(da["study"].values, da.values, strict=True)
                             if "study" in da.dims else [("", da.values)])}  # fmt: skip
        want = max(flat.values()) if key == "max_rhat" else min(flat.values())
        assert diag[key] == pytest.approx(want, rel=1e-12)
        assert flat[diag[f"{key}_param"]] == pytest.approx(want, rel=1e-12)


def hard_rows(seed=3, chains=4, draws=1000):
    """Rows that exercise every branch: random walks (long positive sequence), shifted chains,
    AR(1) 0.9, heavy ties (rounded), negatively autocorrelated alternation, a constant indicator
    (a row where more than 95 % of the draws tie at the minimum) and an odd number of draws."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(60, chains, draws))
    x[:20] = x[:20].cumsum(axis=2)
    x[20:30] += np.arange(chains)[:, None]
    for t in range(1, draws):
        x[30:40, :, t] += 0.9 * x[30:40, :, t - 1]
    x[40:45] = np.round(x[40:45])
    x[45] = np.tile([0.0, 1.0], (chains, draws // 2 + 1))[:, :draws]
    x[46] = np.where(
        rng.uniform(size=(chains, draws)) < 0.97, 0.0, rng.normal(size=(chains, draws))
    )
    return x


@pytest.mark.parametrize("draws", [1000, 333])
def test_row_statistics_equal_arviz_array_stats(draws):
    """Every row of hard cases: R-hat, bulk and tail ESS equal ``arviz_stats.base.array_stats``
    (the per-variable reference) to 1e-12, including NaN where ArviZ gives NaN."""
    from arviz_stats.base import array_stats

    from bayesmeta.hierarchical.diagnostics import _rank_statistics

    x = hard_rows(draws=draws)
    rhat, bulk, tail = _rank_statistics(x)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        ref = (
            array_stats.rhat(x),
            array_stats.ess(x, method="bulk"),
            array_stats.ess(x, method="tail", prob=(0.05, 0.95)),
        )
    for got, want in zip((rhat, bulk, tail), ref, strict=True):
        np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
        np.testing.assert_allclose(got, want, rtol=1e-12)


def test_normal_scores_equal_scipy_ranks_with_ties():
    """Blom normal scores of the average ranks, as ArviZ computes them with scipy."""
    from scipy import stats

    from bayesmeta.hierarchical.diagnostics import _z_scale

    rng = np.random.default_rng(8)
    x = np.round(rng.normal(size=(7, 2, 250)), 1)  # many ties
    rank = stats.rankdata(x.reshape(7, -1), axis=1)
    want = stats.norm.ppf((rank - 0.375) / (500 - 2 * 0.375 + 1)).reshape(x.shape)
    np.testing.assert_array_equal(_z_scale(x), want)


def test_tied_runs_at_row_edges_get_their_average_rank():
    """Ties at the start and end of a row, a constant row, and rows whose last value equals
    the next row's first: every row ranked on its own, as scipy's rankdata."""
    from scipy import stats

    from bayesmeta.hierarchical.diagnostics import _z_scale

    x = np.array(
        [
            [1.0, 1.0, 2.0, 3.0, 3.0, 3.0],  # runs at both ends
            [3.0, 4.0, 5.0, 6.0, 7.0, 8.0],  # starts with the value the row above ends with
            [2.0, 2.0, 2.0, 2.0, 2.0, 2.0],  # constant
            [0.5, -1.0, 0.5, 9.0, -1.0, 0.5],  # interleaved runs
        ]
    ).reshape(4, 2, 3)
    rank = stats.rankdata(x.reshape(4, -1), axis=1)
    want = stats.norm.ppf((rank - 0.375) / (6 + 0.25)).reshape(x.shape)
    np.testing.assert_allclose(_z_scale(x), want, rtol=1e-15, atol=1e-15)


def test_worst_parameter_is_named_with_its_labels():
    """The name of the worst scalar of a two-dimensional variable: 'name[row label, column
    label]', in C order, as ArviZ's summary names it."""
    rng = np.random.default_rng(2)
    beta = rng.normal(size=(CHAINS, DRAWS, 2, 3))
    beta[1, :, 1, 2] += 4.0  # one chain of one element is off
    post = xr.Dataset(
        {
            "mu": (("chain", "draw"), rng.normal(size=(CHAINS, DRAWS))),
            "beta": (("chain", "draw", "arm", "dose"), beta),
        },
        coords={"arm": ["a", "b"], "dose": ["low", "mid", "high"]},
    )
    stats = xr.Dataset({"diverging": (("chain", "draw"), np.zeros((CHAINS, DRAWS), bool))})
    diag = diagnose_groups(post, stats)
    assert diag["max_rhat_param"] == "beta[b, high]"
    assert diag["max_rhat"] > 1.5


def test_too_few_draws_or_chains_give_nan_like_arviz():
    from bayesmeta.hierarchical.diagnostics import _rank_statistics

    rng = np.random.default_rng(1)
    rhat, bulk, tail = _rank_statistics(rng.normal(size=(3, 1, 50)))  # one chain: no R-hat
    assert np.isnan(rhat).all() and np.isfinite(bulk).all() and np.isfinite(tail).all()
    assert all(np.isnan(v).all() for v in _rank_statistics(rng.normal(size=(3, 4, 3))))
