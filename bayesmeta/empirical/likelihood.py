"""Exact marginal likelihoods of many meta-analyses under a hierarchical prior on tau and mu.

Analysis j has studies y_ij ~ N(theta_ij, v_ij), theta_ij ~ N(mu_j, tau_j^2). Given
tau, the study effects and mu_j ~ N(a, b^2) integrate in closed form (with
w_i = 1/(v_i + tau^2), S = sum w_i, mu_hat = sum w_i y_i / S, Q = sum w_i (y_i - mu_hat)^2):

    log p(y_j | tau, a, b) = A_j(tau) + log N(mu_hat; a, 1/S + b^2),
    A_j(tau) = -1/2 [sum log(2 pi (v_i + tau^2)) + Q + log S - log(2 pi)],

and A_j(tau) + log(k_j)/2 is the restricted (REML) likelihood: the density of the k_j - 1
within-analysis contrasts, free of mu (what a flat mu prior leaves). The remaining integral
over u = log(tau^2) against the prior u ~ N(m, s^2) (or t_nu(m, s), Rhodes et al. 2015) is
done on fixed cells of u: the likelihood at each cell's midpoint times the prior's exact
probability of the cell, the outer cells reaching to -inf and +inf. The error is O(h^2) in
the cell width h (default 0.1; the likelihood is flat below tau^2 << v and smooth above),
for every prior scale s, however small, and the prior's normalisation is exact. The cells
run from log(min v) - 12 to log(max(max v, var(y))) + 8, so they follow the data's units.

Turner RM, Jackson D, Wei Y, Thompson SG, Higgins JPT (2015). Stat Med 34:984-998 (the model).
Rhodes KM, Turner RM, Higgins JPT (2015). J Clin Epidemiol 68:52-60 (the log-t variant).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from scipy import special

from bayesmeta.errors import InputError

if TYPE_CHECKING:
    from bayesmeta.priors import Prior

LOG2PI = math.log(2.0 * math.pi)


@dataclass(frozen=True)
class Cells:
    """Cells of u = log(tau^2): ``edges`` (C + 1, the outer two infinite) and midpoints.

    Examples:
        >>> from bayesmeta.empirical.likelihood import Cells
        >>> c = Cells.span(-4.0, 0.0, 1.0)
        >>> c.mids.tolist(), c.edges[0], c.edges[-1]
        ([-3.5, -2.5, -1.5, -0.5], np.float64(-inf), np.float64(inf))
    """

    edges: np.ndarray
    mids: np.ndarray

    @classmethod
    def span(cls, lower: float, upper: float, step: float) -> Cells:
        n = max(2, math.ceil((upper - lower) / step))
        inner = np.linspace(lower, upper, n + 1)
        edges = np.concatenate([[-np.inf], inner[1:-1], [np.inf]])
        return cls(edges, 0.5 * (inner[:-1] + inner[1:]))

    @property
    def tau_edges(self) -> np.ndarray:
        """The edges on the tau scale (0 and inf outside)."""
        with np.errstate(over="ignore"):
            return np.exp(0.5 * self.edges)


def cell_logprob(edges: np.ndarray, m: np.ndarray, s: np.ndarray, nu: float | None = None
                 ) -> np.ndarray:  # fmt: skip
    """log P(u in cell c) for u ~ N(m, s^2) (``nu`` None) or t_nu(m, s); shape (D, C).

    Differences of lower tails below the centre and of upper tails above it, so cells far in
    either tail keep their relative precision.

    Examples:
        >>> import numpy as np
        >>> from bayesmeta.empirical.likelihood import cell_logprob
        >>> p = np.exp(cell_logprob(np.array([-np.inf, 0.0, np.inf]), np.zeros(1), np.ones(1)))
        >>> p.round(6).tolist()
        [[0.5, 0.5]]
    """
    m = np.asarray(m, dtype=float)[:, None]
    s = np.asarray(s, dtype=float)[:, None]
    z = (edges[None, :] - m) / s
    if nu is None:
        lo, hi = special.log_ndtr(z), special.log_ndtr(-z)
    else:
        with np.errstate(divide="ignore"):
            lo, hi = np.log(special.stdtr(nu, z)), np.log(special.stdtr(nu, -z))
    with np.errstate(divide="ignore", invalid="ignore"):
        left = lo[:, 1:] + np.log1p(-np.exp(np.minimum(lo[:, :-1] - lo[:, 1:], 0.0)))
        right = hi[:, :-1] + np.log1p(-np.exp(np.minimum(hi[:, 1:] - hi[:, :-1], 0.0)))
    centre = 0.5 * (z[:, :-1] + z[:, 1:])
    out = np.where(centre < 0, left, right)
    return np.where(np.isnan(out), -np.inf, out)


class AnalysisTables:
    """Per-analysis tables on the cells of u = log(tau^2) (module docstring).

    ``A`` (J, C): the mu-free part of the log likelihood; ``mu_hat`` and ``var_hat`` (J, C):
    the weighted mean and its variance 1/S; ``k`` (J,). Built in blocks of cells, so memory
    stays near 8 bytes x studies x ``block``.

    Examples:
        >>> import numpy as np
        >>> from bayesmeta.empirical.likelihood import AnalysisTables
        >>> t = AnalysisTables([np.array([0.1, 0.3])], [np.array([0.04, 0.09])])
        >>> t.A.shape == t.mu_hat.shape == (1, t.cells.mids.size)
        True
    """

    def __init__(
        self,
        yi: Sequence[np.ndarray],
        vi: Sequence[np.ndarray],
        *,
        step: float = 0.1,
        cells: Cells | None = None,
        block: int = 64,
    ) -> None:
        if len(yi) != len(vi) or len(yi) == 0:
            raise InputError("no analyses to learn from")
        k = np.array([len(y) for y in yi])
        if np.any(k < 1):
            raise InputError("every analysis needs at least one study")
        y = np.concatenate([np.asarray(a, dtype=float) for a in yi])
        v = np.concatenate([np.asarray(a, dtype=float) for a in vi])
        if y.shape != v.shape or not (np.all(np.isfinite(y)) and np.all(np.isfinite(v))
                                      and np.all(v > 0)):  # fmt: skip
            raise InputError("every study needs a finite yi and a finite vi > 0")
        self.k = k
        self.n_studies = int(y.size)
        if cells is None:
            lv = np.log(v)
            spread = float(np.var(y)) if y.size > 1 else 0.0
            upper = math.log(max(float(v.max()), spread)) + 8.0
            cells = Cells.span(float(lv.min()) - 12.0, upper, step)
        self.cells = cells
        starts = np.concatenate([[0], np.cumsum(k)[:-1]])
        index = np.repeat(np.arange(k.size), k)
        J, C = k.size, cells.mids.size
        self.A = np.empty((J, C))
        self.mu_hat = np.empty((J, C))
        self.var_hat = np.empty((J, C))
        tau2 = np.exp(cells.mids)
        for c0 in range(0, C, block):
            t2 = tau2[c0 : c0 + block]
            tot = v[:, None] + t2[None, :]
            w = 1.0 / tot
            S = np.add.reduceat(w, starts, axis=0)
            mh = np.add.reduceat(w * y[:, None], starts, axis=0) / S
            Q = np.add.reduceat(w * (y[:, None] - mh[index]) ** 2, starts, axis=0)
            logdet = np.add.reduceat(np.log(tot), starts, axis=0)
            kk = k[:, None]
            self.A[:, c0 : c0 + block] = -0.5 * (kk * LOG2PI + logdet + Q + np.log(S) - LOG2PI)
            self.mu_hat[:, c0 : c0 + block] = mh
            self.var_hat[:, c0 : c0 + block] = 1.0 / S

    @property
    def n_analyses(self) -> int:
        return int(self.k.size)

    def rows(self, idx: np.ndarray) -> AnalysisTables:
        """The tables of the analyses ``idx`` (same cells)."""
        out = object.__new__(AnalysisTables)
        out.k, out.cells = self.k[idx], self.cells
        out.n_studies = int(out.k.sum())
        out.A, out.mu_hat, out.var_hat = self.A[idx], self.mu_hat[idx], self.var_hat[idx]
        return out

    def log_marginal(self, m: np.ndarray, s: np.ndarray, a: np.ndarray, b: np.ndarray,
                     nu: float | None = None) -> np.ndarray:  # fmt: skip
        """log p(y_j | m, s, a, b) for each hyperparameter row d and analysis j: (D, J).

        u = log(tau_j^2) ~ N(m, s^2) (or t_nu), mu_j ~ N(a, b^2).
        """
        m, s, a, b = (np.atleast_1d(np.asarray(x, dtype=float)) for x in (m, s, a, b))
        lw = cell_logprob(self.cells.edges, m, s, nu)  # (D, C)
        out = np.empty((m.size, self.n_analyses))
        for d in range(m.size):
            var = self.var_hat + b[d] ** 2
            ll = self.A - 0.5 * (LOG2PI + np.log(var) + (self.mu_hat - a[d]) ** 2 / var)
            out[d] = special.logsumexp(ll + lw[d][None, :], axis=1)
        return out

    def log_restricted(self, cell_prob: np.ndarray) -> np.ndarray:
        """log of the restricted (mu-free) likelihood averaged over a prior for tau given by its
        probability of each cell: ``log sum_c p_c exp(A_jc + log(k_j)/2)``, shape (J,).

        The held-out score of a tau prior: the density of each analysis's k - 1 contrasts
        (0 for k = 1).
        """
        with np.errstate(divide="ignore"):
            lp = np.log(np.asarray(cell_prob, dtype=float))
        out = special.logsumexp(self.A + lp[None, :], axis=1) + 0.5 * np.log(self.k)
        return np.where(self.k > 1, out, 0.0)

    def tau_posterior_median(self, cell_prob: np.ndarray) -> np.ndarray:
        """Median of tau_j's posterior under a tau prior (cell probabilities) and a flat mu,
        interpolated within its cell on the log scale; shape (J,)."""
        with np.errstate(divide="ignore"):
            lp = np.log(np.asarray(cell_prob, dtype=float))
        post = self.A + lp[None, :]
        post = np.exp(post - post.max(axis=1, keepdims=True))
        cdf = np.cumsum(post, axis=1)
        cdf /= cdf[:, -1:]
        c = np.argmax(cdf >= 0.5, axis=1)
        return np.exp(0.5 * self.cells.mids[c])


def prior_cell_prob(prior: Prior, cells: Cells) -> np.ndarray:
    """Probability of each cell of u = log(tau^2) under a proper tau `Prior` (its cdf).

    Examples:
        >>> from bayesmeta.empirical.likelihood import Cells, prior_cell_prob
        >>> from bayesmeta.priors import parse_prior
        >>> p = prior_cell_prob(parse_prior("tau2lognormal(-1, 1)", "tau"), Cells.span(-3, 1, 1))
        >>> p.round(4).tolist()
        [0.1587, 0.3413, 0.3413, 0.1587]
    """
    cdf = np.array(prior.cdf(cells.tau_edges), dtype=np.float64)
    cdf[0], cdf[-1] = 0.0, 1.0
    return np.maximum(np.diff(cdf), 0.0)


__all__ = ["AnalysisTables", "Cells", "cell_logprob", "prior_cell_prob"]
