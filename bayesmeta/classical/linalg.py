"""Small shared pieces: input checks, the projection matrix P, metafor's control settings."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from bayesmeta.classical.zeroin import R_TOL
from bayesmeta.errors import InputError

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


def projection(wi: np.ndarray, X: np.ndarray) -> np.ndarray:
    """P = W - W X (X'WX)^{-1} X'W, so that Q = y'Py is the weighted residual sum of squares."""
    WX = wi[:, None] * X
    return np.diag(wi) - WX @ np.linalg.solve(X.T @ WX, WX.T)


def r_mad(x: np.ndarray) -> float:
    """R's ``mad()``: 1.4826 * median(|x - median(x)|)."""
    return float(1.4826 * np.median(np.abs(x - np.median(x))))
