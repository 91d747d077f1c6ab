"""Posterior quadrature for the heterogeneity tau: Gauss-Legendre panels in u = log(tau).

The unnormalised marginal posterior q(tau) = p(tau) L(tau) (L: the likelihood with the
effects integrated out analytically) is integrated in u = log(tau), where the integrand
e^{l(u)}, l(u) = log q(e^u) + u, is smooth on the whole line: a prior density that is
positive at tau = 0 becomes an exponentially decaying left tail, power-law tails in tau
become exponential tails in u, and log-normal / log-t priors are smooth in u.

Panels are laid out from the mode u* of l outwards: the first panel width is
min(1, 1.2 sigma) with sigma = (-l''(u*))^(-1/2); a panel is halved while l changes by more
than 12 across it and widened by 1.6 while l changes by less than 4; the walk stops where l
has dropped 46 below its maximum (relative density 1e-20) or at the support / numeric caps
tau in [1e-150, 1e150]. Each panel carries an ``order``-point Gauss-Legendre rule. The
normalising constant, all tau moments and every mixture over tau (mu, theta_i,
theta_new) use these nodes; the cdf at any tau integrates the partial panel with the same
rule, quantiles are Newton iterations on that cdf. The analytic singularities of the
likelihood (tau = +-i s_i, i.e. Im u = pi/2) keep panels near the data scale <= 1 wide.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Any

import numpy as np
from scipy import optimize, special

from bayesmeta.errors import InputError
from bayesmeta.exact.marginal import Marginal

TAU_MIN = 1e-150
TAU_MAX = 1e150
_DROP = 46.0  # stop the panel walk where l < max(l) - _DROP
_STEEP = 12.0  # halve a panel across which l changes by more than this
_FLAT = 4.0  # widen the next panel when l changed by less than this
_FAR = 15.0  # beyond l < max - _FAR use the looser tail rules below
_STEEP_TAIL = 30.0
_FLAT_TAIL = 12.0


@lru_cache(maxsize=8)
def _gauss_legendre(order: int) -> tuple[np.ndarray, np.ndarray]:
    x, w = np.polynomial.legendre.leggauss(order)
    return x, w


class TauPosterior(Marginal):
    """p(tau | y) from an unnormalised vectorised log density ``logq(tau)``.

    ``support`` is the prior support; ``scales`` are tau values that bracket where the
    posterior may live (standard errors, prior quantiles) to seed the mode search.
    ``moments`` (m1, m2) say whether E[tau] and E[tau^2] are finite (decided analytically
    by the model from the tail of p(tau) L(tau)).
    """

    name = "tau"

    def __init__(
        self,
        logq: Callable[[np.ndarray], np.ndarray],
        support: tuple[float, float],
        scales: Sequence[float],
        *,
        order: int = 12,
        moments: tuple[bool, bool] = (True, True),
    ) -> None:
        self._logq = logq
        self.support = (float(support[0]), float(support[1]))
        self.order = int(order)
        self._moments = moments
        self._cache: dict[Any, Any] = {}
        lo = max(self.support[0], TAU_MIN)
        hi = min(self.support[1], TAU_MAX)
        self._ulo, self._uhi = math.log(lo), math.log(hi)
        self._build(np.asarray([s for s in scales if np.isfinite(s) and s > 0], dtype=float))

    # ---- l(u) ----------------------------------------------------------------------
    def ell(self, u: np.ndarray) -> np.ndarray:
        """l(u) = log q(e^u) + u (-inf where q = 0)."""
        u = np.asarray(u, dtype=float)
        with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
            v = self._logq(np.exp(u)) + u
        return np.where(np.isnan(v), -np.inf, v)

    def _ell1(self, u: float) -> float:
        return float(self.ell(np.array([u]))[0])

    # ---- construction --------------------------------------------------------------
    def _build(self, scales: np.ndarray) -> None:
        ulo, uhi = self._ulo, self._uhi
        if scales.size == 0:
            scales = np.array([1.0])
        a = max(ulo, math.log(scales.min()) - 10.0)
        b = min(uhi, math.log(scales.max()) + 6.0)
        if not a < b:
            a, b = ulo, uhi
        grid = np.linspace(a, b, max(21, int(math.ceil((b - a) / 0.5)) + 1))
        vals = self.ell(grid)
        # extend the scan while the maximum sits on an open edge of the scanned range
        for side in (0, -1):
            step = 1.0
            while np.argmax(vals) == (0 if side == 0 else grid.size - 1):
                edge = grid[side]
                if (side == 0 and edge <= ulo) or (side == -1 and edge >= uhi):
                    break
                new = edge - step if side == 0 else edge + step
                new = max(new, ulo) if side == 0 else min(new, uhi)
                v = self._ell1(new)
                grid = np.insert(grid, 0, new) if side == 0 else np.append(grid, new)
                vals = np.insert(vals, 0, v) if side == 0 else np.append(vals, v)
                step *= 2.0
        if not np.isfinite(vals.max()):
            raise InputError("the posterior of tau is zero everywhere (check data and priors)")
        j = int(np.argmax(vals))
        left = grid[max(j - 1, 0)]
        right = grid[min(j + 1, grid.size - 1)]
        if right > left:
            res = optimize.minimize_scalar(
                lambda u: -self._ell1(u),
                bounds=(left, right),
                method="bounded",
                options={"xatol": 1e-9},
            )
            ustar, lstar = float(res.x), -float(res.fun)
            if lstar < vals[j]:
                ustar, lstar = float(grid[j]), float(vals[j])
        else:
            ustar, lstar = float(grid[j]), float(vals[j])
        h = 1e-3
        lm, lp = self._ell1(ustar - h), self._ell1(ustar + h)
        curv = (lm - 2.0 * lstar + lp) / h**2
        sigma = 1.0 / math.sqrt(-curv) if np.isfinite(curv) and curv < -1e-12 else 1.0
        w0 = min(1.0, max(1.2 * sigma, 1e-7))
        right_edges = self._walk(ustar, lstar, w0, uhi, +1.0, lstar)
        left_edges = self._walk(ustar, lstar, w0, ulo, -1.0, lstar)
        edges = np.array(left_edges[::-1] + [ustar] + right_edges)
        edges = edges[np.concatenate([[True], np.diff(edges) > 0])]
        self.edges = edges
        self.mode_u = ustar
        x, w = _gauss_legendre(self.order)
        half = 0.5 * np.diff(edges)
        mid = 0.5 * (edges[1:] + edges[:-1])
        nodes = (mid[:, None] + half[:, None] * x[None, :]).ravel()
        lw = self.ell(nodes) + np.log((half[:, None] * w[None, :]).ravel())
        self.log_norm = float(special.logsumexp(lw))
        if not np.isfinite(self.log_norm):
            raise InputError("could not normalise the posterior of tau")
        weights = np.exp(lw - self.log_norm)
        self.nodes_u = nodes
        self.nodes = np.exp(nodes)
        self.weights = weights
        pm = weights.reshape(-1, self.order).sum(axis=1)
        self._panel_mass = pm
        self._cum = np.concatenate([[0.0], np.cumsum(pm)])
        self._rcum = np.concatenate([np.cumsum(pm[::-1])[::-1], [0.0]])

    def _walk(
        self, u0: float, l0: float, w0: float, cap: float, sign: float, lstar: float
    ) -> list[float]:
        edges: list[float] = []
        a, la, w = u0, l0, w0
        while (cap - a) * sign > 1e-12:
            b = a + sign * w
            if (b - cap) * sign >= 0:
                b = cap
            lb = self._ell1(b)
            dl = abs(lb - la) if np.isfinite(lb) else math.inf
            # far from the mode (l < max - _FAR) panels carry < e^-_FAR of the mass and
            # may be coarser
            tail = la < lstar - _FAR
            if dl > (_STEEP_TAIL if tail else _STEEP) and w > w0 / 64:
                w *= 0.5
                continue
            edges.append(b)
            if b == cap or lb < lstar - _DROP:
                break
            if dl < (_FLAT_TAIL if tail else _FLAT):
                w = min(w * 1.6, 64.0)
            a, la = b, lb
        return edges

    # ---- distribution functions ----------------------------------------------------
    def logpdf(self, x: Any) -> np.ndarray:
        x = np.asarray(x, dtype=float)
        with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
            out = self._logq(x) - self.log_norm
        lo, hi = self.support
        return np.where((x < lo) | (x > hi), -np.inf, out)

    def pdf(self, x: Any) -> np.ndarray:
        return np.exp(self.logpdf(x))

    def _partial(self, u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Panel index and the posterior mass between the panel's left edge and u."""
        idx = np.clip(np.searchsorted(self.edges, u, side="right") - 1, 0, self.edges.size - 2)
        a = self.edges[idx]
        half = 0.5 * (u - a)
        x, w = _gauss_legendre(self.order)
        nodes = a[:, None] + half[:, None] * (x[None, :] + 1.0)
        part = np.exp(self.ell(nodes) - self.log_norm) @ w * half
        return idx, part

    def _cdf_sf(self, t: Any) -> tuple[np.ndarray, np.ndarray]:
        t = np.asarray(t, dtype=float)
        shape = t.shape
        t = t.ravel()
        cdf = np.zeros(t.shape)
        sf = np.ones(t.shape)
        with np.errstate(divide="ignore"):
            u = np.log(np.where(t > 0, t, 1.0))
        below = (t <= 0) | (u <= self.edges[0])
        above = u >= self.edges[-1]
        cdf[above], sf[above] = 1.0, 0.0
        inside = ~below & ~above & ~np.isnan(t)
        if inside.any():
            idx, part = self._partial(u[inside])
            cdf[inside] = self._cum[idx] + part
            sf[inside] = self._rcum[idx + 1] + (self._panel_mass[idx] - part)
        cdf[np.isnan(t)] = sf[np.isnan(t)] = np.nan
        return np.clip(cdf, 0, 1).reshape(shape), np.clip(sf, 0, 1).reshape(shape)

    def cdf(self, x: Any) -> np.ndarray:
        return self._cdf_sf(x)[0]

    def sf(self, x: Any) -> np.ndarray:
        return self._cdf_sf(x)[1]

    def quantile(self, p: Any) -> np.ndarray:
        """Newton iterations in u on the panel cdf, inside the bracketing panel."""
        p = np.asarray(p, dtype=float)
        shape = p.shape
        p = p.ravel()
        out = np.full(p.shape, np.nan)
        out[p == 0] = self.support[0]
        out[p == 1] = self.support[1]
        act = np.flatnonzero((p > 0) & (p < 1))
        if act.size:
            pa = p[act]
            # bracketing panels from the cumulative panel masses, start by interpolation
            idx = np.clip(np.searchsorted(self._cum, pa, side="right") - 1, 0, self.edges.size - 2)
            lo, hi = self.edges[idx].copy(), self.edges[idx + 1].copy()
            frac = (pa - self._cum[idx]) / np.maximum(self._panel_mass[idx], 1e-300)
            u = lo + np.clip(frac, 0.0, 1.0) * (hi - lo)
            # a closer start: interpolate p on the cumulated node weights (mid-node steps),
            # kept inside the bracketing panel
            w = self.weights
            u_nodes = np.interp(pa, np.cumsum(w) - 0.5 * w, self.nodes_u)
            inside = (u_nodes > lo) & (u_nodes < hi)
            u = np.where(inside, u_nodes, u)
            upper = pa > 0.5
            for _ in range(100):  # all points together: they converge in a few steps
                cdf, sf = self._cdf_sf(np.exp(u))
                g = np.where(upper, (1.0 - pa) - sf, cdf - pa)
                pos = g > 0
                hi = np.where(pos, u, hi)
                lo = np.where(pos, lo, u)
                dens = np.exp(self.ell(u) - self.log_norm)
                with np.errstate(divide="ignore", invalid="ignore"):
                    un = u - g / dens
                bad = ~((un >= lo) & (un <= hi))  # also nan
                un[bad] = 0.5 * (lo[bad] + hi[bad])
                done = (np.abs(un - u) <= 1e-14 * (1.0 + np.abs(u))) | (g == 0)
                u = un
                if done.all():
                    break
            res = u
            out[act] = np.exp(res)
        return out.reshape(shape)

    # ---- summaries -----------------------------------------------------------------
    @property
    def mean(self) -> float:
        if not self._moments[0]:
            return math.inf
        return float(self.nodes @ self.weights)

    @property
    def var(self) -> float:
        if not self._moments[1]:
            return math.inf
        m = self.nodes @ self.weights
        return float(((self.nodes - m) ** 2) @ self.weights)

    @property
    def median(self) -> float:
        if "median" not in self._cache:
            self._cache["median"] = float(self.quantile(0.5))
        return self._cache["median"]

    def _logpdf1(self, t: float) -> float:
        return float(self.logpdf(np.array([t]))[0])

    @property
    def mode(self) -> float:
        """The maximum of p(tau | y) in tau (0 when the density is highest at 0)."""
        if "mode" in self._cache:
            return self._cache["mode"]
        dens = self.ell(self.nodes_u) - self.nodes_u  # log density in tau, unnormalised
        j = int(np.argmax(dens))
        lo = self.nodes[j - 1] if j > 0 else self.support[0]
        hi = self.nodes[j + 1] if j + 1 < self.nodes.size else self.nodes[j]
        res = optimize.minimize_scalar(
            lambda t: -self._logpdf1(t),
            bounds=(lo, hi),
            method="bounded",
            options={"xatol": 1e-12 * max(hi, 1e-300)},
        )
        mode, best = float(res.x), -float(res.fun)
        at_lo = self._logpdf1(self.support[0])
        if np.isfinite(dens[j] - self.log_norm) and dens[j] - self.log_norm > best:
            mode, best = float(self.nodes[j]), float(dens[j] - self.log_norm)
        if at_lo >= best - 1e-12 or (np.isnan(at_lo) and self.support[0] == 0.0):
            mode = self.support[0]
        self._cache["mode"] = mode
        return mode

    def _shortest(self, level: float) -> tuple[float, float]:
        key = ("shortest", level)
        if key in self._cache:
            return self._cache[key]
        lo_supp = self.support[0]
        q_level = float(self.quantile(level))
        f0 = self._logpdf1(lo_supp)
        if np.isnan(f0) and lo_supp == 0.0:
            f0 = math.inf
        if f0 >= self._logpdf1(q_level):
            out = (lo_supp, q_level)
        else:
            out = self._shortest_newton(level) or self._shortest_bracketed(level)
        self._cache[key] = out
        return out

    def _shortest_newton(self, level: float) -> tuple[float, float] | None:
        """Solve F(b) - F(a) = level, f(a) = f(b) by 2-D Newton from the central interval."""
        a, b = (float(v) for v in self.quantile([(1 - level) / 2, (1 + level) / 2]))
        for _ in range(60):
            cdf, sf = self._cdf_sf(np.array([a, b]))
            h = 1e-6
            pts = np.array([a, b, a * (1 - h), a * (1 + h), b * (1 - h), b * (1 + h)])
            lf = self.logpdf(pts)
            la, lb = lf[0], lf[1]
            da = (lf[3] - lf[2]) / (2 * h * a)  # d log f / d tau
            db = (lf[5] - lf[4]) / (2 * h * b)
            e1 = (1.0 - sf[1]) - cdf[0] - level
            e2 = la - lb
            if abs(e1) < 1e-14 and abs(e2) < 1e-10:
                return float(a), float(b)
            fa, fb = math.exp(la), math.exp(lb)
            det = fa * db - fb * da
            if not (np.isfinite(det) and det != 0):
                return None
            sa = (e1 * -db - fb * e2) / det
            sb = (-fa * e2 - da * e1) / det
            t = 1.0
            while t > 1e-6 and not (0 < a - t * sa < b - t * sb < self.support[1]):
                t *= 0.5
            if t <= 1e-6:
                return None
            a, b = a - t * sa, b - t * sb
        return None

    def _shortest_bracketed(self, level: float) -> tuple[float, float]:
        def g(p1: float) -> float:
            a, b = self.quantile(np.array([p1, p1 + level]))
            return self._logpdf1(float(a)) - self._logpdf1(float(b))

        eps = 1e-13
        p1 = optimize.brentq(g, eps, 1.0 - level - eps, xtol=1e-15, rtol=1e-14)
        a, b = self.quantile(np.array([p1, p1 + level]))
        return float(a), float(b)

    def expect(self, fn: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
        """E[fn(tau) | y] by the quadrature rule (fn vectorised over the nodes)."""
        return np.tensordot(self.weights, fn(self.nodes), axes=(0, 0))
