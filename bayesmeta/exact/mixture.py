"""Normal mixtures over the tau quadrature: the exact marginals of mu, theta_i, theta_new.

Given tau, every effect quantity X (mu, a shrunken theta_i, a new study's theta, a
regression coefficient or contrast c'beta) is normal, X | tau, y ~ N(m(tau), s(tau)^2).
Its marginal posterior is the tau-mixture

    F(x) = integral Phi((x - m(tau)) / s(tau)) p(tau | y) dtau
         = sum_j W_j Phi((x - m_j) / s_j)

where (tau_j, W_j) is the posterior quadrature rule of `bayesmeta.exact.quadrature`
(the normal parts are exact; the only approximation is the tau quadrature). A
`NormalMixture` holds many such quantities (rows) on one rule, so that the
quantiles of mu, theta_new and all theta_i are found in one vectorised Newton iteration.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy import optimize, special

from bayesmeta.exact.marginal import Marginal

_LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)
_PRUNE = 1e-18  # drop nodes with W_j < _PRUNE * max(W) from cdf/quantile sums


def bracketed_newton(
    x: np.ndarray, g: np.ndarray, f: np.ndarray, lo: np.ndarray, hi: np.ndarray, tol: float,
    scale: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:  # fmt: skip
    """One safeguarded Newton step for g(x) = 0, g increasing with derivative f: the bracket
    [lo, hi] shrinks to the side of the root, and a step that leaves it (or is not finite)
    bisects instead. Returns (x_new, lo, hi, done), done where the step is below
    ``tol * (|x| + scale)``, g = 0 or the bracket is empty.

    Examples:
        >>> import numpy as np
        >>> from bayesmeta.exact.mixture import bracketed_newton
        >>> x = np.array([1.0])
        >>> xn, lo, hi, done = bracketed_newton(x, x**2 - 2, 2 * x, np.array([0.0]),
        ...                                     np.array([2.0]), 1e-14, np.array([1.0]))
        >>> xn.tolist(), lo.tolist(), hi.tolist(), done.tolist()
        ([1.5], [1.0], [2.0], [False])
    """
    pos = g > 0
    hi = np.where(pos, x, hi)
    lo = np.where(pos, lo, x)
    with np.errstate(divide="ignore", invalid="ignore"):
        xn = x - g / f
    bad = ~np.isfinite(xn) | (xn < lo) | (xn > hi)
    xn = np.where(bad, 0.5 * (lo + hi), xn)
    done = (np.abs(xn - x) <= tol * (np.abs(x) + scale)) | (g == 0) | (hi - lo <= 0)
    return xn, lo, hi, done


class NormalMixture:
    """Rows r = 0..M-1 of normal mixtures sharing weights ``w`` (N,): means, sds (M, N).

    ``mean_ok``/``var_ok`` (M,) flag which rows have finite posterior mean / variance
    (decided analytically from the tail of p(tau | y) by the model); a row whose mean
    does not exist reports nan, a row whose variance does not exist reports inf.
    """

    def __init__(
        self,
        weights: np.ndarray,
        means: np.ndarray,
        sds: np.ndarray,
        names: Sequence[str],
        mean_ok: Sequence[bool] | None = None,
        var_ok: Sequence[bool] | None = None,
    ) -> None:
        w = np.asarray(weights, dtype=float)
        self.means_all = np.atleast_2d(np.asarray(means, dtype=float))
        self.sds_all = np.atleast_2d(np.asarray(sds, dtype=float))
        self.w_all = w
        keep = w > _PRUNE * w.max()
        self.w = w[keep]
        self.m = np.ascontiguousarray(self.means_all[:, keep])
        self.s = np.ascontiguousarray(self.sds_all[:, keep])
        self.names = list(names)
        n = self.m.shape[0]
        self.mean_ok = np.ones(n, bool) if mean_ok is None else np.asarray(mean_ok, bool)
        self.var_ok = np.ones(n, bool) if var_ok is None else np.asarray(var_ok, bool)
        self._mean: np.ndarray | None = None
        self._var: np.ndarray | None = None

    @property
    def nrows(self) -> int:
        return self.m.shape[0]

    # ---- moments -------------------------------------------------------------------
    def means(self) -> np.ndarray:
        if self._mean is None:
            mu = self.means_all @ self.w_all
            self._mean = np.where(self.mean_ok, mu, np.nan)
        return self._mean

    def variances(self) -> np.ndarray:
        if self._var is None:
            mu = self.means_all @ self.w_all
            dev = self.means_all - mu[:, None]
            v = (self.sds_all**2 + dev**2) @ self.w_all
            self._var = np.where(self.var_ok, v, np.inf)
        return self._var

    # ---- distribution functions ----------------------------------------------------
    def _z(self, rows: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        s = self.s[rows]
        return (x[:, None] - self.m[rows]) / s, s

    def cdf(self, rows: Any, x: Any) -> np.ndarray:
        rows, x = np.broadcast_arrays(np.asarray(rows, int), np.asarray(x, float))
        z, _ = self._z(rows.ravel(), x.ravel())
        return (special.ndtr(z) @ self.w).reshape(x.shape)

    def sf(self, rows: Any, x: Any) -> np.ndarray:
        rows, x = np.broadcast_arrays(np.asarray(rows, int), np.asarray(x, float))
        z, _ = self._z(rows.ravel(), x.ravel())
        return (special.ndtr(-z) @ self.w).reshape(x.shape)

    def pdf(self, rows: Any, x: Any) -> np.ndarray:
        rows, x = np.broadcast_arrays(np.asarray(rows, int), np.asarray(x, float))
        z, s = self._z(rows.ravel(), x.ravel())
        return ((np.exp(-0.5 * z * z - _LOG_SQRT_2PI) / s) @ self.w).reshape(x.shape)

    def _pdf_d1(self, rows: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Density and its derivative."""
        z, s = self._z(rows, x)
        phi = np.exp(-0.5 * z * z - _LOG_SQRT_2PI) / s
        return phi @ self.w, (phi * (-z / s)) @ self.w

    def _dist(self, rows: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, ...]:
        """cdf, sf, pdf, pdf' at (rows, x) from one evaluation of z."""
        z, s = self._z(rows, x)
        phi = np.exp(-0.5 * z * z - _LOG_SQRT_2PI) / s
        return (
            special.ndtr(z) @ self.w,
            special.ndtr(-z) @ self.w,
            phi @ self.w,
            (phi * (-z / s)) @ self.w,
        )

    # ---- quantiles -----------------------------------------------------------------
    def quantile(self, rows: Any, p: Any, tol: float = 1e-14) -> np.ndarray:
        """Solve F_r(x) = p by Newton's method inside a bisection bracket (vectorised).

        The bracket [min_j q_j, max_j q_j] of the component quantiles always holds the
        root; p = 0 / 1 give -inf / inf.
        """
        rows, p = np.broadcast_arrays(np.asarray(rows, int), np.asarray(p, float))
        shape = p.shape
        rows, p = rows.ravel(), p.ravel()
        out = np.full(p.shape, np.nan)
        out[p == 0] = -np.inf
        out[p == 1] = np.inf
        act = np.flatnonzero((p > 0) & (p < 1))
        if act.size == 0:
            return out.reshape(shape)
        r, pa = rows[act], p[act]
        zq = special.ndtri(pa)
        qj = self.m[r] + self.s[r] * zq[:, None]
        lo, hi = qj.min(axis=1), qj.max(axis=1)
        x = qj @ self.w / self.w.sum()
        scale = self.s[r].min(axis=1)
        upper = pa > 0.5
        mr, inv_s = self.m[r], 1.0 / self.s[r]
        sign = np.where(upper, -1.0, 1.0)[:, None]
        w_pdf = self.w * math.exp(-_LOG_SQRT_2PI)
        for _ in range(200):
            z = (x[:, None] - mr) * inv_s
            # F(x) - p without cancellation: the upper tail through sf = sum w ndtr(-z)
            tail = special.ndtr(sign * z) @ self.w
            z *= z
            z *= -0.5
            f = (np.exp(z) * inv_s) @ w_pdf
            g = np.where(upper, (1.0 - pa) - tail, tail - pa)
            xn, lo, hi, done = bracketed_newton(x, g, f, lo, hi, tol, scale)
            x = xn
            if done.all():
                break
            keep = ~done
            out[act[done]] = x[done]
            act, pa, x, lo, hi = act[keep], pa[keep], x[keep], lo[keep], hi[keep]
            scale, upper, sign = scale[keep], upper[keep], sign[keep]
            mr, inv_s = mr[keep], inv_s[keep]
        out[act] = x
        return out.reshape(shape)

    # ---- shortest intervals and modes ----------------------------------------------
    def shortest(
        self, rows: Any, level: float, start: tuple[Any, Any] | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Highest-density intervals: F(b) - F(a) = level and f(a) = f(b) (2-D Newton).

        Starts from ``start`` = (a, b) per row if given (e.g. central quantiles already
        computed), else from the central interval; rows that do not converge fall back to a
        bracketing root search on the lower tail probability.
        """
        rows = np.atleast_1d(np.asarray(rows, int))
        if start is None:
            pr = np.array([(1.0 - level) / 2.0, (1.0 + level) / 2.0])
            q = self.quantile(np.repeat(rows, 2), np.tile(pr, rows.size)).reshape(-1, 2)
            a, b = q[:, 0].copy(), q[:, 1].copy()
        else:
            a = np.array(np.broadcast_to(np.asarray(start[0], float), rows.shape))
            b = np.array(np.broadcast_to(np.asarray(start[1], float), rows.shape))
            if not np.all(np.isfinite(a) & np.isfinite(b) & (a < b)):
                raise ValueError("start must be finite intervals with a < b")
        if rows.size == 1:  # one row (the common case): the same Newton on scalars, faster
            lo, hi = self._shortest_one(int(rows[0]), level, float(a[0]), float(b[0]))
            return np.array([lo]), np.array([hi])
        ok = np.zeros(rows.size, bool)
        for _ in range(60):
            rr = np.concatenate([rows, rows])
            cdf, sf, f, d = self._dist(rr, np.concatenate([a, b]))
            n = rows.size
            fa, fb, da, db = f[:n], f[n:], d[:n], d[n:]
            e1 = (1.0 - sf[n:]) - cdf[:n] - level
            e2 = np.log(fa) - np.log(fb)
            ok = (np.abs(e1) < 1e-14) & (np.abs(e2) < 1e-11)
            if ok.all():
                break
            j11, j12, j21, j22 = -fa, fb, da / fa, -db / fb
            det = j11 * j22 - j12 * j21
            with np.errstate(divide="ignore", invalid="ignore"):
                step_a = (e1 * j22 - j12 * e2) / det
                step_b = (j11 * e2 - j21 * e1) / det
            t = np.ones_like(a)
            for _h in range(40):  # damp steps that leave a < b or are not finite
                na, nb = a - t * step_a, b - t * step_b
                bad = ~(np.isfinite(na) & np.isfinite(nb) & (na < nb))
                if not bad.any():
                    break
                t = np.where(bad, 0.5 * t, t)
            a = np.where(ok, a, na)
            b = np.where(ok, b, nb)
        for i in np.flatnonzero(~ok):  # robust fallback
            a[i], b[i] = self._shortest_bracketed(int(rows[i]), level)
        return a, b

    def _shortest_one(self, row: int, level: float, a: float, b: float) -> tuple[float, float]:
        """`shortest` for one row from (a, b): 2-D Newton on scalars, damped to keep a < b."""
        rows = np.array([row, row])
        for _ in range(60):
            cdf, sf, f, d = self._dist(rows, np.array([a, b]))
            e1 = (1.0 - sf[1]) - cdf[0] - level
            e2 = math.log(f[0]) - math.log(f[1])
            if abs(e1) < 1e-14 and abs(e2) < 1e-11:
                return a, b
            j11, j12, j21, j22 = -f[0], f[1], d[0] / f[0], -d[1] / f[1]
            det = j11 * j22 - j12 * j21
            if not (math.isfinite(det) and det != 0.0):
                break
            sa, sb = (e1 * j22 - j12 * e2) / det, (j11 * e2 - j21 * e1) / det
            t = 1.0
            while t > 1e-12 and not (a - t * sa < b - t * sb):
                t *= 0.5
            a, b = a - t * sa, b - t * sb
        return self._shortest_bracketed(row, level)

    def _shortest_bracketed(self, row: int, level: float) -> tuple[float, float]:
        def g(p1: float) -> float:
            lo, hi = self.quantile([row, row], [p1, p1 + level])
            return math.log(self.pdf(row, lo)) - math.log(self.pdf(row, hi))

        eps = 1e-12
        p1 = optimize.brentq(g, eps, 1.0 - level - eps, xtol=1e-15, rtol=1e-15)
        lo, hi = self.quantile([row, row], [p1, p1 + level])
        return float(lo), float(hi)

    def mode(self, row: int) -> float:
        """Maximise the mixture density between its 10 % and 90 % quantiles (as R does)."""
        lo, hi = self.quantile([row, row], [0.1, 0.9])
        res = optimize.minimize_scalar(
            lambda x: -float(self.pdf(row, x)),
            bounds=(float(lo), float(hi)),
            method="bounded",
            options={"xatol": 1e-10 * (hi - lo)},
        )
        return float(res.x)


class MixtureMarginal(Marginal):
    """Row ``row`` of a `NormalMixture` as a `Marginal`."""

    def __init__(self, mixture: NormalMixture, row: int, name: str) -> None:
        self.mixture = mixture
        self.row = row
        self.name = name
        self._cache: dict[Any, Any] = {}

    def pdf(self, x: Any) -> np.ndarray:
        return self.mixture.pdf(self.row, x)

    def cdf(self, x: Any) -> np.ndarray:
        return self.mixture.cdf(self.row, x)

    def sf(self, x: Any) -> np.ndarray:
        return self.mixture.sf(self.row, x)

    def quantile(self, p: Any) -> np.ndarray:
        return self.mixture.quantile(self.row, p)

    @property
    def median(self) -> float:
        if "median" not in self._cache:
            self._cache["median"] = float(self.quantile(0.5))
        return self._cache["median"]

    @property
    def mean(self) -> float:
        return float(self.mixture.means()[self.row])

    @property
    def var(self) -> float:
        return float(self.mixture.variances()[self.row])

    @property
    def mode(self) -> float:
        if "mode" not in self._cache:
            self._cache["mode"] = self.mixture.mode(self.row)
        return self._cache["mode"]

    def _shortest(self, level: float) -> tuple[float, float]:
        key = ("shortest", level)
        if key not in self._cache:
            a, b = self.mixture.shortest([self.row], level)
            self._cache[key] = (float(a[0]), float(b[0]))
        return self._cache[key]


def gauss_rule(nodes: np.ndarray, weights: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """The n-point Gauss rule of the discrete measure sum_j w_j delta(t_j): nodes and weights
    that integrate every polynomial of degree <= 2n - 1 exactly as the N-point rule does.

    Lanczos on diag(t) from sqrt(w) (full reorthogonalisation), then the Jacobi matrix's
    eigen-decomposition (Golub & Welsch 1969, Math Comp 23:221-230).

    Examples:
        >>> import numpy as np
        >>> from bayesmeta.exact.mixture import gauss_rule
        >>> t = np.linspace(0.0, 1.0, 50); w = np.exp(-t); w /= w.sum()
        >>> x, v = gauss_rule(t, w, 4)
        >>> bool(np.isclose(v @ x**7, w @ t**7, rtol=1e-12))
        True
    """
    w = np.asarray(weights, dtype=float)
    keep = w > 0
    t, w = np.asarray(nodes, dtype=float)[keep], w[keep]
    n = min(n, t.size)
    total = w.sum()
    c, sc = float(w @ t / total), float(np.ptp(t)) or 1.0
    u = (t - c) / sc
    q = np.zeros((n, t.size))
    alpha, beta = np.zeros(n), np.zeros(max(n - 1, 0))
    v = np.sqrt(w / total)
    q[0] = v
    for j in range(n):
        r = u * q[j]
        alpha[j] = q[j] @ r
        r -= alpha[j] * q[j]
        if j > 0:
            r -= beta[j - 1] * q[j - 1]
        r -= q[: j + 1].T @ (q[: j + 1] @ r)  # reorthogonalise
        if j + 1 < n:
            b = float(np.linalg.norm(r))
            if b <= 1e-14:
                n = j + 1
                alpha, beta, q = alpha[:n], beta[: n - 1], q[:n]
                break
            beta[j] = b
            q[j + 1] = r / b
    lam, vec = np.linalg.eigh(np.diag(alpha) + np.diag(beta, 1) + np.diag(beta, -1))
    return c + sc * lam, total * vec[0] ** 2


def batch_summary(mixture: NormalMixture, level: float, kind: str) -> dict[str, np.ndarray]:
    """mean, sd, median, ci_low, ci_high of every row, in vectorised calls."""
    rows = np.arange(mixture.nrows)
    pr = [0.5, (1.0 - level) / 2.0, (1.0 + level) / 2.0]
    q = mixture.quantile(np.repeat(rows, 3), np.tile(pr, rows.size)).reshape(-1, 3)
    if kind == "shortest":
        lo, hi = mixture.shortest(rows, level)
    else:
        lo, hi = q[:, 1], q[:, 2]
    return {
        "mean": mixture.means(),
        "sd": np.sqrt(mixture.variances()),
        "median": q[:, 0],
        "ci_low": lo,
        "ci_high": hi,
    }
