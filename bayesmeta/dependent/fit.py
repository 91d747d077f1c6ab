"""REML and ML fits of y ~ N(X beta, M(theta)), M = V + R(theta): metafor's ``rma.mv``.

Log-likelihoods (metafor 3.8, Viechtbauer 2010 JSS 36(3)):

    ML:   -1/2 [k log 2 pi + log|M| + r' M^-1 r],            r = y - X beta_hat
    REML: -1/2 [(k-p) log 2 pi + log|M| + log|X'M^-1 X| + r' M^-1 r] + 1/2 log|X'X|

with beta_hat the GLS estimate, Var(beta_hat) = (X'M^-1 X)^-1. theta is optimised by BFGS on
analytic gradients (d l / d theta_l = -1/2 tr(P dM_l) + 1/2 y'P dM_l P y for REML, with
P = M^-1 - M^-1 X (X'M^-1 X)^-1 X'M^-1) and polished by Newton steps; convergence means a
gradient norm below 1e-8 (x the number of effects). A fit that does not converge raises
`ConvergenceError` with the iteration count. Q_E = y'(V^-1 - V^-1 X (X'V^-1 X)^-1 X'V^-1) y
on k - p df tests residual heterogeneity.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
from scipy import linalg, optimize, stats

from bayesmeta.errors import ConvergenceError, InputError

LOG2PI = math.log(2.0 * math.pi)


class Structure(Protocol):
    """What `MvModel` needs of a random structure: R(theta), its derivatives, start values.

    Examples:
        >>> from bayesmeta.dependent.fit import Structure
        >>> from bayesmeta.dependent.structures import Nested
        >>> isinstance(Nested([["a", "b"]], ["c"]).n_params, int)
        True
    """

    @property
    def n_params(self) -> int: ...
    def R(self, theta: np.ndarray) -> np.ndarray: ...
    def dR(self, theta: np.ndarray) -> list[np.ndarray]: ...
    def start(self, total: float) -> np.ndarray: ...
    def components(self, theta: np.ndarray) -> dict[str, Any]: ...


@dataclass
class MvFit:
    """The optimum of one ``rma.mv`` model: coefficients, their covariance, theta, logLik.

    Examples:
        >>> import numpy as np
        >>> from bayesmeta.dependent.fit import MvModel
        >>> from bayesmeta.dependent.structures import Nested
        >>> s = Nested([list("aabbcc")], ["c"])
        >>> f = MvModel(np.array([0.1, 0.3, 0.2, 0.6, 0.5, 0.9]), np.full(6, 0.01),
        ...             np.ones((6, 1)), s).fit()
        >>> f.method, f.components["sigma2"][0] > 0
        ('REML', True)
    """

    beta: np.ndarray
    vb: np.ndarray
    theta: np.ndarray
    loglik: float
    method: str
    iterations: int
    M: np.ndarray
    components: dict[str, Any] = field(default_factory=dict)


class MvModel:
    """y, X, V and a random structure; `fit` maximises the (restricted) likelihood.

    Examples:
        >>> import numpy as np
        >>> from bayesmeta.dependent.fit import MvModel
        >>> from bayesmeta.dependent.structures import Nested
        >>> y = np.array([0.1, 0.3, 0.2, 0.6, 0.5, 0.9])
        >>> s = Nested([list("aabbcc"), list("121212")], ["c", "s"])
        >>> f = MvModel(y, np.full(6, 0.01), np.ones((6, 1)), s).fit()
        >>> round(float(f.beta[0]), 4)
        0.4333
    """

    def __init__(self, y: np.ndarray, V: np.ndarray, X: np.ndarray, structure: Structure) -> None:
        y = np.asarray(y, dtype=float)
        V = np.asarray(V, dtype=float)
        if V.ndim == 1:
            V = np.diag(V)
        X = np.asarray(X, dtype=float)
        if X.ndim == 1:
            X = X[:, None]
        self.y, self.V, self.X, self.s = y, V, X, structure
        self.k, self.p = X.shape
        if np.linalg.matrix_rank(X) < self.p:
            raise InputError("the moderators are collinear: the model matrix has rank "
                             f"{np.linalg.matrix_rank(X)} < {self.p} columns")  # fmt: skip
        if self.k <= self.p:
            raise InputError(f"{self.k} effect sizes cannot estimate {self.p} coefficients "
                             "and the variance components")  # fmt: skip
        self._logdet_xx = float(np.linalg.slogdet(X.T @ X)[1])

    # -- likelihood ------------------------------------------------------------------------
    def _parts(self, theta: np.ndarray) -> dict[str, Any] | None:
        M = self.V + self.s.R(theta)
        try:
            c = linalg.cho_factor(M, lower=True, check_finite=False)
        except linalg.LinAlgError:
            return None
        Mi_X = linalg.cho_solve(c, self.X, check_finite=False)
        Mi_y = linalg.cho_solve(c, self.y, check_finite=False)
        XtMiX = self.X.T @ Mi_X
        try:
            cb = linalg.cho_factor(XtMiX, lower=True, check_finite=False)
        except linalg.LinAlgError:
            return None
        beta = linalg.cho_solve(cb, self.X.T @ Mi_y, check_finite=False)
        r = self.y - self.X @ beta
        Mi_r = linalg.cho_solve(c, r, check_finite=False)
        logdet = 2.0 * float(np.sum(np.log(np.diag(c[0]))))
        logdet_b = 2.0 * float(np.sum(np.log(np.diag(cb[0]))))
        return {"M": M, "c": c, "cb": cb, "beta": beta, "r": r, "Mi_r": Mi_r, "Mi_X": Mi_X,
                "logdet": logdet, "logdet_b": logdet_b, "rMr": float(r @ Mi_r)}  # fmt: skip

    def loglik(self, theta: np.ndarray, method: str = "REML") -> float:
        q = self._parts(np.asarray(theta, dtype=float))
        if q is None:
            return -math.inf
        if method == "ML":
            return -0.5 * (self.k * LOG2PI + q["logdet"] + q["rMr"])
        return (-0.5 * ((self.k - self.p) * LOG2PI + q["logdet"] + q["logdet_b"] + q["rMr"])
                + 0.5 * self._logdet_xx)  # fmt: skip

    def gradient(self, theta: np.ndarray, method: str = "REML") -> np.ndarray:
        q = self._parts(np.asarray(theta, dtype=float))
        if q is None:
            return np.full(len(theta), np.nan)
        Mi = linalg.cho_solve(q["c"], np.eye(self.k), check_finite=False)
        if method == "ML":
            P, Py = Mi, q["Mi_r"]
        else:
            B = linalg.cho_solve(q["cb"], q["Mi_X"].T, check_finite=False)
            P = Mi - q["Mi_X"] @ B
            Py = q["Mi_r"]  # P y = M^-1 r
        return np.array([-0.5 * float(np.sum(P * D)) + 0.5 * float(Py @ D @ Py)
                         for D in self.s.dR(theta)])  # fmt: skip

    # -- fitting ---------------------------------------------------------------------------
    def _start(self) -> np.ndarray:
        v = np.diag(self.V)
        w = 1.0 / v
        b = np.linalg.lstsq(self.X * np.sqrt(w)[:, None], self.y * np.sqrt(w), rcond=None)[0]
        r = self.y - self.X @ b
        q = float(np.sum(w * r**2))
        df = self.k - self.p
        c = float(np.sum(w) - np.sum(w**2) / np.sum(w))
        total = max((q - df) / c, 0.01 * float(np.median(v)))
        return self.s.start(total)

    def fit(self, method: str = "REML", theta0: np.ndarray | None = None,
            fixed: dict[int, float] | None = None) -> MvFit:  # fmt: skip
        """Maximise the likelihood; ``fixed`` holds theta entries kept at given values (the
        profile likelihood)."""
        if method not in ("REML", "ML"):
            raise InputError(f"method must be REML or ML, not {method!r}")
        fixed = fixed or {}
        n = self.s.n_params
        free = [i for i in range(n) if i not in fixed]
        full0 = self._start() if theta0 is None else np.asarray(theta0, dtype=float).copy()
        for i, v in fixed.items():
            full0[i] = v

        def expand(x: np.ndarray) -> np.ndarray:
            t = full0.copy()
            t[free] = x
            return t

        def f(x: np.ndarray) -> float:
            v = self.loglik(expand(x), method)
            return -v if math.isfinite(v) else 1e300

        def g(x: np.ndarray) -> np.ndarray:
            gr = self.gradient(expand(x), method)[free]
            return np.where(np.isfinite(gr), -gr, 0.0)

        x = full0[free]
        iters = 0
        if free:
            res = optimize.minimize(f, x, jac=g, method="BFGS",
                                    options={"gtol": 1e-10, "maxiter": 2000})  # fmt: skip
            x, iters = res.x, int(res.nit)
            x, extra = self._newton(f, g, x)
            iters += extra
            gn = float(np.max(np.abs(g(x)))) if x.size else 0.0
            scale = max(1.0, abs(f(x)))
            if not math.isfinite(f(x)) or gn > 1e-6 * scale:
                raise ConvergenceError(
                    f"the {method} fit did not converge after {iters} iterations "
                    f"(gradient {gn:.2g}); the model may be over-parameterised for these data"
                )
        theta = expand(x)
        q = self._parts(theta)
        if q is None:
            raise ConvergenceError(f"the {method} fit reached a singular covariance matrix")
        vb = linalg.cho_solve(q["cb"], np.eye(self.p), check_finite=False)
        return MvFit(q["beta"], vb, theta, self.loglik(theta, method), method, iters, q["M"],
                     self.s.components(theta))  # fmt: skip

    @staticmethod
    def _newton(f: Any, g: Any, x: np.ndarray, steps: int = 20) -> tuple[np.ndarray, int]:
        """Newton steps on a finite-difference Hessian of the analytic gradient (exact optimum
        to ~1e-12 when BFGS stops early on a flat ridge); a step is kept only if it helps."""
        n = x.size
        for it in range(steps):
            g0 = g(x)
            if np.max(np.abs(g0)) < 1e-12:
                return x, it
            H = np.empty((n, n))
            for i in range(n):
                h = 1e-6 * max(1.0, abs(x[i]))
                e = np.zeros(n)
                e[i] = h
                H[:, i] = (g(x + e) - g(x - e)) / (2 * h)
            H = 0.5 * (H + H.T)
            try:
                step = np.linalg.solve(H, g0)
            except np.linalg.LinAlgError:
                return x, it
            fx = f(x)
            t = 1.0
            while t > 1e-4:
                xn = x - t * step
                if f(xn) <= fx + 1e-14 * abs(fx):
                    break
                t *= 0.5
            else:
                return x, it
            if np.max(np.abs(g(xn))) >= np.max(np.abs(g0)) and f(xn) >= fx:
                return x, it
            x = xn
        return x, steps

    # -- tests -----------------------------------------------------------------------------
    def q_e(self) -> tuple[float, int, float]:
        """(Q_E, df, p) of the test for residual heterogeneity (module docstring)."""
        c = linalg.cho_factor(self.V, lower=True)
        Vi_X = linalg.cho_solve(c, self.X)
        Vi_y = linalg.cho_solve(c, self.y)
        b = np.linalg.solve(self.X.T @ Vi_X, self.X.T @ Vi_y)
        r = self.y - self.X @ b
        q = float(r @ linalg.cho_solve(c, r))
        df = self.k - self.p
        return q, df, float(stats.chi2.sf(q, df))


def wald(beta: np.ndarray, vb: np.ndarray, test: str, df: float | None, level: float
         ) -> dict[str, np.ndarray]:  # fmt: skip
    """z (``test="z"``) or t(df) tests and intervals of each coefficient.

    Examples:
        >>> import numpy as np
        >>> from bayesmeta.dependent.fit import wald
        >>> w = wald(np.array([0.5]), np.array([[0.01]]), "z", None, 0.95)
        >>> round(float(w["ci_low"][0]), 4), round(float(w["pval"][0]), 6)
        (0.304, 1e-06)
    """
    se = np.sqrt(np.diag(vb))
    stat = beta / se
    if test == "t":
        assert df is not None
        p = 2.0 * stats.t.sf(np.abs(stat), df)
        crit = stats.t.ppf(0.5 + level / 2, df)
    else:
        p = 2.0 * stats.norm.sf(np.abs(stat))
        crit = stats.norm.ppf(0.5 + level / 2)
    return {"estimate": beta, "se": se, "stat": stat, "pval": p, "ci_low": beta - crit * se,
            "ci_high": beta + crit * se}  # fmt: skip


def omnibus(beta: np.ndarray, vb: np.ndarray, btt: np.ndarray, test: str,
            ddf: float | None) -> tuple[float, float, float]:  # fmt: skip
    """Q_M for the coefficients ``btt`` (chi^2 on len(btt) df; F with ``test="t"``):
    (statistic, df, p).

    Examples:
        >>> import numpy as np
        >>> from bayesmeta.dependent.fit import omnibus
        >>> q, df, p = omnibus(np.array([0.1, 0.4]), np.eye(2) * 0.01, np.array([1]), "z", None)
        >>> round(q, 4), df
        (16.0, 1)
    """
    b = beta[btt]
    V = vb[np.ix_(btt, btt)]
    q = float(b @ np.linalg.solve(V, b))
    m = len(btt)
    if test == "t":
        assert ddf is not None
        return q / m, m, float(stats.f.sf(q / m, m, ddf))
    return q, m, float(stats.chi2.sf(q, m))


__all__ = ["MvFit", "MvModel", "omnibus", "wald"]
