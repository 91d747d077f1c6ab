"""Posterior density curves of mu and tau under each prior of a sweep (for plotting)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from bayesmeta.exact import NormalNormal
from bayesmeta.sensitivity.grammar import expand
from bayesmeta.sensitivity.sweep import as_table


@dataclass(frozen=True)
class PosteriorCurves:
    """Densities on grids: ``mu`` and ``tau`` are (x, density) pairs.

    Examples:
        >>> import pandas as pd
        >>> from bayesmeta.sensitivity.curves import posterior_curves
        >>> df = pd.DataFrame({"study": ["a", "b", "c"], "yi": [0.1, 0.3, -0.2],
        ...                    "vi": [0.04, 0.02, 0.05]})
        >>> c = posterior_curves(df, "halfnormal(0.5)", "normal(0, 1)", points=50)[0]
        >>> c.tau_prior, c.mu_prior, c.mu[0].shape
        ('halfnormal(0.5)', 'normal(0, 1)', (50,))
    """

    tau_prior: str
    mu_prior: str
    mu: tuple[np.ndarray, np.ndarray]
    tau: tuple[np.ndarray, np.ndarray]


def posterior_curves(
    table: Any, tau_priors: Any, mu_priors: Any = "normal(0, 4)", points: int = 200
) -> list[PosteriorCurves]:
    """Exact p(mu | y) and p(tau | y) per prior pair, on a common grid per quantity.

    Grids span the 0.1 % - 99.9 % posterior quantiles over all priors (tau from 0), with
    ``points`` (default 200) points each.

    Examples:
        >>> import numpy as np
        >>> import pandas as pd
        >>> from bayesmeta.sensitivity.curves import posterior_curves
        >>> df = pd.DataFrame({"study": ["a", "b", "c"], "yi": [0.1, 0.3, -0.2],
        ...                    "vi": [0.04, 0.02, 0.05]})
        >>> curves = posterior_curves(df, "halfnormal(0.25..1, n=3)", "normal(0, 1)", points=50)
        >>> [c.tau_prior for c in curves]
        ['halfnormal(0.25)', 'halfnormal(0.625)', 'halfnormal(1)']
        >>> round(float(np.trapezoid(curves[0].mu[1], curves[0].mu[0])), 3)  # density: area 1
        1.0
    """
    t = as_table(table)
    fits = [
        NormalNormal(t.yi, t.sei, tp, mp, list(t.study))
        for tg in expand(tau_priors, "tau")
        for tp in tg.priors
        for mg in expand(mu_priors, "mu")
        for mp in mg.priors
    ]
    mq = np.array([f.mu.quantile([0.001, 0.999]) for f in fits])
    tq = np.array([f.tau.quantile([0.999]) for f in fits])
    xm = np.linspace(mq[:, 0].min(), mq[:, 1].max(), points)
    xt = np.linspace(0.0, float(tq.max()), points)
    return [
        PosteriorCurves(
            f.tau_prior.text,
            f.mu_prior.text,
            (xm, np.asarray(f.mu.pdf(xm), dtype=float)),
            (xt, np.nan_to_num(np.asarray(f.tau.pdf(xt), dtype=float), posinf=np.nan)),
        )
        for f in fits
    ]
