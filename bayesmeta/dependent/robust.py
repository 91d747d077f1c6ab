"""Cluster-robust (sandwich) inference for meta-analytic models fitted by GLS.

With B = (X'WX)^-1, W = M^-1 the model's weights, e = y - X beta_hat and clusters j:

* **CR1** (metafor ``robust(fit, cluster, clubSandwich = FALSE)``):
  V = n/(n - p) B [sum_j X_j' W_j e_j e_j' W_j X_j] B, t tests on n - p df (n clusters).
* **CR2** (``robust(fit, cluster, clubSandwich = TRUE)``, clubSandwich ``vcovCR(type =
  "CR2")`` + ``coef_test(test = "Satterthwaite")``; Pustejovsky & Tipton 2018, JBES 36:672):
  A_j = D_j' (D_j (Phi_jj - X_j B X_j') D_j')^(-1/2) D_j with D_j' D_j = Phi_jj, the working
  covariance Phi = M, V = B [sum_j X_j' W_j A_j e_j e_j' A_j W_j X_j] B; the degrees of freedom
  of coefficient c are the Satterthwaite approximation (tr Omega)^2 / ||Omega||_F^2 with
  Omega_ij = p_i' Phi p_j and p_j = (I - H)_j' A_j W_j X_j B c (H = X B X' W).

Requires W_jj = (M_jj)^-1, which holds when the model's covariance is block-diagonal in the
clusters (nested models clustered at the outer level, multivariate models by cluster, the
plain random-effects model by any grouping).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy import linalg, stats

from bayesmeta.errors import InputError


def _groups(cluster: Sequence[Any]) -> list[np.ndarray]:
    labels = np.asarray([str(x) for x in cluster], dtype=object)
    return [np.flatnonzero(labels == c) for c in dict.fromkeys(labels)]


def _inv_sqrt(S: np.ndarray) -> np.ndarray:
    w, U = np.linalg.eigh(0.5 * (S + S.T))
    tol = max(w.max(), 0.0) * 1e-12
    d = np.where(w > tol, 1.0 / np.sqrt(np.where(w > tol, w, 1.0)), 0.0)
    return np.asarray((U * d) @ U.T)


def cluster_robust(y: np.ndarray, X: np.ndarray, M: np.ndarray, cluster: Sequence[Any],
                   kind: str = "CR2", level: float = 0.95) -> dict[str, Any]:  # fmt: skip
    """Robust covariance, SEs, df, t tests and intervals of the GLS coefficients.

    Examples:
        >>> import numpy as np
        >>> from bayesmeta.dependent.robust import cluster_robust
        >>> y = np.array([0.1, 0.3, 0.2, 0.6, 0.5, 0.9])
        >>> r = cluster_robust(y, np.ones((6, 1)), np.eye(6) * 0.05, list("aabbcc"), "CR1")
        >>> round(float(r["se"][0]), 4), float(r["df"][0])
        (0.1453, 2.0)
    """
    groups = _groups(cluster)
    n, (k, p) = len(groups), X.shape
    if n < 2:
        raise InputError("cluster-robust inference needs at least 2 clusters (option --robust)")
    if kind not in ("CR1", "CR2"):
        raise InputError(f"robust type must be CR1 or CR2, not {kind!r}")
    c = linalg.cho_factor(M, lower=True)
    W = linalg.cho_solve(c, np.eye(k))
    B = np.linalg.inv(X.T @ W @ X)
    beta = B @ X.T @ W @ y
    e = y - X @ beta
    meat = np.zeros((p, p))
    blocks = []
    for g in groups:
        Wj = W[np.ix_(g, g)]
        Xj = X[g]
        if kind == "CR2":
            Mj = M[np.ix_(g, g)]
            Dj = linalg.cholesky(Mj, lower=False)  # Dj' Dj = Phi_j
            Sj = Dj @ (Mj - Xj @ B @ Xj.T) @ Dj.T
            Aj = Dj.T @ _inv_sqrt(Sj) @ Dj
        else:
            Aj = np.eye(len(g))
        u = Xj.T @ Wj @ Aj @ e[g]
        meat += np.outer(u, u)
        blocks.append((g, Aj, Wj, Xj))
    vcov = B @ meat @ B
    if kind == "CR1":
        vcov = vcov * n / (n - p)
        df = np.full(p, float(n - p))
    else:
        H = X @ B @ X.T @ W
        IH = np.eye(k) - H
        df = np.empty(p)
        for m in range(p):
            cvec = np.zeros(p)
            cvec[m] = 1.0
            P = np.column_stack([IH[g].T @ (Aj @ Wj @ Xj @ B @ cvec) for g, Aj, Wj, Xj in blocks])
            Om = P.T @ M @ P
            df[m] = float(np.trace(Om) ** 2 / np.sum(Om * Om))
    se = np.sqrt(np.diag(vcov))
    tval = beta / se
    pval = 2.0 * stats.t.sf(np.abs(tval), df)
    crit = stats.t.ppf(0.5 + level / 2, df)
    return {"kind": kind, "vcov": vcov, "se": se, "df": df, "tval": tval, "pval": pval,
            "ci_low": beta - crit * se, "ci_high": beta + crit * se, "n_clusters": n,
            "beta": beta}  # fmt: skip


__all__ = ["cluster_robust"]
