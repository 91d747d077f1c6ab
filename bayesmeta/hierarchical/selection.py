"""A Bayesian step-function selection model in PyMC (the weight functions of RoBMA).

The likelihood is that of `bayesmeta.classical.selection` (Vevea & Hedges 1995; metafor
``selmodel(type="stepfun")``): a published y_i has density

    f(y_i) = omega_{j(i)} phi((y_i - mu) / s_i) / s_i / A_i,   s_i^2 = v_i + tau^2,
    A_i = sum_j omega_j P(p_i in (a_{j-1}, a_j] | mu, s_i),

with weights omega_j on the p-value intervals of the cut points ``steps`` (omega_1 = 1 on the
most significant interval). Priors:

* mu and tau: text priors as elsewhere, by default the package's defaults for the data
  (`bayesmeta.defaults.default_priors`);
* weights, ``weights=``
  - ``"cumulative-dirichlet"`` (default; RoBMA, Bartos et al. 2023, Res Synth Methods
    14:99-116): eta ~ Dirichlet(1, ..., 1), omega_j = eta_j + ... + eta_J, so the weights
    fall (weakly) with the p value and omega_1 = 1;
  - ``"lognormal"``: free weights, log omega_j ~ N(0, 2^2) for j >= 2;
  - ``"flat"``: free weights with an improper flat prior (for checks: with flat priors on
    mu and tau too, the posterior mode is the ML estimate).

The model works on the marginal y_i ~ N(mu, v_i + tau^2), so it has no study effects and no
funnel. Sampled with nutpie and diagnosed after every fit. `mode()` returns the posterior
mode on the natural scale (no Jacobian), which with flat priors is metafor's ML fit.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy import special

from bayesmeta.classical.selection import Alternative, _groups, check_steps, p_values
from bayesmeta.errors import InputError
from bayesmeta.results import MetaResult

WEIGHTS = ("cumulative-dirichlet", "lognormal", "flat")
_COMPILED: dict[tuple[Any, ...], Any] = {}  # one compiled model per k, cut points and priors


class BayesianSelection:
    """Bayesian step-function selection model (module docstring); ``fit()`` then
    ``to_result()``; ``mode()`` for the posterior mode.

    Examples:
        >>> from bayesmeta.hierarchical.selection import BayesianSelection
        >>> bs = BayesianSelection(steps=(0.025, 0.5), mu_prior="normal(0, 1)")
        >>> bs.steps, bs.weights
        ((0.025, 0.5, 1.0), 'cumulative-dirichlet')
    """

    def __init__(
        self,
        steps: Any = (0.025,),
        *,
        alternative: Alternative = "greater",
        mu_prior: str | None = None,
        tau_prior: str | None = None,
        weights: str = "cumulative-dirichlet",
        draws: int = 1000,
        tune: int = 1000,
        chains: int = 4,
        seed: int = 1,
        target_accept: float = 0.95,
        level: float = 0.95,
        progress: bool = False,
    ) -> None:
        cuts = check_steps(steps, alternative)
        if weights not in WEIGHTS:
            raise InputError(f"weights must be one of {', '.join(WEIGHTS)}, not {weights!r}")
        self.steps = tuple(float(c) for c in cuts)
        self.alternative, self.weights = alternative, weights
        self.mu_prior_text, self.tau_prior_text = mu_prior, tau_prior
        self.draws, self.tune, self.chains, self.seed = int(draws), int(tune), int(chains), seed
        self.target_accept, self.level, self.progress = target_accept, level, progress

    def _data(self, yi: Any, vi: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        from bayesmeta.classical.linalg import check_arrays

        y, v, _ = check_arrays(yi, vi)
        cuts = np.asarray(self.steps)
        group = _groups(p_values(y, v, self.alternative), cuts)
        counts = np.bincount(group, minlength=cuts.size)
        if y.size < 3:
            raise InputError(f"a selection model needs at least 3 studies (k = {y.size})")
        self.k_per_interval_ = tuple(int(c) for c in counts)
        return y, v, group

    def _priors(self, v: np.ndarray) -> tuple[Any, Any]:
        from bayesmeta.defaults import resolve_priors
        from bayesmeta.priors import parse_prior

        mu, tau, self.prior_note_ = resolve_priors(self.mu_prior_text, self.tau_prior_text,
                                                   np.sqrt(v))  # fmt: skip
        return parse_prior(mu, "mu"), parse_prior(tau, "tau")

    def _values(self, yi: Any, vi: Any) -> dict[str, np.ndarray]:
        """The data the model reads: y, v, the p-value interval of each study and the
        interior interval boundaries c on the y scale."""
        y, v, group = self._data(yi, vi)
        inner = np.asarray(self.steps)[:-1]
        q = inner / 2 if self.alternative == "two.sided" else inner
        c = np.sqrt(v)[:, None] * -special.ndtri(q)[None, :]
        return {"y": y, "v": v, "group": group.astype(np.int64), "c": c}

    def model(self, yi: Any, vi: Any) -> Any:
        """The ``pm.Model`` for effects ``yi`` with within-study variances ``vi`` (the data
        are ``pm.Data``, so a compiled model takes new data of the same k)."""
        vals = self._values(yi, vi)
        self.mu_prior_, self.tau_prior_ = self._priors(vals["v"])
        return self._build(vals)

    def _build(self, vals: dict[str, np.ndarray]) -> Any:
        """The ``pm.Model`` for `_values` output, with the priors `model` or `fit` resolved."""
        import pymc as pm
        import pytensor.tensor as pt

        mu_p, tau_p = self.mu_prior_, self.tau_prior_
        n_int = len(self.steps)
        k = vals["y"].size
        sign = -1.0 if self.alternative == "less" else 1.0
        coords = {"interval": [f"p<={a:g}" for a in self.steps]}
        with pm.Model(coords=coords) as model:
            y = pm.Data("y", vals["y"])
            v = pm.Data("v", vals["v"])
            group = pm.Data("group", vals["group"])
            c = pm.Data("c", vals["c"])
            mu = mu_p.to_pymc("mu")
            tau = tau_p.to_pymc("tau")
            if self.weights == "cumulative-dirichlet":
                eta = pm.Dirichlet("eta", a=np.ones(n_int))
                omega = pm.Deterministic("omega", pt.cumsum(eta[::-1])[::-1], dims="interval")
            else:
                if self.weights == "flat":
                    rest = pm.HalfFlat("omega_free", shape=n_int - 1)
                else:
                    rest = pm.LogNormal("omega_free", 0.0, 2.0, shape=n_int - 1)
                omega = pm.Deterministic("omega", pt.concatenate([pt.ones(1), rest]),
                                         dims="interval")  # fmt: skip
            s = pt.sqrt(v + tau**2)

            def ncdf(x: Any) -> Any:  # Phi(x) via erfc: accurate in both tails
                return 0.5 * pt.erfc(-x / np.sqrt(2.0))

            if self.alternative == "two.sided":
                tail_in = ncdf((mu - c) / s[:, None]) + ncdf((-c - mu) / s[:, None])
            else:
                tail_in = ncdf((sign * mu - c) / s[:, None])
            tail = pt.concatenate([pt.zeros((k, 1)), tail_in, pt.ones((k, 1))], axis=1)
            probs = tail[:, 1:] - tail[:, :-1]
            a_i = pt.dot(probs, omega)
            pm.Normal("y_obs", mu=mu, sigma=s, observed=y)
            pm.Potential("selection", pt.sum(pt.log(omega[group]) - pt.log(a_i)))
        return model

    def fit(self, yi: Any, vi: Any) -> BayesianSelection:
        """Sample the posterior; sets ``idata_``, ``diagnostics_``, ``sampling_time_``,
        ``warnings_``."""
        from bayesmeta.hierarchical.compiled import compile_model
        from bayesmeta.hierarchical.sampling import sample_compiled

        values = self._values(yi, vi)
        self.mu_prior_, self.tau_prior_ = self._priors(values["v"])
        self.k_ = int(values["y"].size)
        self.warnings_: list[str] = []
        if self.prior_note_:
            self.warnings_.append(self.prior_note_)
        empty = [j for j, n in enumerate(self.k_per_interval_) if n == 0]
        if empty:
            self.warnings_.append(
                f"{len(empty)} p-value interval(s) hold no study: their weights follow the prior"
            )
        key = (self.k_, self.steps, self.alternative, self.weights, self.mu_prior_.text,
               self.tau_prior_.text)  # fmt: skip
        if key not in _COMPILED:  # a pm.Model is built only when nothing is compiled yet
            _COMPILED[key] = compile_model(self._build(values))
        self.idata_, self.sampling_time_, self.diagnostics_, warns = sample_compiled(
            _COMPILED[key].with_data(**values), draws=self.draws, tune=self.tune,
            chains=self.chains, seed=self.seed, target_accept=self.target_accept,
            progress=self.progress,
        )  # fmt: skip
        self.warnings_ += warns
        return self

    def mode(self, yi: Any, vi: Any) -> dict[str, Any]:
        """Posterior mode of (mu, tau^2, omega) on the natural scale, without the Jacobian of
        PyMC's transforms: with flat priors (``mu_prior="flat"``, ``tau_prior="flat"``,
        ``weights="flat"``) this is the ML estimate of `step_selection`."""
        from scipy import optimize

        model = self.model(yi, vi)
        logp = model.compile_logp(jacobian=False)
        point = model.initial_point()
        names = list(point)
        sizes = [np.size(point[n]) for n in names]

        def unpack(x: np.ndarray) -> dict[str, np.ndarray]:
            out, i = {}, 0
            for n, m in zip(names, sizes, strict=True):
                out[n] = x[i : i + m].reshape(np.shape(point[n]))
                i += m
            return out

        def neg(x: np.ndarray) -> float:
            val = float(logp(unpack(x)))
            return -val if np.isfinite(val) else 1e300

        x0 = np.concatenate([np.ravel(point[n]) for n in names])
        res = optimize.minimize(neg, x0, method="Nelder-Mead",
                                options={"xatol": 1e-10, "fatol": 1e-13, "maxiter": 40000,
                                         "maxfev": 80000})  # fmt: skip
        res = optimize.minimize(neg, res.x, method="BFGS", options={"gtol": 1e-9})
        outs = model.replace_rvs_by_values([model["mu"], model["tau"], model["omega"]])
        fn = model.compile_fn(outs, inputs=model.value_vars, on_unused_input="ignore")
        mu, tau, omega = fn(unpack(res.x))
        return {"mu": float(mu), "tau2": float(tau) ** 2, "omega": np.asarray(omega).tolist(),
                "logp": -float(res.fun)}  # fmt: skip

    def draws_of(self, name: str) -> np.ndarray:
        """Posterior draws of ``mu``, ``tau`` or ``omega`` (draws x intervals)."""
        post = self.idata_["posterior"].to_dataset()
        arr = np.asarray(post[name])
        return arr.reshape(-1) if arr.ndim == 2 else arr.reshape(-1, arr.shape[-1])

    def to_result(self) -> MetaResult:
        """The shared result contract (engine ``pymc``, method ``selection-stepfun``;
        estimate = posterior median of mu; posterior rows mu, tau, omega[...])."""
        if not hasattr(self, "idata_"):
            raise RuntimeError("call fit() first")
        lo_p, hi_p = (1 - self.level) / 2, (1 + self.level) / 2

        def row(d: np.ndarray) -> dict[str, float]:
            return {"mean": float(d.mean()), "sd": float(d.std(ddof=1)),
                    "median": float(np.median(d)), "ci_low": float(np.quantile(d, lo_p)),
                    "ci_high": float(np.quantile(d, hi_p))}  # fmt: skip

        rows = {"mu": row(self.draws_of("mu")), "tau": row(self.draws_of("tau"))}
        om = self.draws_of("omega")
        a = [0.0, *self.steps]
        for j in range(om.shape[1]):
            rows[f"omega[{a[j]:g}<p<={a[j + 1]:g}]"] = row(om[:, j])
        post = pd.DataFrame.from_dict(rows, orient="index")
        post.index.name = "param"
        mu, tau = rows["mu"], rows["tau"]
        settings = {
            "model": "step-function selection, cut points "
            f"{', '.join(f'{c:g}' for c in self.steps)} ({self.alternative})",
            "mu_prior": self.mu_prior_.text, "tau_prior": self.tau_prior_.text,
            "weights_prior": self.weights,
            "sampler": f"nutpie NUTS, {self.chains} chains x {self.draws} draws "
            f"({self.tune} tuning)",
        }  # fmt: skip
        return MetaResult(
            engine="pymc", method="selection-stepfun", ci_method="central", k=self.k_,
            estimate=mu["median"], se=mu["sd"], ci_low=mu["ci_low"], ci_high=mu["ci_high"],
            level=self.level, tau2=tau["median"] ** 2, tau2_ci_low=tau["ci_low"] ** 2,
            tau2_ci_high=tau["ci_high"] ** 2, settings=settings, posterior=post,
            diagnostics=dict(self.diagnostics_), warnings=list(self.warnings_),
            extra={"k_per_interval": list(self.k_per_interval_)},
        )  # fmt: skip
