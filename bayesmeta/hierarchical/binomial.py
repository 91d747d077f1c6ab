"""Binomial-likelihood meta-analysis in PyMC: event rates and two-arm 2x2 tables, no
continuity correction (equations in docs/models.md).

* ``kind="rate"`` (one arm per row, x_i events of n_i):
  ``x_i ~ Binomial(n_i, p_i)``, ``logit p_i = mu + tau z_i``, ``z_i ~ N(0, 1)`` (non-centred).
  With one row and ``p_prior="beta(a, b)"`` the model is the conjugate
  ``x ~ Binomial(n, p)``, ``p ~ Beta(a, b)`` (exact posterior:
  `bayesmeta.safety.beta_posterior`).
* ``kind="2x2"`` (ai events of n1i treated, ci of n2i control), the binomial-normal model of
  Smith, Spiegelhalter & Thomas (1995, Stat Med 14:2685-2699) with fixed study baselines:
  ``ci ~ Binomial(n2i, expit(alpha_i))``, ``ai ~ Binomial(n1i, expit(alpha_i + theta_i))``,
  ``theta_i = mu + tau z_i`` (log odds ratios), ``alpha_i ~ N(0, 10^2)`` each. Double-zero
  tables stay in (they inform alpha_i). This is metafor's ``rma.glmm(measure = "OR",
  model = "UM.FS")`` with priors.

Priors are text as elsewhere: ``mu_prior`` default ``normal(0, 10)`` (weakly informative on
the logit / log-OR scale: 95 % of its mass on odds ratios or odds within e^+-19.6), ``tau_prior``
default ``halfnormal(0.5)`` (the package's log-ratio default; Friede et al. 2017). Sampled with
nutpie, diagnosed after every fit (`bayesmeta.hierarchical.diagnose`); the result is a
`MetaResult` on the logit (rate) or log-OR (2x2) scale with ``posterior`` rows mu, tau and
theta_new.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from bayesmeta.errors import InputError
from bayesmeta.results import MetaResult

KINDS = ("rate", "2x2")
_COMPILED: dict[tuple[Any, ...], Any] = {}  # one compiled model per kind, k and priors
DEFAULT_MU, DEFAULT_TAU, DEFAULT_BASELINE = "normal(0, 10)", "halfnormal(0.5)", "normal(0, 10)"


def _counts(name: str, x: Any, n: Any) -> tuple[np.ndarray, np.ndarray]:
    xa, na = np.asarray(x, dtype=float).reshape(-1), np.asarray(n, dtype=float).reshape(-1)
    if xa.size != na.size or xa.size == 0:
        raise InputError(f"{name}: events and totals must be equally long and not empty")
    for col, a in ((name, xa), (f"{name} total", na)):
        bad = np.flatnonzero(~np.isfinite(a) | (a != np.round(a)) | (a < 0))
        if bad.size:
            raise InputError(f"counts must be whole numbers >= 0 (got {a[bad[0]]})",
                             row=int(bad[0]) + 1, column=col)  # fmt: skip
    bad = np.flatnonzero(na < 1)
    if bad.size:
        raise InputError("the total must be >= 1", row=int(bad[0]) + 1, column=f"{name} total")
    bad = np.flatnonzero(xa > na)
    if bad.size:
        raise InputError(f"events exceed the total (got {xa[bad[0]]:g} of {na[bad[0]]:g})",
                         row=int(bad[0]) + 1, column=name)  # fmt: skip
    return xa, na


class BinomialMeta:
    """Binomial-normal meta-analysis (module docstring); ``fit()`` then ``to_result()``.

    Examples:
        >>> from bayesmeta.hierarchical.binomial import BinomialMeta
        >>> bm = BinomialMeta("rate", draws=200, tune=200, chains=2, seed=1)
        >>> bm.kind, bm.mu_prior.text, bm.tau_prior.text
        ('rate', 'normal(0, 10)', 'halfnormal(0.5)')
    """

    def __init__(
        self,
        kind: str = "rate",
        *,
        mu_prior: str | None = None,
        tau_prior: str | None = None,
        baseline_prior: str | None = None,
        p_prior: str | None = None,
        subgroup_means: str = "fixed",
        sigma_prior: str | None = None,
        draws: int = 1000,
        tune: int = 1000,
        chains: int = 4,
        seed: int = 1,
        target_accept: float = 0.95,
        level: float = 0.95,
        progress: bool = False,
    ) -> None:
        from bayesmeta.priors import parse_prior

        if kind not in KINDS:
            raise InputError(f"kind must be 'rate' or '2x2', not {kind!r}")
        self.kind = kind
        self.mu_prior = parse_prior(mu_prior or DEFAULT_MU, "mu")
        self.tau_prior = parse_prior(tau_prior or DEFAULT_TAU, "tau")
        self.baseline_prior = parse_prior(baseline_prior or DEFAULT_BASELINE, "mu")
        self.p_prior = p_prior
        if subgroup_means not in ("fixed", "pooled"):
            raise InputError(f"subgroup_means must be 'fixed' or 'pooled', not {subgroup_means!r}")
        self.subgroup_means = subgroup_means
        self.sigma_prior = parse_prior(sigma_prior or tau_prior or DEFAULT_TAU, "tau")
        if p_prior is not None:
            ab = _beta_params(p_prior)
            self._beta = ab
        for name, v in (("draws", draws), ("tune", tune), ("chains", chains)):
            if not isinstance(v, (int, np.integer)) or v < 1:
                raise InputError(f"{name} must be a whole number >= 1 (got {v!r})")
        self.draws, self.tune, self.chains, self.seed = int(draws), int(tune), int(chains), seed
        self.target_accept, self.level, self.progress = target_accept, level, progress

    def _model(self, x1: np.ndarray, n1: np.ndarray, x2: np.ndarray | None,
               n2: np.ndarray | None, labels: list[str],
               groups: tuple[list[str], np.ndarray] | None = None) -> Any:  # fmt: skip
        import pymc as pm
        import pytensor.tensor as pt

        coords: dict[str, list[str]] = {"study": labels}
        if groups is not None:
            coords["subgroup"] = groups[0]
        with pm.Model(coords=coords) as model:
            if self.p_prior is not None:
                a, b = self._beta
                p = pm.Beta("p", alpha=a, beta=b)
                pm.Binomial("x_obs", n=n1[0], p=p, observed=x1[0])
                return model
            # counts as pm.Data: one compiled model serves every data set of the same k
            ev1 = pm.Data("events", x1.astype(np.int64), dims="study")
            tot1 = pm.Data("n", n1.astype(np.int64), dims="study")
            tau = self.tau_prior.to_pymc("tau")
            z = pm.Normal("z", 0.0, 1.0, dims="study")
            if groups is None:
                mu = self.mu_prior.to_pymc("mu")
                mean = mu
            else:  # subgroup terms, as the normal `subgroup` model
                levels, idx = groups
                g = pm.Data("subgroup_idx", idx, dims="study")
                if self.subgroup_means == "fixed":
                    share = np.bincount(idx, minlength=len(levels)) / idx.size
                    w = pm.Data("subgroup_weight", share, dims="subgroup")
                    mu_g = self.mu_prior.to_pymc("mu_subgroup", dims="subgroup")
                    pm.Deterministic("mu", pt.sum(w * mu_g))
                else:
                    mu = self.mu_prior.to_pymc("mu")
                    sigma = self.sigma_prior.to_pymc("sigma_subgroup")
                    eta = pm.Normal("eta_subgroup", 0.0, 1.0, dims="subgroup")
                    mu_g = pm.Deterministic("mu_subgroup", mu + sigma * eta, dims="subgroup")
                mean = mu_g[g]
            theta = pm.Deterministic("theta", mean + tau * z, dims="study")
            if self.kind == "rate":
                pm.Binomial("x_obs", n=tot1, logit_p=theta, observed=ev1, dims="study")
            else:
                assert x2 is not None and n2 is not None
                ev2 = pm.Data("events2", x2.astype(np.int64), dims="study")
                tot2 = pm.Data("n2", n2.astype(np.int64), dims="study")
                alpha = self.baseline_prior.to_pymc("alpha", dims="study")
                pm.Binomial("c_obs", n=tot2, logit_p=alpha, observed=ev2, dims="study")
                pm.Binomial("a_obs", n=tot1, logit_p=alpha + theta, observed=ev1, dims="study")
        return model

    def fit(
        self,
        events: Any,
        n: Any,
        events2: Any = None,
        n2: Any = None,
        *,
        study: Any = None,
        subgroup: Any = None,
    ) -> BinomialMeta:
        """Sample the posterior. ``kind="rate"``: ``events`` of ``n``; ``"2x2"``: treated
        ``events`` of ``n`` and control ``events2`` of ``n2``. ``subgroup`` (one label per
        row) adds subgroup terms mu_subgroup, ``fixed`` (mu is their study-weighted mean) or
        ``pooled`` (mu_subgroup ~ N(mu, sigma^2)), as the normal `subgroup` model. Sets
        ``idata_``, ``diagnostics_``, ``sampling_time_``, ``warnings_``."""
        from bayesmeta.hierarchical.compiled import compile_model
        from bayesmeta.hierarchical.sampling import sample_compiled

        x1, m1 = _counts("events", events, n)
        x2 = m2 = None
        if self.kind == "2x2":
            if events2 is None or n2 is None:
                raise InputError("a 2x2 analysis needs control events and totals", column="ci")
            x2, m2 = _counts("control events", events2, n2)
            if x2.size != x1.size:
                raise InputError("treated and control columns differ in length")
        if self.p_prior is not None and (self.kind != "rate" or x1.size != 1):
            raise InputError("p_prior (a Beta prior on one rate) needs kind='rate' and one row")
        k = x1.size
        labels = [str(s) for s in study] if study is not None else [str(i + 1) for i in range(k)]
        self.warnings_: list[str] = []
        if k > 1 and (np.all(x1 == 0) or np.all(x1 == m1)):
            self.warnings_.append(
                "every row has 0 events (or all events): the rates are bounded only on one "
                "side; the prior decides the rest"
            )
        groups = None
        if subgroup is not None:
            sub = [str(g) for g in subgroup]
            if len(sub) != k or self.p_prior is not None:
                raise InputError("subgroup: one label per row (and no p_prior)", column="subgroup")
            levels = sorted(set(sub))
            groups = (levels, np.array([levels.index(g) for g in sub], dtype=np.int64))
        baked = (tuple(x1), tuple(m1)) if self.p_prior else None  # the conjugate model's data
        priors = (self.p_prior, self.mu_prior.text, self.tau_prior.text, self.baseline_prior.text)
        shape = None if groups is None else (len(groups[0]), self.subgroup_means,
                                             self.sigma_prior.text)  # fmt: skip
        key = (self.kind, k, *priors, baked, shape)
        if key not in _COMPILED:
            _COMPILED[key] = compile_model(self._model(x1, m1, x2, m2, labels, groups))
        compiled = _COMPILED[key]
        if self.p_prior is None:
            data: dict[str, np.ndarray] = {"events": x1.astype(np.int64),
                                           "n": m1.astype(np.int64)}  # fmt: skip
            if x2 is not None and m2 is not None:
                data |= {"events2": x2.astype(np.int64), "n2": m2.astype(np.int64)}
            if groups is not None:
                idx = groups[1]
                data["subgroup_idx"] = idx
                if self.subgroup_means == "fixed":
                    data["subgroup_weight"] = np.bincount(idx, minlength=len(groups[0])) / k
            compiled = compiled.with_data(**data)
        coords: dict[str, Any] = {"study": labels}
        if groups is not None:
            coords["subgroup"] = groups[0]
        tree, self.sampling_time_, self.diagnostics_, warns = sample_compiled(
            compiled, draws=self.draws, tune=self.tune, chains=self.chains, seed=self.seed,
            target_accept=self.target_accept, progress=self.progress, coords=coords,
        )  # fmt: skip
        self.subgroups_ = None if groups is None else groups[0]
        self.idata_ = tree
        self.k_, self.labels_ = k, labels
        self.warnings_ += warns
        return self

    def draws_of(self, name: str) -> np.ndarray:
        """Flattened posterior draws of ``name`` (``mu``, ``tau``, ``p``, ``theta_new``)."""
        post = self.idata_["posterior"].to_dataset()
        if name == "theta_new":
            rng = np.random.default_rng(self.seed)
            mu, tau = self.draws_of("mu"), self.draws_of("tau")
            return mu + tau * rng.standard_normal(mu.size)
        return np.asarray(post[name]).reshape(-1)

    def to_result(self) -> MetaResult:
        """The shared result contract (engine ``pymc``; method ``binomial-rate`` or
        ``binomial-normal``; estimate = posterior median of mu on the logit / log-OR scale)."""
        if not hasattr(self, "idata_"):
            raise RuntimeError("call fit() first")
        lo_p, hi_p = (1 - self.level) / 2, (1 + self.level) / 2
        names = ["p"] if self.p_prior is not None else ["mu", "tau", "theta_new"]
        rows = {}
        for nm in names:
            d = self.draws_of(nm)
            rows[nm] = {"mean": float(d.mean()), "sd": float(d.std(ddof=1)),
                        "median": float(np.median(d)), "ci_low": float(np.quantile(d, lo_p)),
                        "ci_high": float(np.quantile(d, hi_p))}  # fmt: skip
        if getattr(self, "subgroups_", None):
            ds = self.idata_["posterior"].to_dataset()
            for extra in ("sigma_subgroup",):
                if extra in ds:
                    rows[extra] = _row(self.draws_of(extra), lo_p, hi_p)
            for j, g in enumerate(self.subgroups_ or []):
                d = np.asarray(ds["mu_subgroup"].isel(subgroup=j)).reshape(-1)
                rows[f"mu[{g}]"] = _row(d, lo_p, hi_p)
        post = pd.DataFrame.from_dict(rows, orient="index")
        post.index.name = "param"
        main = rows[names[0]]
        tau = rows.get("tau")
        new = rows.get("theta_new")
        model = (
            "binomial-logit rates"
            if self.kind == "rate"
            else "binomial-normal (Smith et al. 1995), fixed study baselines"
        )
        settings = {
            "model": model,
            "mu_prior": self.p_prior or self.mu_prior.text,
            "tau_prior": "none" if self.p_prior else self.tau_prior.text,
            "sampler": f"nutpie NUTS, {self.chains} chains x {self.draws} draws "
            f"({self.tune} tuning)",
        }
        if self.kind == "2x2":
            settings["baseline_prior"] = self.baseline_prior.text
        return MetaResult(
            engine="pymc",
            method="binomial-rate" if self.kind == "rate" else "binomial-normal",
            ci_method="central",
            k=self.k_,
            estimate=main["median"],
            se=main["sd"],
            ci_low=main["ci_low"],
            ci_high=main["ci_high"],
            level=self.level,
            tau2=None if tau is None else tau["median"] ** 2,
            tau2_ci_low=None if tau is None else tau["ci_low"] ** 2,
            tau2_ci_high=None if tau is None else tau["ci_high"] ** 2,
            pi_low=None if new is None else new["ci_low"],
            pi_high=None if new is None else new["ci_high"],
            settings=settings,
            posterior=post,
            diagnostics=dict(self.diagnostics_),
            warnings=list(self.warnings_),
            extra={"scale": "logit" if self.kind == "rate" else "log odds ratio"},
        )


def _row(d: np.ndarray, lo_p: float, hi_p: float) -> dict[str, float]:
    lo, hi = np.quantile(d, [lo_p, hi_p])
    return {"mean": float(d.mean()), "sd": float(d.std(ddof=1)), "median": float(np.median(d)),
            "ci_low": float(lo), "ci_high": float(hi)}  # fmt: skip


def _beta_params(text: str) -> tuple[float, float]:
    import re

    m = re.fullmatch(r"\s*beta\s*\(\s*([^,]+),\s*([^)]+)\)\s*", str(text).lower())
    if not m:
        raise InputError(f"p_prior must read 'beta(a, b)', not {text!r}")
    try:
        a, b = float(m.group(1)), float(m.group(2))
    except ValueError:
        raise InputError(f"p_prior must read 'beta(a, b)' with numbers, not {text!r}") from None
    if not (a > 0 and b > 0 and math.isfinite(a) and math.isfinite(b)):
        raise InputError(f"p_prior beta(a, b) needs a, b > 0 (got {text!r})")
    return a, b
