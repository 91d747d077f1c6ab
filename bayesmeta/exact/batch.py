"""The exact normal-normal posterior of many meta-analyses at once (`batch_posterior`).

The same computation as `bayesmeta.exact.NormalNormal`, done for a batch of analyses in
lockstep on arrays: analyses are grouped by their number of studies k, and every step of
the single-analysis engine runs on all analyses of a group together:

* l(u) = log p(e^u) + log L(e^u) + u on u = log tau, L the likelihood with mu integrated
  out (a normal mu prior enters as one more term whose variance does not grow with tau);
* the mode of l from the same scan and bracketed search, its curvature, and the same walk of
  Gauss-Legendre panels outwards from it (widths halved where l changes by > 12, widened by
  1.6 where it changes by < 4, stopped 46 below the maximum; looser rules in the far tails),
  so each analysis gets the nodes the single engine would give it;
* mu and theta_new as normal mixtures over those nodes, their quantiles by Newton steps in a
  bisection bracket; tau quantiles by Newton steps on the panel cdf.

Tau priors: half-normal and half-Cauchy with one scale per analysis (the package's default
priors), or any `bayesmeta.priors.Prior` shared by the analyses given it. Mu priors: flat, or
normal with a mean and SD per analysis.

Examples:
    >>> import numpy as np
    >>> from bayesmeta.exact import NormalNormal
    >>> from bayesmeta.exact.batch import TauPriors, batch_posterior
    >>> y = [np.array([0.1, 0.5, 0.2]), np.array([-1.0, -0.2])]
    >>> s = [np.array([0.1, 0.2, 0.3]), np.array([0.4, 0.3])]
    >>> out = batch_posterior(y, s, TauPriors.halfnormal([0.5, 0.5]))
    >>> one = NormalNormal(y[1], s[1], "halfnormal(0.5)")
    >>> bool(np.isclose(out["mu_median"][1], one.mu.median, rtol=1e-10))
    True
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import special

from bayesmeta.errors import InputError
from bayesmeta.exact.averaging import _log_fixed
from bayesmeta.exact.mixture import bracketed_newton
from bayesmeta.exact.quadrature import TAU_MAX, TAU_MIN, _gauss_legendre
from bayesmeta.priors import Prior, parse_prior

_LOG_2PI = math.log(2 * math.pi)
_LOG_SQRT_2PI = 0.5 * _LOG_2PI
_DROP, _STEEP, _FLAT, _FAR, _STEEP_TAIL, _FLAT_TAIL = 46.0, 12.0, 4.0, 15.0, 30.0, 12.0
_CELLS = 1 << 22  # (analysis, node, study) cells per block: memory stays bounded
KEYS = (
    "mu_median", "mu_low", "mu_high",
    "tau_median", "tau_low", "tau_high",
    "theta_new_low", "theta_new_high", "p_mu_gt_0", "log_marginal_likelihood",
)  # fmt: skip


@dataclass(frozen=True)
class TauPriors:
    """Tau priors of a batch: ``family`` "halfnormal" or "halfcauchy" with ``scale`` per
    analysis, or "prior": one `Prior` for all.

    Examples:
        >>> from bayesmeta.exact.batch import TauPriors
        >>> p = TauPriors.halfcauchy([1.0, 2.0])
        >>> p.text(1)
        'halfcauchy(2)'
    """

    family: str
    scale: np.ndarray
    prior: Prior | None = None

    @classmethod
    def halfnormal(cls, scale: Any) -> TauPriors:
        """Half-normal priors with these scales (one per analysis)."""
        return cls("halfnormal", _scales(scale))

    @classmethod
    def halfcauchy(cls, scale: Any) -> TauPriors:
        """Half-Cauchy priors with these scales (one per analysis)."""
        return cls("halfcauchy", _scales(scale))

    @classmethod
    def shared(cls, prior: str | Prior, n: int) -> TauPriors:
        """One prior (text or `Prior`) for ``n`` analyses; data-bound priors are refused."""
        p = parse_prior(prior, "tau") if isinstance(prior, str) else prior
        if p.needs_data:
            raise InputError(f"tau prior {p.text} depends on each analysis's data")
        return cls("prior", np.ones(n), p)

    def text(self, i: int) -> str:
        """The prior of analysis ``i`` as the prior grammar writes it."""
        if self.prior is not None:
            return self.prior.text
        return f"{self.family}({float(self.scale[i]):.6g})"

    def take(self, rows: np.ndarray) -> TauPriors:
        return TauPriors(self.family, self.scale[rows], self.prior)

    def logpdf(self, tau: np.ndarray) -> np.ndarray:
        """log density at ``tau`` (B, N); rows are analyses."""
        if self.prior is not None:
            return np.asarray(self.prior.logpdf(tau), float)
        c = self.scale[:, None]
        z = tau / c
        with np.errstate(divide="ignore", invalid="ignore"):
            if self.family == "halfnormal":
                out = math.log(2.0) - _LOG_SQRT_2PI - np.log(c) - 0.5 * z * z
            else:
                out = math.log(2.0 / math.pi) - np.log(c) - np.log1p(z * z)
        return np.where(tau >= 0, out, -np.inf)

    def seeds(self) -> np.ndarray:
        """(B, 3) prior quantiles 0.1 %, 50 %, 99.9 % (the single engine's mode-search seeds)."""
        p = np.array([1e-3, 0.5, 0.999])
        if self.prior is not None:
            q = np.asarray(self.prior.ppf(p), float) if self.prior.proper else np.full(3, np.nan)
            return np.tile(q, (self.scale.size, 1))
        if self.family == "halfnormal":
            q = math.sqrt(2.0) * special.erfinv(p)
        else:
            q = np.tan(0.5 * math.pi * p)
        return self.scale[:, None] * q[None, :]

    def support(self) -> tuple[float, float]:
        return self.prior.support if self.prior is not None else (0.0, math.inf)


def _scales(scale: Any) -> np.ndarray:
    c = np.atleast_1d(np.asarray(scale, float))
    if not np.all(np.isfinite(c) & (c > 0)):
        raise InputError("tau prior scales must be finite and > 0")
    return c


def batch_posterior(
    yi: Sequence[Any],
    sei: Sequence[Any],
    tau_priors: TauPriors,
    mu_mean: Any = None,
    mu_sd: Any = None,
    *,
    level: float = 0.95,
    order: int = 12,
    evidence_only: bool = False,
    averaging_sd: Any = None,
) -> dict[str, np.ndarray]:
    """Exact posteriors of many analyses (module docstring); one entry per analysis.

    Args:
        yi: per analysis, the study estimates (any lengths >= 1).
        sei: per analysis, their standard errors.
        tau_priors: `TauPriors` for the analyses.
        mu_mean: the mean of a normal mu prior per analysis (nan or None: flat).
        mu_sd: its SD per analysis (nan or None: flat).
        level: interval level (central intervals).
        order: Gauss-Legendre points per panel (as the single engine's default).
        evidence_only: compute only ``log_marginal_likelihood`` (the rest nan).
        averaging_sd: with a flat mu prior, also ``log_evidence_normal``: log p(y) of the
            model with mu ~ N(0, averaging_sd^2) (one SD per analysis), from the same nodes:
            given tau, integrating mu against N(0, sd^2) instead of the flat prior multiplies
            p(y | tau) by N(0 | M(tau), V(tau) + sd^2), so the evidence is the flat p(y) times
            the posterior mean of that factor (smooth in tau for a proper, not too narrow
            prior; equal to the direct quadrature to 1e-8 in the tests).

    Returns:
        ``{key: array}`` for `KEYS`: mu median and interval; tau median and interval; the
        predictive interval of theta_new; P(mu > 0); and log p(y) (nan with a flat mu
        prior).

    Examples:
        >>> import numpy as np
        >>> from bayesmeta.exact import NormalNormal
        >>> from bayesmeta.exact.batch import TauPriors, batch_posterior
        >>> y, s = [np.array([0.1, 0.5, 0.2])], [np.array([0.1, 0.2, 0.3])]
        >>> out = batch_posterior(y, s, TauPriors.halfcauchy([0.3]), [0.0], [1.0])
        >>> one = NormalNormal(y[0], s[0], "halfcauchy(0.3)", "normal(0, 1)")
        >>> bool(np.isclose(out["tau_high"][0], one.tau.quantile(0.975), rtol=1e-10))
        True
    """
    n = len(yi)
    if len(sei) != n or tau_priors.scale.size != n:
        raise InputError("yi, sei and the tau priors must have one entry per analysis")
    m0 = np.full(n, np.nan) if mu_mean is None else np.asarray(mu_mean, float)
    s0 = np.full(n, np.nan) if mu_sd is None else np.asarray(mu_sd, float)
    out = {key: np.full(n, np.nan) for key in (*KEYS, "log_evidence_normal")}
    flat = ~np.isfinite(s0)
    for r, y, s in _blocks(yi, sei, flat):
        is_flat = bool(flat[r[0]])
        g = _Group(y, s, tau_priors.take(r), m0[r], s0[r], is_flat, order)
        if evidence_only:
            out["log_marginal_likelihood"][r] = np.nan if is_flat else g.log_norm
            continue
        res = g.summary(level)
        for key in KEYS:
            out[key][r] = res[key]
        if is_flat and averaging_sd is not None:
            out["log_evidence_normal"][r] = g.log_evidence_normal(
                np.zeros(r.size), np.asarray(averaging_sd, float)[r]
            )
    return out


def _blocks(
    yi: Sequence[Any], sei: Sequence[Any], kind: np.ndarray
) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """(rows, y, s) of analyses with the same k and the same ``kind``, as (B, k) arrays in
    blocks of bounded size (memory O(k x nodes) per analysis, not for the whole batch)."""
    k = np.array([np.size(v) for v in yi])
    for kk in np.unique(k):
        for kd in np.unique(kind):
            rows = np.flatnonzero((k == kk) & (kind == kd))
            step = max(1, _CELLS // (64 * (int(kk) + 1) * 12))
            for start in range(0, rows.size, step):
                r = rows[start : start + step]
                y = np.array([np.asarray(yi[i], float) for i in r]).reshape(r.size, int(kk))
                s = np.array([np.asarray(sei[i], float) for i in r]).reshape(r.size, int(kk))
                yield r, y, s


def batch_log_evidence_mu(
    yi: Sequence[Any], sei: Sequence[Any], tau_priors: TauPriors, mu: Any = 0.0, *,
    order: int = 12,
) -> np.ndarray:  # fmt: skip
    """log integral p(tau) prod_i N(y_i | mu, s_i^2 + tau^2) dtau per analysis (mu known;
    the "random effects, no effect" model of `bayesmeta.exact.averaging` with mu = 0), as
    `NormalNormal` computes it; the tau priors must be proper.

    Examples:
        >>> import numpy as np
        >>> from bayesmeta.exact import NormalNormal
        >>> from bayesmeta.exact.batch import TauPriors, batch_log_evidence_mu
        >>> y, s = [np.array([0.1, 0.3, 0.5])], [np.array([0.1, 0.2, 0.15])]
        >>> got = batch_log_evidence_mu(y, s, TauPriors.halfnormal([0.5]))[0]
        >>> bool(np.isclose(got, NormalNormal(y[0], s[0], "halfnormal(0.5)")._log_lik_mu(0.0)))
        True
    """
    n = len(yi)
    mus = np.broadcast_to(np.asarray(mu, float), (n,))
    out = np.full(n, np.nan)
    for r, y, s in _blocks(yi, sei, np.zeros(n, bool)):
        g = _Group(y, s, tau_priors.take(r), mus[r], mus[r], False, order, mu_fixed=mus[r])
        out[r] = g.log_norm
    return out


def fixed_evidence(yi: Sequence[Any], sei: Sequence[Any], mu_mean: Any, mu_sd: Any) -> np.ndarray:
    """(n, 2) log p(y) of the fixed-effect models: mu = 0, and mu ~ N(mu_mean, mu_sd^2)
    (closed forms, as `bayesmeta.exact.averaging`).

    Examples:
        >>> from bayesmeta.exact.batch import fixed_evidence
        >>> fixed_evidence([[0.0]], [[1.0]], [0.0], [0.0]).round(6).tolist()
        [[-0.918939, -0.918939]]
    """
    m0, s0 = np.asarray(mu_mean, float), np.asarray(mu_sd, float)
    out = np.empty((len(yi), 2))
    for i in range(len(yi)):  # closed forms: cheap
        y, s2 = np.asarray(yi[i], float), np.asarray(sei[i], float) ** 2
        out[i, 0] = float(np.sum(-0.5 * (_LOG_2PI + np.log(s2) + y**2 / s2)))
        out[i, 1] = _log_fixed(y, s2, float(m0[i]), float(s0[i]) ** 2)
    return out


def average(logm: np.ndarray) -> dict[str, np.ndarray]:
    """Equal prior probabilities on the four models whose log evidences are the columns of
    ``logm`` (fixed/no effect, fixed/effect, random/no effect, random/effect): posterior
    probabilities of an effect and of heterogeneity, and the inclusion Bayes factors.

    Examples:
        >>> import numpy as np
        >>> from bayesmeta.exact.batch import average
        >>> average(np.log([[1.0, 3.0, 1.0, 3.0]]))["bf_effect"].tolist()
        [3.0]
    """
    post = np.exp(logm - special.logsumexp(logm, axis=1, keepdims=True))
    with np.errstate(divide="ignore", invalid="ignore"):
        bf_e = (post[:, 1] + post[:, 3]) / (post[:, 0] + post[:, 2])
        bf_h = (post[:, 2] + post[:, 3]) / (post[:, 0] + post[:, 1])
    return {"p_effect": post[:, 1] + post[:, 3], "p_heterogeneity": post[:, 2] + post[:, 3],
            "bf_effect": bf_e, "bf_heterogeneity": bf_h}  # fmt: skip


def batch_model_average(
    yi: Sequence[Any], sei: Sequence[Any], tau_priors: TauPriors, mu_mean: Any, mu_sd: Any,
) -> dict[str, np.ndarray]:  # fmt: skip
    """`bayesmeta.exact.averaging.model_average` with equal prior model probabilities, for
    many analyses: posterior probabilities of an effect (``p_effect``) and of heterogeneity
    (``p_heterogeneity``), and the inclusion Bayes factors (``bf_effect``,
    ``bf_heterogeneity``); normal mu priors N(mu_mean, mu_sd^2), proper tau priors.

    Examples:
        >>> import numpy as np
        >>> from bayesmeta.exact.averaging import model_average
        >>> from bayesmeta.exact.batch import TauPriors, batch_model_average
        >>> y, s = [np.array([0.1, 0.3, 0.5])], [np.array([0.1, 0.2, 0.15])]
        >>> got = batch_model_average(y, s, TauPriors.halfnormal([0.5]), [0.0], [1.0])
        >>> ma = model_average(y[0], s[0], mu_prior="normal(0, 1)", tau_prior="halfnormal(0.5)")
        >>> bool(np.isclose(got["bf_effect"][0], ma.bf_effect, rtol=1e-10))
        True
    """
    logm = np.empty((len(yi), 4))
    logm[:, :2] = fixed_evidence(yi, sei, mu_mean, mu_sd)
    logm[:, 2] = batch_log_evidence_mu(yi, sei, tau_priors, 0.0)
    logm[:, 3] = batch_posterior(yi, sei, tau_priors, mu_mean, mu_sd, evidence_only=True)[
        "log_marginal_likelihood"
    ]
    return average(logm)


class _Group:
    """Analyses with the same k and the same kind of mu prior, computed in lockstep."""

    def __init__(self, y: np.ndarray, s: np.ndarray, prior: TauPriors, m0: np.ndarray,
                 s0: np.ndarray, flat: bool, order: int,
                 mu_fixed: np.ndarray | None = None) -> None:  # fmt: skip
        if not (np.all(np.isfinite(y)) and np.all(np.isfinite(s)) and np.all(s > 0)):
            raise InputError("every yi must be finite and every sei finite and > 0")
        self.B, self.k = y.shape
        self.flat, self.prior, self.order = flat, prior, order
        self.mu_fixed = mu_fixed
        if mu_fixed is not None:  # mu known: p(y | tau) = prod N(y_i | mu, s_i^2 + tau^2)
            self.yt, self.st2 = y - mu_fixed[:, None], s**2
            y = np.concatenate([y, mu_fixed[:, None]], axis=1)  # the mode-search seeds
        elif flat:
            self.yt, self.st2 = y, s**2
        else:
            self.yt = np.concatenate([y, m0[:, None]], axis=1)
            self.st2 = np.concatenate([s**2, s0[:, None] ** 2], axis=1)
        lo, hi = prior.support()
        self.ulo, self.uhi = math.log(max(lo, TAU_MIN)), math.log(min(hi, TAU_MAX))
        self._build(y, s)

    # ---- l(u) --------------------------------------------------------------------------
    def _terms(self, t2: np.ndarray, rows: Any = slice(None)) -> tuple[np.ndarray, np.ndarray]:
        st2 = self.st2[rows]
        v = st2[:, None, :] + t2[:, :, None]
        if not self.flat and self.mu_fixed is None:
            v[:, :, -1] = st2[:, None, -1]
        return v, 1.0 / v

    def loglik(self, tau: np.ndarray, rows: Any = slice(None)) -> np.ndarray:
        """log L(tau) (B, N), as `NormalNormal.log_likelihood` (mu integrated out), or with
        mu known, as `NormalNormal._log_lik_mu`."""
        v, iv = self._terms(tau**2, rows)
        yt = self.yt[rows]
        if self.mu_fixed is not None:
            rss = (yt[:, None, :] ** 2 * iv).sum(axis=-1)
            return -0.5 * (yt.shape[1] * _LOG_2PI + np.log(v).sum(axis=-1) + rss)
        p = iv.sum(axis=-1)
        m = np.einsum("bnj,bj->bn", iv, yt) / p
        rss = ((yt[:, None, :] - m[..., None]) ** 2 * iv).sum(axis=-1)
        n = yt.shape[1]
        return -0.5 * ((n - 1) * _LOG_2PI + np.log(v).sum(axis=-1) + rss + np.log(p))

    def ell(self, u: np.ndarray, rows: Any = slice(None)) -> np.ndarray:
        prior = self.prior if isinstance(rows, slice) else self.prior.take(rows)
        with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
            t = np.exp(u)
            out = prior.logpdf(t) + self.loglik(t, rows) + u
        return np.where(np.isnan(out), -np.inf, out)

    def _ell_rows(self, rows: np.ndarray, u: np.ndarray) -> np.ndarray:
        """l at one u per listed row (rows: indices into the group)."""
        return self.ell(u[:, None], rows)[:, 0]

    # ---- panels --------------------------------------------------------------------------
    def _build(self, y: np.ndarray, s: np.ndarray) -> None:
        B = self.B
        seeds = [s.min(axis=1), s.max(axis=1)]
        ptp = np.ptp(y, axis=1) if self.k > 1 else np.zeros(B)
        seeds.append(np.where(ptp > 0, ptp, np.nan))
        q = self.prior.seeds()
        seeds += [np.where((q[:, j] > 0) & np.isfinite(q[:, j]), q[:, j], np.nan) for j in
                  range(3)]  # fmt: skip
        lo_s, hi_s = self.prior.support()
        for v in (lo_s, hi_s):
            if 0 < v < np.inf:
                seeds.append(np.full(B, v))
        sd = np.column_stack(seeds)
        a = np.maximum(self.ulo, np.log(np.nanmin(sd, axis=1)) - 10.0)
        b = np.minimum(self.uhi, np.log(np.nanmax(sd, axis=1)) + 6.0)
        bad = ~(a < b)
        a, b = np.where(bad, self.ulo, a), np.where(bad, self.uhi, b)
        npts = np.maximum(21, np.ceil((b - a) / 0.5).astype(int) + 1)
        # per row its own grid (as the single engine), padded to the longest
        G = int(npts.max())
        frac = np.minimum(np.arange(G)[None, :] / (npts[:, None] - 1), 1.0)
        grid = a[:, None] + frac * (b - a)[:, None]
        vals = self.ell(grid)
        vals = np.where(np.arange(G)[None, :] < npts[:, None], vals, -np.inf)
        j = np.argmax(vals, axis=1)
        # the single engine extends the scan while the maximum sits on an open edge
        rows = np.arange(B)
        left_edge = (j == 0) & (grid[:, 0] > self.ulo)
        right_edge = (j == npts - 1) & (grid[rows, npts - 1] < self.uhi)
        if left_edge.any() or right_edge.any():
            grid, vals, j, npts = self._extend(grid, vals, j, npts, left_edge, right_edge)
        if not np.all(np.isfinite(vals[rows, j])):
            raise InputError("the posterior of tau is zero everywhere (check data and priors)")
        left = grid[rows, np.maximum(j - 1, 0)]
        right = grid[rows, np.minimum(j + 1, npts - 1)]
        ustar, lstar = self._maximise(left, right, grid[rows, j], vals[rows, j])
        h = 1e-3
        lm = self.ell((ustar - h)[:, None])[:, 0]
        lp = self.ell((ustar + h)[:, None])[:, 0]
        curv = (lm - 2.0 * lstar + lp) / h**2
        ok = np.isfinite(curv) & (curv < -1e-12)
        sigma = np.where(ok, 1.0 / np.sqrt(np.where(ok, -curv, 1.0)), 1.0)
        w0 = np.minimum(1.0, np.maximum(1.2 * sigma, 1e-7))
        right_e = self._walk(ustar, lstar, w0, self.uhi, +1.0)
        left_e = self._walk(ustar, lstar, w0, self.ulo, -1.0)
        edges = _canonical(np.concatenate([left_e[:, ::-1], ustar[:, None], right_e], axis=1))
        x, w = _gauss_legendre(self.order)
        half = 0.5 * np.diff(edges, axis=1)  # (B, P); padded panels have width 0
        mid = 0.5 * (edges[:, 1:] + edges[:, :-1])
        nodes = (mid[:, :, None] + half[:, :, None] * x[None, None, :]).reshape(B, -1)
        with np.errstate(divide="ignore"):
            lw = self.ell(nodes) + np.log((half[:, :, None] * w[None, None, :]).reshape(B, -1))
        lw = np.where(np.repeat(half > 0, self.order, axis=1), lw, -np.inf)
        self.log_norm = _logsumexp(lw)
        if not np.all(np.isfinite(self.log_norm)):
            raise InputError("could not normalise the posterior of tau")
        self.weights = np.exp(lw - self.log_norm[:, None])
        self.edges, self.nodes_u, self.nodes = edges, nodes, np.exp(nodes)
        pm = self.weights.reshape(B, -1, self.order).sum(axis=2)
        self.panel_mass = pm
        self.cum = np.concatenate([np.zeros((B, 1)), np.cumsum(pm, axis=1)], axis=1)
        self.rcum = np.concatenate(
            [np.cumsum(pm[:, ::-1], axis=1)[:, ::-1], np.zeros((B, 1))], axis=1
        )

    def _extend(self, grid: np.ndarray, vals: np.ndarray, j: np.ndarray, npts: np.ndarray,
                left: np.ndarray, right: np.ndarray) -> tuple[np.ndarray, ...]:  # fmt: skip
        """Rows whose maximum is on a scan edge: extend them one at a time, as the single
        engine does (rare: priors or data far from the seeds)."""
        glist = [grid[i, : npts[i]] for i in range(self.B)]
        vlist = [vals[i, : npts[i]] for i in range(self.B)]
        for i in np.flatnonzero(left | right):
            g, v = list(glist[i]), list(vlist[i])
            for side in (0, -1):
                step = 1.0
                while int(np.argmax(v)) == (0 if side == 0 else len(g) - 1):
                    edge = g[side]
                    if (side == 0 and edge <= self.ulo) or (side == -1 and edge >= self.uhi):
                        break
                    new = edge - step if side == 0 else edge + step
                    new = max(new, self.ulo) if side == 0 else min(new, self.uhi)
                    val = float(self._ell_rows(np.array([i]), np.array([new]))[0])
                    if side == 0:
                        g.insert(0, new)
                        v.insert(0, val)
                    else:
                        g.append(new)
                        v.append(val)
                    step *= 2.0
            glist[i], vlist[i] = np.array(g), np.array(v)
        npts = np.array([g.size for g in glist])
        G = int(npts.max())
        grid = np.array([np.pad(g, (0, G - g.size), mode="edge") for g in glist])
        vals = np.array([np.pad(v, (0, G - v.size), constant_values=-np.inf) for v in vlist])
        return grid, vals, np.argmax(vals, axis=1), npts

    def _maximise(self, left: np.ndarray, right: np.ndarray, ug: np.ndarray,
                  lg: np.ndarray) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
        """The maximum of l in [left, right] per row by golden-section search (to ~1e-12),
        kept only where it beats the grid point (as the single engine keeps its grid max)."""
        a, b = left.copy(), right.copy()
        g = (math.sqrt(5.0) - 1.0) / 2.0
        c, d = b - g * (b - a), a + g * (b - a)
        fc = self.ell(c[:, None])[:, 0]
        fd = self.ell(d[:, None])[:, 0]
        live = b - a > 1e-10  # rows stop on their own: results do not depend on the batch
        for _ in range(80):
            if not live.any():
                break
            move = fc > fd  # the maximum is in [a, d]
            nb = np.where(move, d, b)
            na = np.where(move, a, c)
            nd = np.where(move, c, na + g * (nb - na))
            nc = np.where(move, nb - g * (nb - na), d)
            need = np.where(move, nc, nd)
            fnew = self.ell(need[:, None])[:, 0]
            nfc = np.where(move, fnew, fd)
            nfd = np.where(move, fc, fnew)
            a, b = np.where(live, na, a), np.where(live, nb, b)
            c, d = np.where(live, nc, c), np.where(live, nd, d)
            fc, fd = np.where(live, nfc, fc), np.where(live, nfd, fd)
            live &= b - a > 1e-10
        u = 0.5 * (a + b)
        lu = self.ell(u[:, None])[:, 0]
        better = (lu >= lg) & (right > left)
        return np.where(better, u, ug), np.where(better, lu, lg)

    def _walk(self, u0: np.ndarray, l0: np.ndarray, w0: np.ndarray, cap: float,
              sign: float) -> np.ndarray:  # fmt: skip
        """The single engine's panel walk, all rows in lockstep; (B, P) edges padded with
        the last edge (zero-width panels)."""
        B = self.B
        a, la, w = u0.copy(), l0.copy(), w0.copy()
        lstar = l0
        active = (cap - a) * sign > 1e-12
        cols: list[np.ndarray] = []
        last = a.copy()
        while active.any():
            rows = np.flatnonzero(active)
            b = a[rows] + sign * w[rows]
            b = np.where((b - cap) * sign >= 0, cap, b)
            lb = self._ell_rows(rows, b)
            dl = np.where(np.isfinite(lb), np.abs(lb - la[rows]), np.inf)
            tail = la[rows] < lstar[rows] - _FAR
            halve = (dl > np.where(tail, _STEEP_TAIL, _STEEP)) & (w[rows] > w0[rows] / 64)
            if halve.any():
                w[rows[halve]] *= 0.5
            acc = ~halve
            col = last.copy()
            ra = rows[acc]
            col[ra] = b[acc]
            stop = (b[acc] == cap) | (lb[acc] < lstar[ra] - _DROP)
            widen = ~stop & (dl[acc] < np.where(tail[acc], _FLAT_TAIL, _FLAT))
            w[ra[widen]] = np.minimum(w[ra[widen]] * 1.6, 64.0)
            a[ra], la[ra] = b[acc], lb[acc]
            active[ra[stop]] = False
            if acc.any():
                cols.append(col)
                last = col
        if not cols:
            return np.zeros((B, 0))
        # rows that accepted no edge in a round keep the previous one: fill forward
        return np.column_stack(cols)

    # ---- summaries -------------------------------------------------------------------
    def conditional(self) -> tuple[np.ndarray, np.ndarray]:
        """M(tau), V(tau) of mu | tau, y at the nodes (B, N)."""
        _, iv = self._terms(self.nodes**2)
        p = iv.sum(axis=-1)
        return np.einsum("bnj,bj->bn", iv, self.yt) / p, 1.0 / p

    def _log_mean(self, logf: np.ndarray) -> np.ndarray:
        """log E[f(tau) | y] from log f at the nodes."""
        with np.errstate(divide="ignore"):
            return _logsumexp(np.log(self.weights) + logf)

    def log_evidence_normal(self, m0: np.ndarray, s0: np.ndarray) -> np.ndarray:
        """log p(y) under mu ~ N(m0, s0^2) from this flat-prior posterior."""
        m, v = self.conditional()
        var = v + (s0**2)[:, None]
        log_n = -0.5 * (_LOG_2PI + np.log(var) + (m0[:, None] - m) ** 2 / var)
        return self.log_norm + self._log_mean(log_n)

    def summary(self, level: float) -> dict[str, np.ndarray]:
        m, v = self.conditional()
        w = self.weights
        sd_mu = np.sqrt(v)
        sd_new = np.sqrt(v + self.nodes**2)
        lo_p, hi_p = (1.0 - level) / 2.0, (1.0 + level) / 2.0
        mu_q = [_mixture_quantile(w, m, sd_mu, p) for p in (0.5, lo_p, hi_p)]
        new_q = [_mixture_quantile(w, m, sd_new, p) for p in (lo_p, hi_p)]
        tau_q = [self.tau_quantile(p) for p in (0.5, lo_p, hi_p)]
        p_gt = _seqsum(w * special.ndtr(m / sd_mu))
        return {
            "mu_median": mu_q[0], "mu_low": mu_q[1],
            "mu_high": mu_q[2], "tau_median": tau_q[0], "tau_low": tau_q[1],
            "tau_high": tau_q[2], "theta_new_low": new_q[0], "theta_new_high": new_q[1],
            "p_mu_gt_0": np.clip(p_gt, 0.0, 1.0),
            "log_marginal_likelihood": np.full(self.B, np.nan) if self.flat else self.log_norm,
        }  # fmt: skip

    def _partial(self, u: np.ndarray, idx: np.ndarray) -> np.ndarray:
        """Posterior mass between the left edge of panel ``idx`` and u, per row."""
        B = self.B
        a = self.edges[np.arange(B), idx]
        half = 0.5 * (u - a)
        x, w = _gauss_legendre(self.order)
        nodes = a[:, None] + half[:, None] * (x[None, :] + 1.0)
        return (np.exp(self.ell(nodes) - self.log_norm[:, None]) * w).sum(axis=1) * half

    def tau_quantile(self, p: float) -> np.ndarray:
        """Newton steps in u on the panel cdf inside the bracketing panel (as TauPosterior)."""
        B = self.B
        rows = np.arange(B)
        P = self.edges.shape[1] - 1
        idx = np.clip((self.cum <= p).sum(axis=1) - 1, 0, P - 1)
        lo, hi = self.edges[rows, idx].copy(), self.edges[rows, idx + 1].copy()
        frac = (p - self.cum[rows, idx]) / np.maximum(self.panel_mass[rows, idx], 1e-300)
        u = lo + np.clip(frac, 0.0, 1.0) * (hi - lo)
        cw = np.cumsum(self.weights, axis=1) - 0.5 * self.weights
        jn = np.clip((cw <= p).sum(axis=1), 1, cw.shape[1] - 1)  # np.interp, row by row
        c0, c1 = cw[rows, jn - 1], cw[rows, jn]
        x0, x1 = self.nodes_u[rows, jn - 1], self.nodes_u[rows, jn]
        with np.errstate(divide="ignore", invalid="ignore"):
            un = np.where(c1 > c0, x0 + (p - c0) / (c1 - c0) * (x1 - x0), x0)
        un = np.where(p <= cw[:, 0], self.nodes_u[:, 0], un)
        inside = (un > lo) & (un < hi)
        u = np.where(inside, un, u)
        upper = p > 0.5
        live = np.ones(B, bool)
        for _ in range(100):
            j = np.clip((self.edges <= u[:, None]).sum(axis=1) - 1, 0, P - 1)
            part = self._partial(u, j)
            if upper:
                sf = self.rcum[rows, j + 1] + (self.panel_mass[rows, j] - part)
                g = (1.0 - p) - sf
            else:
                g = self.cum[rows, j] + part - p
            pos = g > 0
            hi = np.where(pos, u, hi)
            lo = np.where(pos, lo, u)
            dens = np.exp(self.ell(u[:, None])[:, 0] - self.log_norm)
            with np.errstate(divide="ignore", invalid="ignore"):
                nxt = u - g / dens
            bad = ~((nxt >= lo) & (nxt <= hi))
            nxt = np.where(bad, 0.5 * (lo + hi), nxt)
            done = (np.abs(nxt - u) <= 1e-14 * (1.0 + np.abs(u))) | (g == 0)
            u = np.where(live, nxt, u)  # a converged row keeps its value
            live &= ~done
            if not live.any():
                break
        return np.exp(u)


def _seqsum(x: np.ndarray) -> np.ndarray:
    """Row sums added left to right: a row's trailing zeros (padding) leave its sum as it
    is, so a result does not depend on the other analyses of its batch."""
    return np.cumsum(x, axis=1)[:, -1]


def _logsumexp(x: np.ndarray) -> np.ndarray:
    m = x.max(axis=1)
    with np.errstate(invalid="ignore"):
        return np.log(_seqsum(np.exp(x - m[:, None]))) + m


def _canonical(edges: np.ndarray) -> np.ndarray:
    """Each row's distinct edges in order (the rows are sorted, repeats adjacent), padded at
    the end with its last edge, so the panels of an analysis sit at the same positions
    whatever else is in the batch."""
    keep = np.ones(edges.shape, bool)
    keep[:, 1:] = np.diff(edges, axis=1) != 0
    pos = np.cumsum(keep, axis=1) - 1
    width = int(pos[:, -1].max()) + 1
    out = np.empty((edges.shape[0], width))
    r, c = np.nonzero(keep)
    out[r, pos[r, c]] = edges[r, c]
    last = pos[:, -1]
    fill = np.arange(width)[None, :] > last[:, None]
    return np.where(fill, out[np.arange(edges.shape[0]), last][:, None], out)


def _mixture_quantile(w: np.ndarray, m: np.ndarray, s: np.ndarray, p: float) -> np.ndarray:
    """Solve sum_j w_j Phi((x - m_j)/s_j) = p per row: Newton inside a bisection bracket;
    rows leave the iteration as they converge, components below 1e-18 of a row's largest
    weight are dropped (as `bayesmeta.exact.mixture.NormalMixture` prunes)."""
    w = np.where(w > 1e-18 * w.max(axis=1, keepdims=True), w, 0.0)
    z = special.ndtri(p)
    q = m + s * z
    lo = np.where(w > 0, q, np.inf).min(axis=1)
    hi = np.where(w > 0, q, -np.inf).max(axis=1)
    x = _seqsum(q * w) / _seqsum(w)
    scale = np.where(w > 0, s, np.inf).min(axis=1)
    upper = p > 0.5
    out = np.empty_like(x)
    act = np.arange(x.size)
    inv_s = 1.0 / s
    wpdf = w * math.exp(-_LOG_SQRT_2PI)
    for _ in range(200):
        zz = (x[:, None] - m[act]) * inv_s[act]
        tail = _seqsum(special.ndtr(-zz if upper else zz) * w[act])
        f = _seqsum(np.exp(-0.5 * zz * zz) * inv_s[act] * wpdf[act])
        g = (1.0 - p) - tail if upper else tail - p
        xn, lo, hi, done = bracketed_newton(x, g, f, lo, hi, 1e-14, scale)
        out[act[done]] = xn[done]
        keep = ~done
        if not keep.any():
            return out
        act, x, lo, hi, scale = act[keep], xn[keep], lo[keep], hi[keep], scale[keep]
    out[act] = x
    return out
