r"""Performance measures per scenario x method, each with its Monte Carlo SE.

Over the n successful replicates (Morris, White & Crowther 2019, Stat Med 38:2074, Table 6),
with ``e = estimate - mu_true`` and ``w = ci_high - ci_low``:

* coverage ``c = mean(ci_low <= mu_true <= ci_high)``, MCSE ``sqrt(c (1 - c) / n)``;
* mean width, MCSE ``sd(w) / sqrt(n)``; median width, MCSE from the distribution-free
  order-statistic interval ``(w_(u) - w_(l)) / (2 z_.975)``, ``l, u = n/2 -/+ z_.975 sqrt(n)/2``;
* bias ``mean(e)``, MCSE ``sd(e) / sqrt(n)``;
* RMSE ``sqrt(mean(e^2))``, MCSE ``sd(e^2) / (2 RMSE sqrt(n))`` (delta method);
* the proportion of intervals excluding 0 (power under mu != 0), binomial MCSE.

SBC (Talts et al. 2018) for a Bayesian method on a scenario whose truth is drawn from the
same priors the method declares: the PIT ``u = P(mu <= mu_true | y)`` is uniform; reported
are the KS test's p (``sbc_ks_p``) and a chi-square test of ``SBC_BINS`` equal bins
(``sbc_chi2``, ``sbc_chi2_p``).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats

from bayesmeta.simulate.spec import StudySpec

SBC_BINS = 10
_Z = float(stats.norm.isf(0.025))


def median_mcse(x: np.ndarray) -> float:
    """Order-statistic MCSE of the sample median (see module docstring)."""
    n = x.size
    if n < 4:
        return math.nan
    xs = np.sort(x)
    half = _Z * math.sqrt(n) / 2
    lo = max(int(math.floor(n / 2 - half)), 0)
    hi = min(int(math.ceil(n / 2 + half)), n - 1)
    return float((xs[hi] - xs[lo]) / (2 * _Z))


def sbc_tests(pit: np.ndarray, bins: int = SBC_BINS) -> dict[str, float]:
    """KS and binned chi-square tests of PIT uniformity."""
    if pit.size < bins:
        return {"sbc_ks_p": math.nan, "sbc_chi2": math.nan, "sbc_chi2_p": math.nan}
    counts = np.bincount(np.minimum((pit * bins).astype(int), bins - 1), minlength=bins)
    chi = stats.chisquare(counts)
    return {
        "sbc_ks_p": float(stats.kstest(pit, "uniform").pvalue),
        "sbc_chi2": float(chi.statistic),
        "sbc_chi2_p": float(chi.pvalue),
    }


def measures(g: pd.DataFrame) -> dict[str, float]:
    """All measures of one scenario x method group of replicate rows."""
    ok = g[g["ok"]]
    n = len(ok)
    out: dict[str, float] = {"n": n, "n_failed": int(len(g) - n)}
    if n == 0:
        return out
    mu = ok["mu_true"].to_numpy()
    lo, hi = ok["ci_low"].to_numpy(), ok["ci_high"].to_numpy()
    e = ok["estimate"].to_numpy() - mu
    w = hi - lo
    sq = math.sqrt(n)
    cov = float(np.mean((lo <= mu) & (mu <= hi)))
    excl = float(np.mean((lo > 0) | (hi < 0)))
    rmse = float(math.sqrt(np.mean(e**2)))
    sd = (lambda x: float(np.std(x, ddof=1))) if n > 1 else (lambda x: math.nan)
    out.update(
        coverage=cov,
        coverage_mcse=math.sqrt(cov * (1 - cov) / n),
        width_mean=float(w.mean()),
        width_mean_mcse=sd(w) / sq,
        width_median=float(np.median(w)),
        width_median_mcse=median_mcse(w),
        bias=float(e.mean()),
        bias_mcse=sd(e) / sq,
        rmse=rmse,
        rmse_mcse=sd(e**2) / (2 * rmse * sq) if rmse > 0 else math.nan,
        excl0=excl,
        excl0_mcse=math.sqrt(excl * (1 - excl) / n),
    )
    return out


def summarise(reps: pd.DataFrame, spec: StudySpec) -> pd.DataFrame:
    """Tidy table: one row per scenario x method, scenario settings + measures (+ SBC)."""
    info = {
        sc.id: {
            "group": sc.group,
            "k": sc.k,
            "mu": math.nan if sc.mu is None else sc.mu,
            "tau": math.nan if sc.tau is None else sc.tau,
            "tau_label": sc.tau_label,
            "se": sc.se.label(),
            "from_prior": sc.from_prior,
        }
        for sc in spec.scenarios
    }
    sbc_ok = {
        b.name: (b.mu_prior, b.tau_prior) == (spec.truth_mu_prior, spec.truth_tau_prior)
        for b in spec.bayes
    }
    order = {m: i for i, m in enumerate(spec.all_methods)}
    rows = []
    for (sid, method), g in reps.groupby(["scenario", "method"], sort=False):
        row = {"scenario": sid, "method": method, **info[sid], **measures(g)}
        if info[sid]["from_prior"] and sbc_ok.get(method, False):
            row.update(sbc_tests(g.loc[g["ok"], "pit"].to_numpy()))
        rows.append(row)
    out = pd.DataFrame(rows)
    sid_order = {sc.id: i for i, sc in enumerate(spec.scenarios)}
    key = out["scenario"].map(sid_order) * 1000 + out["method"].map(order)
    return out.iloc[np.argsort(key.to_numpy(), kind="stable")].reset_index(drop=True)
