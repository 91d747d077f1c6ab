"""Sensitivity to the pre/post correlation r of before/after (single-arm) data.

For each r the paired mean change (`bayesmeta.effects.mean_change`, metafor ``MC``)

    y_i = m_post - m_pre,  v_i(r) = (sd_pre^2 + sd_post^2 - 2 r sd_pre sd_post) / n

is pooled classically (`bayesmeta.classical.pool`) and by the exact normal-normal
posterior (`bayesmeta.exact.NormalNormal`). r = 0 is the review's convention of
treating the two time points as independent groups (`bayesmeta.effects.before_after`
with n_pre = n_post = n). Larger r shrinks every v_i, so intervals narrow and the
estimated heterogeneity grows (the same spread of y_i is less explained by sampling error).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from bayesmeta.errors import InputError
from bayesmeta.exact import NormalNormal
from bayesmeta.exact.marginal import check_level
from bayesmeta.studies import StudyTable

DEFAULT_R = tuple(round(0.1 * i, 1) for i in range(10))  # 0, 0.1, ..., 0.9


def correlation_sweep(
    m_pre: Any,
    sd_pre: Any,
    m_post: Any,
    sd_post: Any,
    n: Any,
    r: Sequence[float] = DEFAULT_R,
    *,
    study: Sequence[str] | None = None,
    method: str = "REML",
    tau_prior: str = "halfnormal(0.5)",
    mu_prior: str = "normal(0, 4)",
    level: float = 0.95,
) -> pd.DataFrame:
    """One row per r: classical estimate / CI / tau^2 / I^2 and exact posterior mu and tau.

    For each r the mean changes and their variances v_i(r) (module docstring) are pooled by
    `bayesmeta.classical.pool` (``method``; FE when k = 1) and by the exact
    `bayesmeta.exact.NormalNormal` posterior (``tau_prior``, ``mu_prior``).

    Args:
        m_pre: per-study mean before.
        sd_pre: per-study SD before.
        m_post: per-study mean after.
        sd_post: per-study SD after.
        n: per-study sample size.
        r: correlations to sweep, each in (-1, 1). Default 0, 0.1, ..., 0.9.
        study: study labels (default "1", "2", ...).
        method: tau^2 estimator of the classical pooling. Default ``"REML"``.
        tau_prior: tau prior of the exact posterior. Default ``"halfnormal(0.5)"``.
        mu_prior: mu prior of the exact posterior. Default ``"normal(0, 4)"``.
        level: interval level. Default 0.95.

    Returns:
        Columns r, k, classical_estimate, classical_ci_low, classical_ci_high, classical_tau2,
        classical_i2, mu_median, mu_ci_low, mu_ci_high, tau_median, tau_ci_low,
        tau_ci_high; ``attrs`` holds level, method and the priors.

    Same as metafor 3.8.1 ``rma(escalc("MC", ..., ri = rep(r, 5)), method = "REML")`` and R
    bayesmeta 3.4 (halfnormal(5), N(0, 100^2)) for Morris (2008), treatment arm
    (tests/fixtures/sensitivity_r.json; r = 0.5: estimate 6.2018, tau^2 67.1616, posterior
    medians mu 5.7224, tau 6.8498):

    Examples:
        >>> from bayesmeta import datasets
        >>> from bayesmeta.sensitivity import correlation_sweep
        >>> m = datasets.load("morris2008")
        >>> res = correlation_sweep(m["m_pre_t"], m["sd_pre_t"], m["m_post_t"], m["sd_post_t"],
        ...                         m["n_t"], [0, 0.5, 0.9], tau_prior="halfnormal(5)",
        ...                         mu_prior="normal(0, 100)")
        >>> cols = ["r", "classical_estimate", "classical_tau2", "mu_median", "tau_median"]
        >>> print(res[cols].round(4))
             r  classical_estimate  classical_tau2  mu_median  tau_median
        0  0.0              5.9140         60.4514     5.1648      6.3080
        1  0.5              6.2018         67.1616     5.7224      6.8498
        2  0.9              6.4158         72.2939     6.1133      7.2233
    """
    from bayesmeta.classical import pool
    from bayesmeta.effects import mean_change

    level = check_level(level)
    rs = [float(v) for v in r]
    if not rs:
        raise InputError("no correlations r to sweep")
    for v in rs:
        if not -1.0 < v < 1.0:
            raise InputError(f"correlation r must be in (-1, 1) (got {v:g})")
    lo, hi = (1.0 - level) / 2.0, (1.0 + level) / 2.0
    rows = []
    for v in rs:
        es = mean_change(m_pre, sd_pre, m_post, sd_post, n, np.full(np.size(m_pre), v))
        labels = list(study) if study is not None else [str(i + 1) for i in range(es.yi.size)]
        table = StudyTable.from_arrays(es.yi, es.vi, study=labels)
        cl = pool(table, method=method if table.k > 1 else "FE", level=level)
        fit = NormalNormal(es.yi, np.sqrt(es.vi), tau_prior, mu_prior, labels)
        mq = fit.mu.quantile([0.5, lo, hi])
        tq = fit.tau.quantile([0.5, lo, hi])
        rows.append({
            "r": v, "k": table.k, "classical_estimate": cl.estimate,
            "classical_ci_low": cl.ci_low, "classical_ci_high": cl.ci_high,
            "classical_tau2": cl.tau2, "classical_i2": cl.i2,
            "mu_median": float(mq[0]), "mu_ci_low": float(mq[1]), "mu_ci_high": float(mq[2]),
            "tau_median": float(tq[0]), "tau_ci_low": float(tq[1]), "tau_ci_high": float(tq[2]),
        })  # fmt: skip
    out = pd.DataFrame(rows)
    out.attrs |= {"level": level, "method": method, "tau_prior": tau_prior,
                  "mu_prior": mu_prior}  # fmt: skip
    return out
