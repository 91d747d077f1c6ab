"""Dependent effect sizes, classical: multilevel and multivariate models and cluster-robust
inference, identical to metafor 3.8 (``rma.mv``, ``vcalc``, ``robust``) and clubSandwich.

* `multilevel`: effects nested in clusters, ``rma.mv(yi, vi, mods, random = ~ 1 |
  cluster/study)``: one variance per level, their profile-likelihood intervals
  (``confint``), Q_E, and the multilevel I^2 (Nakagawa & Santos 2012; Cheung 2014,
  Psychol Methods 19:211): 100 sigma_l^2 / (sum sigma^2 + (k - p) / tr(P)) with the
  fixed-effect P = W - W X (X'WX)^-1 X'W, W = V^-1, as metafor's documentation computes it.
* `multivariate`: several outcomes per cluster, ``rma.mv(yi, V, mods = ~ 0 + outcome,
  random = ~ outcome | cluster, struct)`` with V from `bayesmeta.dependent.vcalc.vcalc`
  (``rho``) or given; struct ``"UN"`` (default, as the CLI), ``"CS"`` or ``"HCS"``.
* `random_effects_robust`: the plain random-effects model (REML) with cluster-robust
  inference.

``robust="CR2"`` (clubSandwich: CR2, Satterthwaite df) or ``"CR1"`` (metafor's
``clubSandwich = FALSE``) adds cluster-robust tests, clustered at the outer level.
Defaults: REML, z tests (metafor's ``test = "z"``), 95 % intervals.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy import optimize, stats

from bayesmeta.dependent.fit import MvModel, omnibus, wald
from bayesmeta.dependent.result import DependentResult
from bayesmeta.dependent.robust import cluster_robust
from bayesmeta.dependent.structures import Nested, OutcomeByCluster
from bayesmeta.dependent.vcalc import check_blocks, vcalc
from bayesmeta.errors import InputError


def _arrays(yi: Any, vi: Any) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(yi, dtype=float)
    v = np.asarray(vi, dtype=float)
    if y.ndim != 1 or v.shape != y.shape or y.size == 0:
        raise InputError("yi and vi need one value per effect size")
    if not (np.all(np.isfinite(y)) and np.all(np.isfinite(v)) and np.all(v > 0)):
        raise InputError("yi must be finite and vi finite and > 0")
    return y, v


def _design(mods: Any, k: int, intercept: bool = True) -> tuple[np.ndarray, list[str]]:
    if mods is None:
        return np.ones((k, 1)), ["intrcpt"]
    X = np.asarray(mods, dtype=float)
    if X.ndim == 1:
        X = X[:, None]
    if X.shape[0] != k or not np.all(np.isfinite(X)):
        raise InputError("mods must have one finite row per effect size")
    names = [f"mod{j + 1}" for j in range(X.shape[1])]
    if intercept:
        return np.column_stack([np.ones(k), X]), ["intrcpt", *names]
    return X, names


def _check_robust(robust: str | bool | None) -> str | None:
    if robust is None or robust is False:
        return None
    if robust is True:
        return "CR2"
    r = str(robust).upper()
    if r not in ("CR1", "CR2"):
        raise InputError(f"robust must be 'CR2' or 'CR1', not {robust!r}")
    return r


def _btt(names: list[str]) -> np.ndarray:
    idx = [j for j, n in enumerate(names) if n != "intrcpt"]
    return np.array(idx if idx and len(idx) < len(names) else range(len(names)))


def _profile_ci(model: MvModel, fit: Any, j: int, level: float) -> tuple[float, float]:
    """Profile-likelihood interval of sigma_j^2 (metafor ``confint.rma.mv``)."""
    target = fit.loglik - 0.5 * stats.chi2.ppf(level, 1)
    est = math.exp(fit.theta[j])

    def prof(s2: float) -> float:
        t = -math.inf if s2 <= 0 else math.log(s2)
        try:
            return model.fit(fit.method, theta0=fit.theta, fixed={j: t}).loglik - target
        except Exception:  # noqa: BLE001 - an unfittable point lies outside the interval
            return -1.0

    lo = 0.0
    if prof(0.0) < 0:
        lo = optimize.brentq(prof, 0.0, est, xtol=1e-12 * max(est, 1e-12), rtol=1e-10)
    hi_b = max(est, 1e-8) * 2
    for _ in range(200):
        if prof(hi_b) < 0:
            break
        hi_b *= 2
    hi = optimize.brentq(prof, est, hi_b, xtol=1e-12 * max(est, 1e-12), rtol=1e-10)
    return lo, hi


def _i2(model: MvModel, sigma2: Sequence[float]) -> tuple[float, list[float]]:
    W = np.linalg.inv(model.V)
    X = model.X
    P = W - W @ X @ np.linalg.solve(X.T @ W @ X, X.T @ W)
    typical = (model.k - model.p) / float(np.trace(P))
    tot = float(sum(sigma2))
    return 100 * tot / (tot + typical), [100 * s / (tot + typical) for s in sigma2]


def multilevel(
    yi: Any,
    vi: Any,
    cluster: Sequence[Any],
    study: Sequence[Any] | None = None,
    *,
    mods: Any = None,
    mod_names: Sequence[str] | None = None,
    method: str = "REML",
    test: str = "z",
    level: float = 0.95,
    robust: str | bool | None = None,
    profile: bool = True,
    labels: Sequence[str] = ("cluster", "cluster/study"),
) -> DependentResult:
    """Effects nested in clusters (module docstring); ``study`` (unique per effect size;
    default the row) is the inner level.

    Examples:
        >>> import numpy as np
        >>> from bayesmeta.dependent.api import multilevel
        >>> y = [0.1, 0.3, 0.2, 0.6, 0.5, 0.9, 0.4, 0.2]
        >>> r = multilevel(y, [0.01] * 8, cluster=list("aabbccdd"), robust="CR2")
        >>> round(r.estimate, 4), r.n_clusters, len(r.sigma2)
        (0.4, 4, 2)
    """
    y, v = _arrays(yi, vi)
    k = y.size
    if len(cluster) != k:
        raise InputError("cluster needs one value per effect size")
    inner = [str(i) for i in range(k)] if study is None else [str(s) for s in study]
    if len(inner) != k:
        raise InputError("study needs one value per effect size")
    X, names = _design(mods, k)
    if mod_names is not None and mods is not None:
        names = ["intrcpt", *mod_names]
    rob = _check_robust(robust)
    if test not in ("z", "t"):
        raise InputError(f"test must be 'z' or 't', not {test!r}")
    s = Nested([[str(c) for c in cluster], inner], list(labels))
    model = MvModel(y, v, X, s)
    fit = model.fit(method)
    sigma2 = fit.components["sigma2"]
    ddf = k - X.shape[1]
    coef = wald(fit.beta, fit.vb, test, ddf, level)
    q, qdf, qp = model.q_e()
    qm = omnibus(fit.beta, fit.vb, _btt(names), test, ddf) if X.shape[1] > 1 else None
    i2, i2_levels = _i2(model, sigma2)
    ci = [_profile_ci(model, fit, j, level) for j in range(len(sigma2))] if profile else None
    out = DependentResult(
        kind="multilevel", method=method, test=test, level=level, k=k,
        n_clusters=s.n_levels[0], names=names, coef=coef, vb=fit.vb, loglik=fit.loglik,
        q=q, q_df=qdf, q_p=qp, qm=qm, sigma2=list(sigma2), sigma2_ci=ci,
        levels=list(labels), n_levels=list(s.n_levels), i2=i2, i2_levels=i2_levels,
        iterations=fit.iterations,
    )  # fmt: skip
    out.extra.update(X=X, M=fit.M)
    if rob:
        out.robust = cluster_robust(y, X, fit.M, cluster, rob, level)
    return out


def multivariate(
    yi: Any,
    cluster: Sequence[Any],
    outcome: Sequence[Any],
    *,
    vi: Any = None,
    rho: float | None = None,
    V: Any = None,
    struct: str = "UN",
    method: str = "REML",
    level: float = 0.95,
    robust: str | bool | None = None,
) -> DependentResult:
    """Several outcomes per cluster (module docstring): outcome-specific estimates with
    ``V`` given, or built by ``vcalc(vi, cluster, obs = outcome, rho)``.

    Examples:
        >>> from bayesmeta.dependent.api import multivariate
        >>> y = [0.4, 0.2, 0.5, 0.1, 0.3, 0.3, 0.6, 0.2]
        >>> r = multivariate(y, list("aabbccdd"), ["x", "y"] * 4, vi=[0.02] * 8, rho=0.5,
        ...                  struct="CS")
        >>> [o["outcome"] for o in r.outcomes], round(r.outcomes[0]["estimate"], 4)
        (['x', 'y'], 0.45)
    """
    y = np.asarray(yi, dtype=float)
    k = y.size
    if len(cluster) != k or len(outcome) != k:
        raise InputError("cluster and outcome need one value per effect size")
    rob = _check_robust(robust)
    s0 = str(struct).upper()
    if s0 not in ("UN", "CS", "HCS"):
        raise InputError(f"option --struct: UN, CS or HCS, not {struct!r}")
    if len(set(map(str, outcome))) < 2:
        raise InputError("option --outcome: the outcome column has one level; a multivariate "
                         "model needs at least 2")  # fmt: skip
    if V is None:
        if vi is None or rho is None:
            raise InputError("give V, or vi with rho (option --rho)")
        y, v = _arrays(y, vi)
        Vm = vcalc(v, cluster, outcome, rho)
    else:
        Vm = np.asarray(V, dtype=float)
        check_blocks(Vm, cluster)
        y, _ = _arrays(y, np.diag(Vm))
    s = OutcomeByCluster(cluster, outcome, s0)
    X = s.E
    model = MvModel(y, Vm, X, s)
    fit = model.fit(method)
    coef = wald(fit.beta, fit.vb, "z", None, level)
    q, qdf, qp = model.q_e()
    qm = omnibus(fit.beta, fit.vb, np.arange(X.shape[1]), "z", None)
    comp = fit.components
    out = DependentResult(
        kind="multivariate", method=method, test="z", level=level, k=k,
        n_clusters=len(s.clusters), names=list(s.outcomes), coef=coef, vb=fit.vb,
        loglik=fit.loglik, q=q, q_df=qdf, q_p=qp, qm=qm, struct=s0,
        tau2=dict(comp["tau2"]), rho_between=np.asarray(comp["rho"]), rho_within=rho,
        iterations=fit.iterations,
    )  # fmt: skip
    out.extra.update(X=X, M=fit.M)
    if rob:
        out.robust = cluster_robust(y, X, fit.M, cluster, rob, level)
    return out


def random_effects_robust(
    yi: Any,
    vi: Any,
    cluster: Sequence[Any],
    *,
    robust: str = "CR2",
    level: float = 0.95,
    method: str = "REML",
) -> DependentResult:
    """The random-effects model (tau^2 by ``method``, metafor ``rma``) with cluster-robust
    inference (``robust(fit, cluster, clubSandwich = ...)``).

    Examples:
        >>> from bayesmeta.dependent.api import random_effects_robust
        >>> r = random_effects_robust([0.1, 0.3, 0.2, 0.6], [0.02] * 4, list("aabb"), robust="CR1")
        >>> r.robust["df"].tolist()
        [1.0]
    """
    from bayesmeta.classical.pooling import rma

    y, v = _arrays(yi, vi)
    if len(cluster) != y.size:
        raise InputError("cluster needs one value per effect size")
    rob = _check_robust(robust) or "CR2"
    f = rma(y, v, method=method, level=level)  # metafor's defaults, its iterations
    tau2 = float(f.tau2)
    X = np.ones((y.size, 1))
    M = np.diag(v + tau2)
    beta, vb = np.asarray(f.beta, float), np.asarray(f.vb, float)
    coef = wald(beta, vb, "z", None, level)
    out = DependentResult(
        kind="random-effects", method=method, test="z", level=level, k=y.size,
        n_clusters=len(set(map(str, cluster))), names=["intrcpt"], coef=coef, vb=vb,
        loglik=float("nan"), q=float(f.qe), q_df=y.size - 1, q_p=float(f.qe_p), qm=None,
        tau2={"": tau2},
    )  # fmt: skip
    out.extra.update(X=X, M=M)
    out.robust = cluster_robust(y, X, M, cluster, rob, level)
    return out


def rho_sweep(
    yi: Any,
    vi: Any,
    cluster: Sequence[Any],
    outcome: Sequence[Any],
    rhos: Sequence[float] = (0.0, 0.2, 0.4, 0.6, 0.8),
    *,
    struct: str = "CS",
    robust: str | None = None,
    level: float = 0.95,
) -> Any:
    """The multivariate model refitted for each assumed within-cluster sampling correlation
    ``rho`` (the usual sensitivity analysis when the correlations are not reported): one row
    per rho and outcome with estimate, se, ci_low, ci_high, pval, tau2 and the
    between-cluster correlation.

    Examples:
        >>> from bayesmeta.dependent.api import rho_sweep
        >>> y = [0.4, 0.2, 0.5, 0.1, 0.3, 0.3, 0.6, 0.2]
        >>> t = rho_sweep(y, [0.02] * 8, list("aabbccdd"), ["x", "y"] * 4, rhos=(0.0, 0.5))
        >>> t[["rho", "outcome"]].values.tolist()
        [[0.0, 'x'], [0.0, 'y'], [0.5, 'x'], [0.5, 'y']]
    """
    import pandas as pd

    rows = []
    for r in rhos:
        res = multivariate(yi, cluster, outcome, vi=vi, rho=r, struct=struct, level=level,
                           robust=robust)  # fmt: skip
        R = np.asarray(res.rho_between)
        for j, o in enumerate(res.outcomes):
            row = {
                "rho": float(r),
                **o,
                "tau2": float((res.tau2 or {})[o["outcome"]]),
                "rho_between": float(R[0, 1]) if R.shape == (2, 2) else float("nan"),
            }
            row.pop("robust", None)
            if res.robust:
                row["robust_ci_low"] = float(res.robust["ci_low"][j])
                row["robust_ci_high"] = float(res.robust["ci_high"][j])
            rows.append(row)
    return pd.DataFrame(rows)


__all__ = ["multilevel", "multivariate", "random_effects_robust", "rho_sweep"]
