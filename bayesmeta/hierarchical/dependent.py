"""Bayesian models of dependent effect sizes in PyMC: the Bayesian counterparts of
`bayesmeta.dependent` (metafor ``rma.mv``), sampled by NUTS (nutpie) and diagnosed.

* **multilevel**: y_i = x_i' beta + u_c(i) + w_i + e_i, e ~ N(0, V) (V known: diagonal vi or
  a full block-diagonal matrix), u_c ~ N(0, sigma_1^2) between clusters, w_i ~ N(0, sigma_2^2)
  within; non-centred (u = sigma_1 z, w = sigma_2 z').
* **multivariate**: theta_c ~ MvNormal(0, G) over the outcomes of cluster c, G = diag(tau)
  R diag(tau) with R ~ LKJ(eta) (Lewandowski, Kurowicka & Joe 2009; eta = 2, mild shrinkage
  towards 0 correlation, as brms's default ``lkj(1)`` is flat: ``eta`` is an option) and a
  prior on each tau; non-centred through the Cholesky factor (theta_c = L z_c).

The known V enters by whitening: with V = L_V L_V', L_V^-1 y ~ N(L_V^-1 (X beta + theta), I)
is the MvNormal likelihood exactly. Priors: beta flat (the package default for mu), each
standard deviation the package's scale-safe default tau prior (`bayesmeta.defaults`) unless
given. With one effect per cluster the multilevel model is the normal-normal model with
tau^2 = sigma_1^2 + sigma_2^2 (checked against the exact engine).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from bayesmeta.errors import InputError

DRAWS, TUNE, CHAINS = 1000, 1000, 4


@dataclass
class DependentPosterior:
    """Posterior summaries (medians and central intervals) with the classical names.

    Examples:
        >>> import numpy as np
        >>> from bayesmeta.hierarchical.dependent import DependentPosterior
        >>> p = DependentPosterior("multilevel", {"beta": np.zeros((2, 5, 1))}, ["intrcpt"],
        ...                        0.95, {})
        >>> p.kind
        'multilevel'
    """

    kind: str
    draws: dict[str, np.ndarray]
    names: list[str]
    level: float
    diagnostics: dict[str, Any]
    outcomes: list[str] = field(default_factory=list)
    priors: dict[str, str] = field(default_factory=dict)

    def _q(self, x: np.ndarray) -> dict[str, float]:
        a = (1 - self.level) / 2
        f = np.asarray(x, float).ravel()
        return {"median": float(np.median(f)), "ci_low": float(np.quantile(f, a)),
                "ci_high": float(np.quantile(f, 1 - a)), "mean": float(f.mean()),
                "sd": float(f.std(ddof=1))}  # fmt: skip

    def to_dict(self) -> dict[str, Any]:
        """Medians and intervals under the classical JSON names (``estimate`` is the
        median)."""
        b = self.draws["beta"]
        coefs = [{"name": n, "estimate": self._q(b[..., j])["median"], **self._q(b[..., j])}
                 for j, n in enumerate(self.names)]  # fmt: skip
        out: dict[str, Any] = {"model": self.kind, "engine": "pymc", "level": self.level,
                               "estimate": coefs[0]["median"], "ci_low": coefs[0]["ci_low"],
                               "ci_high": coefs[0]["ci_high"], "coefficients": coefs,
                               "priors": self.priors,
                               "diagnostics": {k: (float(v) if isinstance(v, (int, float,
                                               np.floating, np.integer)) else v)
                                               for k, v in self.diagnostics.items()}}  # fmt: skip
        if self.kind == "multilevel":
            s = self.draws["sigma"]
            out["sigma2"] = [self._q(s[..., j] ** 2)["median"] for j in range(s.shape[-1])]
            out["sigma2_ci"] = [[self._q(s[..., j] ** 2)["ci_low"], self._q(s[..., j] ** 2)
                                 ["ci_high"]] for j in range(s.shape[-1])]  # fmt: skip
        else:
            t = self.draws["tau"]
            out["outcomes"] = [{"outcome": n, "estimate": c["median"], "median": c["median"],
                                "ci_low": c["ci_low"], "ci_high": c["ci_high"]}
                               for n, c in zip(self.names, coefs, strict=True)]  # fmt: skip
            out["tau2"] = {o: self._q(t[..., j] ** 2)["median"] for j, o in enumerate(self.names)}
            R = self.draws["rho"]
            med = np.median(R.reshape(-1, *R.shape[-2:]), axis=0)
            out["rho_between"] = float(med[0, 1]) if med.shape == (2, 2) else med.tolist()
            if med.shape == (2, 2):
                out["rho_between_ci"] = [self._q(R[..., 0, 1])["ci_low"],
                                         self._q(R[..., 0, 1])["ci_high"]]  # fmt: skip
        return out

    def __str__(self) -> str:
        d = self.to_dict()
        lines = [f"Bayesian {self.kind} meta-analysis (PyMC, NUTS; medians and "
                 f"{self.level:.0%} central credible intervals)", ""]  # fmt: skip
        for c in d["coefficients"]:
            lines.append(f"  {c['name']:<12} {c['median']:9.4f}  [{c['ci_low']:.4f}, "
                         f"{c['ci_high']:.4f}]")  # fmt: skip
        if "sigma2" in d:
            for j, (m, (lo, hi)) in enumerate(zip(d["sigma2"], d["sigma2_ci"], strict=True)):
                lines.append(f"  sigma^2.{j + 1}    {m:9.4f}  [{lo:.4f}, {hi:.4f}]")
        if "tau2" in d:
            for o, m in d["tau2"].items():
                lines.append(f"  tau^2 {o:<7} {m:9.4f}")
            if isinstance(d["rho_between"], float):
                lo, hi = d["rho_between_ci"]
                lines.append(f"  rho          {d['rho_between']:9.4f}  [{lo:.4f}, {hi:.4f}]")
        lines += ["", "Priors: " + "; ".join(f"{k} ~ {v}" for k, v in self.priors.items())]
        dg = self.diagnostics
        lines.append(f"Diagnostics: R-hat max {dg.get('max_rhat', float('nan')):.3f}; "
                     f"bulk ESS min {dg.get('min_ess_bulk', float('nan')):.0f}; "
                     f"{dg.get('divergences', 0)} divergences")  # fmt: skip
        return "\n".join(lines)


def _whitener(V: np.ndarray) -> np.ndarray:
    L = np.linalg.cholesky(V)
    return np.asarray(np.linalg.inv(L))


def _sd_prior(text: str | None, sei: np.ndarray) -> Any:
    from bayesmeta.defaults import default_priors
    from bayesmeta.priors import parse_prior

    return parse_prior(text or default_priors(sei).tau, "tau")


def _sample(model: Any, draws: int, tune: int, chains: int, seed: int, progress: bool,
            target_accept: float) -> tuple[dict[str, np.ndarray], dict[str, Any]]:  # fmt: skip
    import xarray as xr

    from bayesmeta.hierarchical.compiled import compile_model
    from bayesmeta.hierarchical.diagnostics import (
        diagnose_groups,
        diagnostic_warnings,
        warn_all,
    )
    from bayesmeta.hierarchical.trace import sample_nutpie

    compiled = compile_model(model)
    post, stats = sample_nutpie(compiled, draws=draws, tune=tune, chains=chains,
                                cores=min(chains, 2), seed=seed, progress_bar=progress,
                                target_accept=target_accept)  # fmt: skip
    names = [str(v) for v in post.data_vars]
    # sigma duplicates sigma_between / sigma_within; *_z are the non-centred innovations
    keep = [v for v in names if not v.endswith(("_z", "__")) and v != "sigma"]
    diag = diagnose_groups(xr.Dataset({k: post[k] for k in keep}), stats)
    warn_all(diagnostic_warnings(diag, centred=False, target_accept=target_accept, draws=draws,
                                 tune=tune))  # fmt: skip
    return {k: np.asarray(post[k].values) for k in names}, dict(diag)


def multilevel_model(y: np.ndarray, V: np.ndarray, cluster: Sequence[Any], X: np.ndarray,
                     prior: Any, beta_prior: Any = None) -> Any:  # fmt: skip
    """The PyMC multilevel model; the data enter as ``pm.Data("y_obs")`` (whitened), so one
    compiled model serves replicate data sets (simulation-based calibration). With one
    effect per cluster the within level is dropped (it is not identified): the model is then
    the normal-normal model with tau = sigma_between.

    Examples:
        >>> import numpy as np
        >>> from bayesmeta.hierarchical.dependent import multilevel_model
        >>> from bayesmeta.priors import parse_prior
        >>> m = multilevel_model(np.array([0.1, 0.3, 0.2]), np.diag([0.02] * 3), list("aab"),
        ...                      np.ones((3, 1)), parse_prior("halfnormal(0.5)", "tau"))
        >>> sorted(v.name for v in m.free_RVs)
        ['beta', 'sigma_between', 'sigma_within', 'u_z', 'w_z']
    """
    import pymc as pm
    import pytensor.tensor as pt

    k = y.size
    labels = [str(c) for c in cluster]
    levels = list(dict.fromkeys(labels))
    cidx = np.array([levels.index(c) for c in labels])
    Winv = _whitener(V)
    two = len(levels) < k
    with pm.Model() as model:
        y_obs = pm.Data("y_obs", Winv @ y)
        if beta_prior is None:
            beta = pm.Flat("beta", shape=X.shape[1])
        else:
            beta = beta_prior.to_pymc("beta", shape=X.shape[1])
        s1 = prior.to_pymc("sigma_between")
        mean = pt.dot(X, beta) + s1 * pm.Normal("u_z", 0.0, 1.0, shape=len(levels))[cidx]
        if two:
            s2 = prior.to_pymc("sigma_within")
            mean = mean + s2 * pm.Normal("w_z", 0.0, 1.0, shape=k)
            pm.Deterministic("sigma", pt.stack([s1, s2]))
        else:
            pm.Deterministic("sigma", pt.stack([s1]))
        pm.Normal("y_white", mu=pt.dot(Winv, mean), sigma=1.0, observed=y_obs)
    return model


def multilevel_posterior(
    yi: Any,
    V: Any,
    cluster: Sequence[Any],
    *,
    X: Any = None,
    names: Sequence[str] | None = None,
    sigma_prior: str | None = None,
    level: float = 0.95,
    draws: int = DRAWS,
    tune: int = TUNE,
    chains: int = CHAINS,
    seed: int = 20201,
    progress: bool = False,
    target_accept: float = 0.9,
) -> DependentPosterior:
    """Posterior of the multilevel model (module docstring).

    Examples:
        Sampling takes seconds, so it is not run as a doctest (tests/hierarchical/
        test_dependent_bayes.py checks it against brms and the exact engine).

        >>> from bayesmeta.hierarchical.dependent import multilevel_posterior
        >>> post = multilevel_posterior([0.1, 0.3, 0.2, 0.6], [0.02] * 4,  # doctest: +SKIP
        ...                             ["a", "a", "b", "b"])
    """
    y = np.asarray(yi, float)
    Vm = np.asarray(V, float)
    Vm = np.diag(Vm) if Vm.ndim == 1 else Vm
    k = y.size
    if len(cluster) != k:
        raise InputError("cluster needs one value per effect size")
    Xm = np.ones((k, 1)) if X is None else np.asarray(X, float)
    prior = _sd_prior(sigma_prior, np.sqrt(np.diag(Vm)))
    model = multilevel_model(y, Vm, cluster, Xm, prior)
    d, diag = _sample(model, draws, tune, chains, seed, progress, target_accept)
    return DependentPosterior("multilevel", d, list(names or ["intrcpt"]), level, diag,
                              priors={"beta": "flat", "sigma_between": prior.text,
                                      "sigma_within": prior.text})  # fmt: skip


def multivariate_posterior(
    yi: Any,
    V: Any,
    cluster: Sequence[Any],
    outcome: Sequence[Any],
    *,
    tau_prior: str | None = None,
    eta: float = 2.0,
    level: float = 0.95,
    draws: int = DRAWS,
    tune: int = TUNE,
    chains: int = CHAINS,
    seed: int = 20201,
    progress: bool = False,
    target_accept: float = 0.9,
) -> DependentPosterior:
    """Posterior of the multivariate model (module docstring): one mean per outcome (sorted
    outcome labels, as the classical model), G = diag(tau) R diag(tau), R ~ LKJ(eta).

    Examples:
        >>> from bayesmeta.hierarchical.dependent import multivariate_posterior
        >>> post = multivariate_posterior([0.1, 0.3, 0.2, 0.6], [0.02] * 4,  # doctest: +SKIP
        ...                               ["a", "a", "b", "b"], ["x", "y", "x", "y"])
    """
    import pymc as pm
    import pytensor.tensor as pt

    y = np.asarray(yi, float)
    Vm = np.asarray(V, float)
    Vm = np.diag(Vm) if Vm.ndim == 1 else Vm
    labels = [str(c) for c in cluster]
    levels = list(dict.fromkeys(labels))
    cidx = np.array([levels.index(c) for c in labels])
    outs = sorted(set(map(str, outcome)))
    if len(outs) < 2:
        raise InputError("option --outcome: the outcome column has one level; a multivariate "
                         "model needs at least 2")  # fmt: skip
    if not (math.isfinite(eta) and eta > 0):
        raise InputError(f"LKJ eta must be > 0 (got {eta})")
    oidx = np.array([outs.index(str(o)) for o in outcome])
    p = len(outs)
    sei = np.sqrt(np.diag(Vm))
    prior = _sd_prior(tau_prior, sei)
    if prior.family not in ("halfnormal", "halfcauchy", "halft", "exponential"):
        raise InputError(f"the multivariate PyMC model takes a halfnormal, halfcauchy, halft "
                         f"or exponential tau prior, not {prior.text}")  # fmt: skip
    pp = prior.pymc_params()
    dist = {"halfnormal": pm.HalfNormal, "halfcauchy": pm.HalfCauchy, "halft": pm.HalfStudentT,
            "exponential": pm.Exponential}[prior.family]  # fmt: skip
    Winv = _whitener(Vm)
    with pm.Model() as model:
        beta = pm.Flat("beta", shape=p)
        chol, corr, sds = pm.LKJCholeskyCov("G", n=p, eta=eta, sd_dist=dist.dist(**pp, shape=p),
                                            compute_corr=True)  # fmt: skip
        z = pm.Normal("theta_z", 0.0, 1.0, shape=(len(levels), p))
        theta = pt.dot(z, chol.T)  # rows: clusters
        mean = beta[oidx] + theta[cidx, oidx]
        pm.Normal("y_white", mu=pt.dot(Winv, mean), sigma=1.0, observed=Winv @ y)
        pm.Deterministic("tau", sds)
        pm.Deterministic("rho", corr)
    d, diag = _sample(model, draws, tune, chains, seed, progress, target_accept)
    return DependentPosterior("multivariate", d, outs, level, diag, outcomes=outs,
                              priors={"beta": "flat", "tau (each outcome)": prior.text,
                                      "R": f"LKJ({eta:g})"})  # fmt: skip


__all__ = [
    "DependentPosterior",
    "multilevel_model",
    "multilevel_posterior",
    "multivariate_posterior",
]
