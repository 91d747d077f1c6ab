"""Small shared pieces: input checks, the projection matrix P, metafor's control settings."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from bayesmeta.classical.zeroin import R_TOL
from bayesmeta.errors import InputError
from bayesmeta.studies import check_magnitudes

#: Estimator names, canonical spelling (metafor's ``method=``).
METHODS = ("FE", "DL", "REML", "ML", "PM", "EB", "SJ", "HE")
_ALIASES = {"EE": "FE", "CE": "FE", "IV": "FE", "FIXED": "FE"}


def canonical_method(method: str) -> str:
    """Case-insensitive method name -> canonical; InputError naming the valid ones."""
    m = str(method).strip().upper()
    m = _ALIASES.get(m, m)
    if m not in METHODS:
        raise InputError(f"unknown method '{method}'; valid methods: {', '.join(METHODS)}")
    return m


@dataclass(frozen=True)
class Control:
    """metafor's ``rma(control = list(...))`` defaults for ``rma.uni``.

    ``threshold`` is the Fisher-scoring convergence threshold on the change in tau^2,
    ``maxiter`` its iteration limit (also uniroot()'s for PM), ``tol`` uniroot()'s tolerance
    (``.Machine$double.eps^0.25``) and the log-likelihood check tolerance, ``tau2_max`` the upper
    end of the PM search (None: ``max(100, 10 * mad(yi)^2)``).

    Examples:
        >>> from bayesmeta.classical import Control
        >>> con = Control.make({"maxiter": 500, "stepadj": 0.5})
        >>> con.maxiter, con.stepadj, con.threshold
        (500, 0.5, 1e-05)
    """

    threshold: float = 1e-5
    maxiter: int = 100
    stepadj: float = 1.0
    tol: float = R_TOL
    tau2_min: float = 0.0
    tau2_max: float | None = None
    tau2_init: float | None = None
    ll0check: bool = True

    @classmethod
    def make(cls, control: Control | dict[str, Any] | None) -> Control:
        """A Control from None (defaults), a Control or a dict (InputError on unknown keys)."""
        if control is None:
            return cls()
        if isinstance(control, Control):
            return control
        bad = set(control) - set(cls.__dataclass_fields__)
        if bad:
            valid = ", ".join(cls.__dataclass_fields__)
            raise InputError(f"unknown control setting(s) {sorted(bad)}; valid: {valid}")
        return replace(cls(), **control)


def check_arrays(yi: Any, vi: Any, X: Any = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """yi, vi as float vectors (finite, vi > 0) and X as a k x p matrix (default: intercept)."""
    y = np.asarray(yi, dtype=float).reshape(-1)
    v = np.asarray(vi, dtype=float).reshape(-1)
    if y.size == 0:
        raise InputError("no studies: yi is empty")
    if y.shape != v.shape:
        raise InputError(f"yi and vi differ in length ({y.size} vs {v.size})")
    for name, a in (("yi", y), ("vi", v)):
        bad = np.flatnonzero(~np.isfinite(a))
        if bad.size:
            raise InputError(f"{name} is not finite (NaN/inf)", row=int(bad[0]) + 1, column=name)
    bad = np.flatnonzero(v <= 0)
    if bad.size:
        raise InputError("sampling variance must be > 0", row=int(bad[0]) + 1, column="vi")
    check_magnitudes(y, v)
    if X is None:
        Xm = np.ones((y.size, 1))
    else:
        Xm = np.asarray(X, dtype=float)
        if Xm.ndim == 1:
            Xm = Xm[:, None]
        if Xm.shape[0] != y.size:
            raise InputError(f"design matrix has {Xm.shape[0]} rows for {y.size} studies")
        if np.linalg.matrix_rank(Xm) < Xm.shape[1]:
            raise InputError("design matrix not of full rank (empty or redundant subgroup?)")
    return y, v, Xm


class Projection:
    """``P = W - W X (X'WX)^{-1} X'W`` (W = diag(w)), never formed: every quantity the
    estimators need costs O(k p^2) time and O(k p) memory, so a million studies fit.

    ``Q = y'Py`` is the weighted residual sum of squares of the WLS fit of y on X.

    Examples:
        Against the explicit k x k matrix:

        >>> import numpy as np
        >>> from bayesmeta.classical.linalg import Projection
        >>> rng = np.random.default_rng(1)
        >>> X = np.c_[np.ones(5), rng.normal(size=5)]
        >>> w, y = rng.uniform(1, 3, 5), rng.normal(size=5)
        >>> WX = w[:, None] * X
        >>> P = np.diag(w) - WX @ np.linalg.solve(X.T @ WX, WX.T)
        >>> pr = Projection(w, X)
        >>> bool(np.isclose(pr.quad(y), y @ P @ y) and np.isclose(pr.frob2(), np.sum(P * P)))
        True
    """

    def __init__(self, w: np.ndarray, X: np.ndarray) -> None:
        self.w = np.asarray(w, dtype=float)
        self.X = X
        self.A = X.T @ (self.w[:, None] * X)
        self.Ainv = np.linalg.inv(self.A)
        self._h: np.ndarray | None = None

    def residuals(self, y: np.ndarray) -> np.ndarray:
        """``y - X b`` with b the WLS coefficients."""
        b = np.linalg.solve(self.A, self.X.T @ (self.w * y))
        return y - self.X @ b

    def apply(self, y: np.ndarray) -> np.ndarray:
        """``P y = W (y - X b)``."""
        return self.w * self.residuals(y)

    def quad(self, y: np.ndarray) -> float:
        """``y'Py = sum w (y - X b)^2``."""
        r = self.residuals(y)
        return float(np.sum(self.w * r * r))

    def _lev(self) -> np.ndarray:
        """``x_i' (X'WX)^{-1} x_i`` per row."""
        if self._h is None:
            self._h = np.einsum("ij,jk,ik->i", self.X, self.Ainv, self.X)
        return self._h

    def diag(self) -> np.ndarray:
        """``diag(P)_i = w_i - w_i^2 x_i' A^{-1} x_i``."""
        return self.w - self.w**2 * self._lev()

    def trace(self) -> float:
        """``tr P``."""
        return float(np.sum(self.diag()))

    def diag_sq(self) -> np.ndarray:
        """``diag(P^2)_i = w_i^2 (1 - 2 w_i h_i + x_i' A^{-1} B A^{-1} x_i)``, B = X'W^2X."""
        B = self.X.T @ ((self.w**2)[:, None] * self.X)
        M = self.Ainv @ B @ self.Ainv
        g = np.einsum("ij,jk,ik->i", self.X, M, self.X)
        return self.w**2 * (1.0 - 2.0 * self.w * self._lev() + g)

    def frob2(self) -> float:
        """``sum(P * P) = tr(P^2)``."""
        return float(np.sum(self.diag_sq()))

    def trace_pvpv(self, v: np.ndarray) -> float:
        """``tr(P V P V)`` for V = diag(v) (``sum(PV * PV')`` in metafor's se.tau2)."""
        w, X, Ai = self.w, self.X, self.Ainv
        t1 = float(np.sum((w * v) ** 2))
        t2 = float(np.trace(Ai @ (X.T @ ((w**3 * v**2)[:, None] * X))))
        C = X.T @ ((w**2 * v)[:, None] * X)
        t3 = float(np.trace(Ai @ C @ Ai @ C))
        return t1 - 2.0 * t2 + t3


def projection(wi: np.ndarray, X: np.ndarray) -> Projection:
    """The projection of `Projection` for weights ``wi`` (kept as the estimators' one entry)."""
    return Projection(wi, X)


def r_mad(x: np.ndarray) -> float:
    """R's ``mad()``: 1.4826 * median(|x - median(x)|)."""
    return float(1.4826 * np.median(np.abs(x - np.median(x))))
