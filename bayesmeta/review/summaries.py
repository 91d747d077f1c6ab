"""ArviZ summaries behind every Bayesian number of the re-analysis.

Conjugate and exact posteriors are represented by i.i.d. draws from the exact posterior
(normal draws, or inverse-CDF draws ``F^{-1}(U)`` from an exact marginal) wrapped as an ArviZ
``DataTree`` with ``chains`` pseudo-chains, so ``az.summary(..., ci_prob=0.95)`` can be shown
next to the exact numbers (its R-hat and ESS only confirm the draws are i.i.d.). MCMC results
are summarised from their own ``DataTree``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import arviz as az
import numpy as np
import pandas as pd

#: Columns kept from ``az.summary`` (ArviZ 1.x names for a 95 % equal-tailed interval).
SUMMARY_COLUMNS = ("mean", "sd", "eti95_lb", "eti95_ub", "ess_bulk", "ess_tail", "r_hat")


def draws_tree(
    draws: Mapping[str, np.ndarray],
    *,
    chains: int = 4,
    dims: Mapping[str, Sequence[str]] | None = None,
    coords: Mapping[str, Sequence[str]] | None = None,
) -> Any:
    """A DataTree with a ``posterior`` group from flat draws ``{name: (n,) or (n, m)}``.

    ``n`` must be divisible by ``chains``; draws are split in order into the pseudo-chains.
    """
    post: dict[str, np.ndarray] = {}
    for name, x in draws.items():
        x = np.asarray(x, dtype=float)
        n = x.shape[0]
        if n % chains:
            raise ValueError(f"{name}: {n} draws are not divisible into {chains} chains")
        post[name] = x.reshape((chains, n // chains, *x.shape[1:]))
    return az.from_dict(
        {"posterior": post},
        dims={k: list(v) for k, v in (dims or {}).items()},
        coords={k: list(v) for k, v in (coords or {}).items()},
    )


def summarize(
    tree: Any, var_names: Sequence[str] | None = None, ci_prob: float = 0.95
) -> pd.DataFrame:
    """``az.summary(tree, ci_prob=ci_prob)`` unrounded, with the columns of SUMMARY_COLUMNS."""
    s = az.summary(
        tree, var_names=list(var_names) if var_names else None, ci_prob=ci_prob, round_to="none"
    )
    lb = next(c for c in s.columns if c.endswith("_lb"))
    ub = next(c for c in s.columns if c.endswith("_ub"))
    s = s.rename(columns={lb: "ci_low", ub: "ci_high"})
    keep = [
        c
        for c in ("mean", "sd", "ci_low", "ci_high", "ess_bulk", "ess_tail", "r_hat")
        if c in s.columns
    ]
    out = s[keep].astype(float)
    out.index.name = "param"
    return out


def normal_draws(mean: float, sd: float, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` i.i.d. draws from N(mean, sd^2)."""
    return rng.normal(mean, sd, size=n)


def inverse_cdf_draws(quantile: Any, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` i.i.d. draws ``quantile(U)``, U ~ Uniform(0, 1), from an exact marginal."""
    u = rng.uniform(size=n)
    return np.asarray(quantile(u), dtype=float).reshape(n)
