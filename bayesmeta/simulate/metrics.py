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
    """Order-statistic MCSE of the sample median (see module docstring); nan for n < 4.

    For standard normal samples of n = 400 the true SE of the median is about
    sqrt(pi / 2 / n) = 0.0627; the estimate averages close to it:

    Examples:
        >>> import numpy as np
        >>> from bayesmeta.simulate.metrics import median_mcse
        >>> rng = np.random.default_rng(0)
        >>> print(f"{np.mean([median_mcse(rng.standard_normal(400)) for _ in range(50)]):.4f}")
        0.0666
        >>> median_mcse(np.ones(3))
        nan
    """
    n = x.size
    if n < 4:
        return math.nan
    xs = np.sort(x)
    half = _Z * math.sqrt(n) / 2
    lo = max(int(math.floor(n / 2 - half)), 0)
    hi = min(int(math.ceil(n / 2 + half)), n - 1)
    return float((xs[hi] - xs[lo]) / (2 * _Z))


def sbc_tests(pit: np.ndarray, bins: int = SBC_BINS) -> dict[str, float]:
    """KS and binned chi-square tests of PIT uniformity (nan when fewer PITs than bins).

    ``sbc_ks_p``: Kolmogorov-Smirnov p against Uniform(0, 1); ``sbc_chi2`` /
    ``sbc_chi2_p``: Pearson chi-square of the counts in ``bins`` (default 10) equal bins.

    Examples:
        >>> import numpy as np
        >>> from bayesmeta.simulate.metrics import sbc_tests
        >>> u = np.random.default_rng(1).uniform(size=500)
        >>> print({k: round(v, 4) for k, v in sbc_tests(u).items()})
        {'sbc_ks_p': 0.7641, 'sbc_chi2': 2.4, 'sbc_chi2_p': 0.9835}
        >>> sbc_tests(u**1.5)["sbc_chi2_p"] < 1e-6  # PITs skewed towards 0: not uniform
        True
    """
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
    """All measures of one scenario x method group of replicate rows (module docstring).

    ``g`` needs columns mu_true, estimate, ci_low, ci_high and ok; rows with ok False count
    in ``n_failed`` only. Without a successful row only ``n`` and ``n_failed`` are returned.

    Examples:
        >>> import pandas as pd
        >>> from bayesmeta.simulate.metrics import measures
        >>> g = pd.DataFrame({"mu_true": 0.0, "estimate": [0.1, -0.2, 0.05, 0.3],
        ...                   "ci_low": [-0.2, -0.5, 0.01, -0.1], "ci_high": [0.4, 0.1, 0.09, 0.7],
        ...                   "ok": True})
        >>> m = measures(g)
        >>> m["coverage"], round(m["width_mean"], 4), round(m["bias"], 4), round(m["rmse"], 4)
        (0.75, 0.52, 0.0625, 0.1887)
    """
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
    """Tidy table: one row per scenario x method, scenario settings + measures (+ SBC).

    Columns: scenario, method, group, k, mu, tau, tau_label, se, from_prior, then the
    `measures`; `sbc_tests` columns for a Bayesian method on a scenario drawn from the
    truth prior when the method's priors are the truth priors. Rows follow the spec's
    scenario and method order.

    The fixed-effect interval is exact when tau = 0, so its coverage is 0.95 up to Monte
    Carlo error (here 0.96, MCSE 0.0098):

    Examples:
        >>> from bayesmeta.simulate import parse_spec, summarise
        >>> from bayesmeta.simulate.run import replicates
        >>> spec = parse_spec({
        ...     "study": {"name": "fe", "seed": 3, "replicates": 400, "methods": ["FE"]},
        ...     "scenarios": [{"name": "null", "k": 5, "mu": 0.0, "tau": 0.0,
        ...                    "se": {"dist": "uniform", "low": 0.1, "high": 0.5}}]})
        >>> m = summarise(replicates(spec), spec)
        >>> print(m[["method", "n", "coverage", "coverage_mcse", "bias", "bias_mcse"]].round(4))
          method    n  coverage  coverage_mcse    bias  bias_mcse
        0     FE  400      0.96         0.0098  0.0047     0.0054
    """
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
    for (scenario, method), g in reps.groupby(["scenario", "method"], sort=False):
        sid = str(scenario)
        row = {"scenario": sid, "method": method, **info[sid], **measures(g)}
        if info[sid]["from_prior"] and sbc_ok.get(str(method), False):
            row.update(sbc_tests(g.loc[g["ok"], "pit"].to_numpy()))
        rows.append(row)
    out = pd.DataFrame(rows)
    sid_order = {sc.id: i for i, sc in enumerate(spec.scenarios)}
    key = out["scenario"].map(sid_order) * 1000 + out["method"].map(order)
    return out.iloc[np.argsort(key.to_numpy(), kind="stable")].reset_index(drop=True)
