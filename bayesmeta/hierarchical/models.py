"""PyMC model builders for Bayesian hierarchical meta-analysis (equations in docs/models.md).

One builder composes three parts; the named models of `MODELS` are presets:

* likelihood  ``y_i ~ N(theta_i, s_i^2)`` with known ``s_i`` (``sei``), or for ``prepost``
  ``s_i^2 = (sd_pre^2 + sd_post^2 - 2 r sd_pre sd_post) / n`` with r a parameter
  (Borenstein et al. 2009, Introduction to Meta-Analysis, eq. 4.27-4.28);
* mean of theta_i  ``mu`` (common), ``mu_subgroup[g_i]`` (subgroup / cell-type terms, fixed
  or partially pooled), or ``mu + (x_i - xbar)' beta`` (meta-regression);
* random effects  ``theta_i = mean_i + tau z_i`` with z_i ~ N(0, 1) or t_nu(0, 1), or, nested,
  ``theta_a = mean_a + u_{j[a]} + tau_arm z_a`` with u_j = tau z_j shared by the arms of study j.

Non-centred by default (``theta = mean + tau * z``); ``centred=True`` samples theta directly
(``theta ~ N(mean, tau)``), which shows the funnel (divergences) when tau is weakly identified.
Named dims: ``study`` (one row of the table: a study, or an arm in the nested model),
``subgroup``, ``contrast``, ``cluster``, ``covariate``. Data enter as ``pm.Data`` so one
compiled model is reused for new data of the same shape. With ``prior_data=True`` the
parameters of the mu and tau priors are ``pm.Data`` too (``mu_prior_mu``, ``mu_prior_sigma``,
``tau_prior_sigma``, ...; see `bayesmeta.priors.Prior.pymc_params()`), so one compiled
model serves every prior of the same family (a refit sweep over scales).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, replace
from typing import Any, Literal

import numpy as np

from bayesmeta.errors import InputError
from bayesmeta.hierarchical.data import MetaData
from bayesmeta.hierarchical.extra_priors import RScale, ShapePrior, parse_nu, parse_r
from bayesmeta.priors import Prior, learned_source, parse_prior

#: The named models (``MetaResult.method``).
MODELS = ("normal", "subgroup", "nested", "student_t", "regression", "prepost")


_PREPOST_COLUMNS = "the prepost model needs m_pre, sd_pre, m_post, sd_post and n columns"


def _missing(what: str) -> InputError:
    """A hand-made ModelSpec lacks a part that `model_spec()` always sets for its model."""
    return InputError(f"the model spec has no {what}: build it with model_spec()")


def _required(prior: Prior | None, what: str) -> Prior:
    if prior is None:
        raise _missing(what)
    return prior


def _family_only(prior: Prior) -> Prior:
    return replace(prior, params=(), text=prior.family, note="")


@dataclass(frozen=True)
class ModelSpec:
    """Everything that defines a model's graph except the data values (a cache key).

    Build it with `model_spec()`, which validates the options and parses the priors; the
    fields mirror its arguments (``mean`` is ``common``, ``subgroup`` or ``regression``,
    ``effects`` ``normal`` or ``t``).

    Examples:
        >>> from bayesmeta.hierarchical import model_spec
        >>> spec = model_spec("subgroup", subgroup_means="pooled")
        >>> spec.mean, spec.parameterisation
        ('subgroup', 'non-centred')
        >>> spec.priors_text()
        {'tau_prior': 'halfnormal(0.5)', 'mu_prior': 'normal(0, 4)',
         'sigma_subgroup_prior': 'halfnormal(0.5)'}
        >>> a = model_spec(mu_prior="normal(0, 5)", prior_data=True)
        >>> a.graph_key() == model_spec(mu_prior="normal(1, 2)", prior_data=True).graph_key()
        True
    """

    name: str
    mu_prior: Prior
    tau_prior: Prior
    mean: Literal["common", "subgroup", "regression"] = "common"
    subgroup_means: Literal["fixed", "pooled"] = "fixed"
    sigma_prior: Prior | None = None
    tau_by_subgroup: bool = False
    effects: Literal["normal", "t"] = "normal"
    nu: float | Prior | ShapePrior | None = None
    nested: bool = False
    tau_arm_prior: Prior | None = None
    beta_prior: Prior | None = None
    center_covariates: bool = True
    prepost: bool = False
    r: float | ShapePrior | None = None
    r_by_study: bool = False
    centred: bool = False
    prior_data: bool = False

    def graph_key(self) -> ModelSpec:
        """The spec without what enters as data: with ``prior_data`` the mu and tau priors
        are reduced to their family (and bound standard errors), their values are data."""
        if not self.prior_data:
            return self
        return replace(
            self, mu_prior=_family_only(self.mu_prior), tau_prior=_family_only(self.tau_prior)
        )

    @property
    def parameterisation(self) -> str:
        """``"centred"`` or ``"non-centred"``."""
        return "centred" if self.centred else "non-centred"

    def priors_text(self) -> dict[str, str]:
        """Every prior of the model as text (for ``MetaResult.settings``)."""
        out = {"tau_prior": self.tau_prior.text}
        if self.mean == "subgroup" and self.subgroup_means == "fixed":
            out["mu_subgroup_prior"] = self.mu_prior.text
        elif self.mean == "regression" and not self.center_covariates:
            out["intercept_prior"] = self.mu_prior.text
        else:
            out["mu_prior"] = self.mu_prior.text
        out |= learned_source(self.mu_prior, self.tau_prior)
        if self.mean == "subgroup" and self.subgroup_means == "pooled":
            out["sigma_subgroup_prior"] = _required(self.sigma_prior, "sigma_prior").text
        if self.mean == "regression":
            out["beta_prior"] = self.beta_prior.text if self.beta_prior else "flat"
        if self.nested:
            out["tau_arm_prior"] = _required(self.tau_arm_prior, "tau_arm_prior").text
        if self.effects == "t":
            if self.nu is None:
                raise _missing("nu")
            out["nu"] = str(self.nu) if isinstance(self.nu, float) else self.nu.text
        if self.prepost:
            if self.r is None:
                raise _missing("r")
            if isinstance(self.r, float):
                out["r"] = f"{self.r:g} (fixed)"
            else:
                out["r"] = self.r.text + (" per study" if self.r_by_study else " shared")
        return {k: str(v) for k, v in out.items()}


def model_spec(
    model: str = "normal",
    *,
    mu_prior: str | Prior = "normal(0, 4)",
    tau_prior: str | Prior = "halfnormal(0.5)",
    centred: bool = False,
    subgroups: bool | None = None,
    subgroup_means: Literal["fixed", "pooled"] = "fixed",
    sigma_prior: str | Prior | None = None,
    tau_by_subgroup: bool = False,
    nu: float | str | Prior | ShapePrior = "gamma(2, 0.1)",
    tau_arm_prior: str | Prior | None = None,
    beta_prior: str | Prior | None = None,
    center_covariates: bool = True,
    r: float | str | ShapePrior = "beta(2, 2)",
    r_scale: RScale = "r",
    r_by_study: bool = False,
    prior_data: bool = False,
) -> ModelSpec:
    """Validated `ModelSpec` for a named model (one of `MODELS`; equations in docs/models.md).

    Priors default to those of the exact engine: mu ~ ``normal(0, 4)``, tau ~
    ``halfnormal(0.5)``. ``subgroups`` adds subgroup terms to any model but ``regression``
    (default: only for ``subgroup``); ``subgroup_means`` ``"fixed"`` (default) or
    ``"pooled"``. ``sigma_prior`` (SD of pooled subgroup means) and ``tau_arm_prior``
    default to ``tau_prior``; ``beta_prior`` (regression slopes) defaults to flat. ``nu``
    (student_t; default ``gamma(2, 0.1)``) and ``r`` (prepost; default ``beta(2, 2)`` on
    ``r_scale``) are a fixed number or a prior. ``prior_data`` makes the mu and tau prior
    parameters ``pm.Data`` (one compiled model per prior family; the other priors stay
    constants of the graph). InputError for unknown models or options that do not combine.

    Examples:
        >>> from bayesmeta.hierarchical import model_spec
        >>> spec = model_spec("student_t", mu_prior="normal(0, 5)", tau_prior="halfcauchy(5)")
        >>> spec.effects, spec.nu.text
        ('t', 'gamma(2, 0.1)')
        >>> model_spec("prepost", r=0.5).priors_text()["r"]
        '0.5 (fixed)'
        >>> model_spec("regression", subgroups=True)
        Traceback (most recent call last):
        ...
        bayesmeta.errors.InputError: subgroup terms and meta-regression do not combine: ...
    """
    if model not in MODELS:
        raise InputError(f"unknown model {model!r}; choose one of {', '.join(MODELS)}")
    if subgroup_means not in ("fixed", "pooled"):
        raise InputError(f"subgroup_means must be 'fixed' or 'pooled', not {subgroup_means!r}")
    use_sub = (model == "subgroup") if subgroups is None else bool(subgroups)
    if use_sub and model == "regression":
        raise InputError(
            "subgroup terms and meta-regression do not combine: code the subgroup "
            "as indicator covariates instead"
        )
    mu = parse_prior(mu_prior, "mu")
    tau = parse_prior(tau_prior, "tau")
    mean: Literal["common", "subgroup", "regression"] = (
        "subgroup" if use_sub else ("regression" if model == "regression" else "common")
    )
    if tau_by_subgroup and mean != "subgroup":
        raise InputError("tau_by_subgroup needs subgroup terms (model='subgroup')")
    if tau.needs_data and (tau_by_subgroup or model == "prepost"):
        raise InputError(
            "the jeffreys tau prior is defined by known standard errors: not "
            "available with tau_by_subgroup or the prepost model"
        )
    pooled = mean == "subgroup" and subgroup_means == "pooled"
    nested = model == "nested"
    if nested and tau_by_subgroup:
        raise InputError("the nested model has one between-study tau and one tau_arm")
    return ModelSpec(
        name=model,
        mu_prior=mu,
        tau_prior=tau,
        mean=mean,
        subgroup_means=subgroup_means,
        sigma_prior=parse_prior(sigma_prior or tau, "tau") if pooled else None,
        tau_by_subgroup=tau_by_subgroup,
        effects="t" if model == "student_t" else "normal",
        nu=parse_nu(nu) if model == "student_t" else None,
        nested=nested,
        tau_arm_prior=parse_prior(tau_arm_prior or tau, "tau") if nested else None,
        beta_prior=(
            parse_prior(beta_prior, "mu") if model == "regression" and beta_prior else None
        ),
        center_covariates=center_covariates,
        prepost=model == "prepost",
        r=parse_r(r, r_scale) if model == "prepost" else None,
        r_by_study=r_by_study,
        centred=centred,
        prior_data=bool(prior_data),
    )


def check_data(spec: ModelSpec, data: MetaData) -> None:
    """InputError if ``data`` cannot feed ``spec`` (missing columns, rank-deficient X...).

    Checks: pre/post columns for ``prepost``, standard errors otherwise, a subgroup column
    for subgroup terms, a cluster column for ``nested``, and for ``regression`` at least one
    non-constant covariate with [1, X] of full column rank.

    Examples:
        >>> from bayesmeta.hierarchical import MetaData, model_spec
        >>> from bayesmeta.hierarchical.models import check_data
        >>> data = MetaData.from_arrays([0.1, 0.4, -0.2], [0.2, 0.3, 0.25])
        >>> check_data(model_spec("normal"), data)
        >>> check_data(model_spec("nested"), data)
        Traceback (most recent call last):
        ...
        bayesmeta.errors.InputError: column 'cluster': the nested model needs a 'cluster' column ...
    """
    if spec.prepost and not data.is_prepost:
        raise InputError(_PREPOST_COLUMNS)
    if not spec.prepost and data.sei is None:
        raise InputError(f"the {spec.name} model needs standard errors (sei or vi)")
    if spec.mean == "subgroup":
        data.subgroups  # noqa: B018 - raises if there is no subgroup column
    if spec.nested:
        data.clusters  # noqa: B018
    if spec.mean == "regression":
        X = data.X
        if X.shape[1] == 0:
            raise InputError(
                "meta-regression needs at least one covariate column", file=data.source
            )
        for j, name in enumerate(data.covariates.columns):
            if np.ptp(X[:, j]) == 0:
                raise InputError(
                    "covariate is constant: its slope is not identified",
                    file=data.source,
                    column=str(name),
                )
        design = np.column_stack([np.ones(data.k), X])
        if np.linalg.matrix_rank(design) < design.shape[1]:
            raise InputError(
                f"the covariates are collinear or too many for k = {data.k} studies "
                f"(need rank {design.shape[1]})",
                file=data.source,
            )


def contrast_pairs(levels: tuple[str, ...]) -> tuple[list[str], np.ndarray, np.ndarray]:
    """All pairwise differences ``a - b`` (a before b in ``levels``): labels and indices.

    Examples:
        >>> from bayesmeta.hierarchical.models import contrast_pairs
        >>> contrast_pairs(("a", "b", "c"))
        (['a - b', 'a - c', 'b - c'], array([0, 0, 1]), array([1, 2, 2]))
    """
    pairs = list(itertools.combinations(range(len(levels)), 2))
    labels = [f"{levels[a]} - {levels[b]}" for a, b in pairs]
    return labels, np.array([a for a, _ in pairs], int), np.array([b for _, b in pairs], int)


def data_values(spec: ModelSpec, data: MetaData) -> dict[str, np.ndarray]:
    """The ``pm.Data`` values of ``data`` for ``spec`` (what a refit swaps in).

    Always ``y``; ``sei`` (for ``prepost`` with a fixed r: sqrt((sd_pre^2 + sd_post^2 -
    2 r sd_pre sd_post) / n), Borenstein et al. 2009 eq. 4.28) or ``sd_pre``, ``sd_post``,
    ``n``; ``subgroup_idx`` and ``subgroup_weight`` (share of studies per subgroup, fixed
    means), ``cluster_idx``, ``X`` and ``x_mean``; with ``prior_data`` the prior parameters.

    Examples:
        >>> from bayesmeta.hierarchical import MetaData, model_spec
        >>> from bayesmeta.hierarchical.models import data_values
        >>> data = MetaData.from_arrays([0.1, 0.4, -0.2], [0.2, 0.3, 0.25],
        ...                             subgroup=["a", "b", "a"])
        >>> values = data_values(model_spec("subgroup"), data)
        >>> list(values), values["subgroup_weight"].round(4).tolist()
        (['y', 'sei', 'subgroup_idx', 'subgroup_weight'], [0.6667, 0.3333])
    """
    out: dict[str, np.ndarray] = {"y": np.asarray(data.yi, float)}
    if spec.prepost:
        if data.sd_pre is None or data.sd_post is None or data.n is None:
            raise InputError(_PREPOST_COLUMNS, file=data.source)
        sd_pre, sd_post, n = data.sd_pre, data.sd_post, data.n
        if isinstance(spec.r, float):  # r fixed: a known-variance model
            var = sd_pre**2 + sd_post**2 - 2.0 * spec.r * sd_pre * sd_post
            out["sei"] = np.sqrt(var / n)
        else:
            out |= {"sd_pre": sd_pre, "sd_post": sd_post, "n": n}
    else:
        out["sei"] = np.asarray(data.sei, float)
    if spec.mean == "subgroup":
        levels, idx = data.subgroups
        out["subgroup_idx"] = idx
        if spec.subgroup_means == "fixed":
            out["subgroup_weight"] = np.bincount(idx, minlength=len(levels)) / data.k
    if spec.nested:
        out["cluster_idx"] = data.clusters[1]
    if spec.mean == "regression":
        out["X"] = data.X
        out["x_mean"] = data.X.mean(axis=0)
    if spec.prior_data:
        for prefix, prior in (("mu_prior", spec.mu_prior), ("tau_prior", spec.tau_prior)):
            out |= {f"{prefix}_{k}": np.asarray(v, float) for k, v in prior.pymc_params().items()}
    return {k: np.asarray(v) for k, v in out.items()}


def logp_offset(values: dict[str, np.ndarray]) -> float:
    """log density of the model minus that of its ``standardised`` form: ``-sum_i log s_i``
    with known standard errors (``values`` of `data_values()` hold ``sei``), else 0.

    Examples:
        >>> import numpy as np
        >>> from bayesmeta.hierarchical.models import logp_offset
        >>> round(logp_offset({"sei": np.array([0.5, 2.0, 1.0])}), 12)
        0.0
        >>> round(logp_offset({"sei": np.array([0.5, 0.5])}), 6)
        1.386294
        >>> logp_offset({"sd_pre": np.ones(2), "sd_post": np.ones(2), "n": np.ones(2)})
        0.0
    """
    return -float(np.sum(np.log(values["sei"]))) if "sei" in values else 0.0


def coords_of(spec: ModelSpec, data: MetaData) -> dict[str, list[str]]:
    """Named coordinates of the model's dims for ``data`` (study, subgroup, contrast, ...).

    Examples:
        >>> from bayesmeta.hierarchical import MetaData, model_spec
        >>> from bayesmeta.hierarchical.models import coords_of
        >>> data = MetaData.from_arrays([0.1, 0.4, -0.2], [0.2, 0.3, 0.25],
        ...                             subgroup=["a", "b", "a"])
        >>> coords_of(model_spec("subgroup"), data)
        {'study': ['1', '2', '3'], 'subgroup': ['a', 'b'], 'contrast': ['a - b']}
    """
    coords = {"study": [str(s) for s in data.study]}
    if spec.mean == "subgroup":
        levels = data.subgroups[0]
        coords["subgroup"] = list(levels)
        if len(levels) > 1:
            coords["contrast"] = contrast_pairs(levels)[0]
    if spec.nested:
        coords["cluster"] = list(data.clusters[0])
    if spec.mean == "regression":
        coords["covariate"] = [str(c) for c in data.covariates.columns]
    return coords


def build_model(spec: ModelSpec, data: MetaData, *, standardised: bool = False) -> Any:
    """The PyMC model of ``spec`` for ``data`` (a ``pm.Model``; see the module docstring).

    Runs `check_data()` first. The model is built, not compiled or sampled (fast); to fit
    it use `BayesianMeta`, which also caches the compiled sampler.

    ``standardised=True`` writes a likelihood with known ``s_i`` as ``y_i / s_i ~
    N(theta_i / s_i, 1)``. Its log density is that of ``y_i ~ N(theta_i, s_i^2)`` plus
    ``sum_i log s_i``, a constant, so the posterior is the same, but a gradient evaluation
    needs no logarithm of ``s_i`` and no check that ``s_i > 0`` (the data were checked):
    the sampler compiles this form (`bayesmeta.hierarchical.sampling`, `logp_offset()`).
    Other models (``prepost`` with r a parameter) are unchanged by it.

    Examples:
        >>> from bayesmeta import datasets
        >>> from bayesmeta.hierarchical import MetaData, build_model, model_spec
        >>> df = datasets.load("rubin1981")
        >>> data = MetaData.from_arrays(df["effect"], df["stderr"], study=df["school"])
        >>> model = build_model(model_spec("normal", tau_prior="halfcauchy(5)"), data)
        >>> sorted(rv.name for rv in model.free_RVs)
        ['mu', 'tau', 'z', 'z_new']
        >>> sorted(v.name for v in model.deterministics), len(model.coords["study"])
        (['theta', 'theta_new'], 8)
    """
    import pymc as pm
    import pytensor.tensor as pt

    check_data(spec, data)
    values = data_values(spec, data)
    coords = coords_of(spec, data)
    mu_data = {"params_as_data": "mu_prior"} if spec.prior_data else {}
    tau_data = {"params_as_data": "tau_prior"} if spec.prior_data else {}
    with pm.Model(coords=coords) as model:
        y = pm.Data("y", values["y"], dims="study")
        # ---- sampling standard errors
        if spec.prepost and isinstance(spec.r, ShapePrior):  # r a parameter (else "sei")
            sd_pre = pm.Data("sd_pre", values["sd_pre"], dims="study")
            sd_post = pm.Data("sd_post", values["sd_post"], dims="study")
            n = pm.Data("n", values["n"], dims="study")
            r = spec.r.to_pymc("r", dims="study" if spec.r_by_study else None)
            var = (sd_pre**2 + sd_post**2 - 2.0 * r * sd_pre * sd_post) / n
            se = pm.Deterministic("se", pt.sqrt(var), dims="study")
        else:
            se = pm.Data("sei", values["sei"], dims="study")

        # ---- mean of the study effects
        g = None
        if spec.mean == "subgroup":
            g = pm.Data("subgroup_idx", values["subgroup_idx"], dims="study")
            if spec.subgroup_means == "fixed":
                mu_g = spec.mu_prior.to_pymc("mu_subgroup", dims="subgroup", **mu_data)
                w = pm.Data("subgroup_weight", values["subgroup_weight"], dims="subgroup")
                mu = pm.Deterministic("mu", pt.sum(w * mu_g))
            else:
                mu = spec.mu_prior.to_pymc("mu", **mu_data)
                sigma = _required(spec.sigma_prior, "sigma_prior").to_pymc("sigma_subgroup")
                if spec.centred:
                    mu_g = pm.Normal("mu_subgroup", mu, sigma, dims="subgroup")
                else:
                    eta = pm.Normal("eta_subgroup", 0.0, 1.0, dims="subgroup")
                    mu_g = pm.Deterministic("mu_subgroup", mu + sigma * eta, dims="subgroup")
            if "contrast" in coords:
                _, a, b = contrast_pairs(tuple(coords["subgroup"]))
                pm.Deterministic("mu_contrast", mu_g[a] - mu_g[b], dims="contrast")
            mean = mu_g[g]
        elif spec.mean == "regression":
            X = pm.Data("X", values["X"], dims=("study", "covariate"))
            xbar = pm.Data("x_mean", values["x_mean"], dims="covariate")
            beta_prior = spec.beta_prior or parse_prior("flat", "mu")
            beta = beta_prior.to_pymc("beta", dims="covariate")
            if spec.center_covariates:
                mu = spec.mu_prior.to_pymc("mu", **mu_data)
                mean = mu + pt.dot(X - xbar, beta)
            else:
                intercept = spec.mu_prior.to_pymc("intercept", **mu_data)
                mean = intercept + pt.dot(X, beta)
                mu = pm.Deterministic("mu", intercept + pt.dot(xbar, beta))
        else:
            mu = spec.mu_prior.to_pymc("mu", **mu_data)
            mean = mu

        # ---- heterogeneity and random effects
        tau_prior = (
            spec.tau_prior.bind(values["sei"]) if spec.tau_prior.needs_data else spec.tau_prior
        )
        tau_dims = "subgroup" if spec.tau_by_subgroup else None
        tau = tau_prior.to_pymc("tau", dims=tau_dims, **tau_data)
        tau_i = tau[g] if spec.tau_by_subgroup else tau
        nu = None
        if spec.effects == "t":
            if spec.nu is None:
                raise _missing("nu")
            nu = spec.nu if isinstance(spec.nu, float) else spec.nu.to_pymc("nu")
        if spec.nested:
            c = pm.Data("cluster_idx", values["cluster_idx"], dims="study")
            tau_arm = _required(spec.tau_arm_prior, "tau_arm_prior").to_pymc("tau_arm")
            u = _effects(pm, "u", "z_cluster", 0.0, tau, "cluster", spec.centred)
            theta = _effects(pm, "theta", "z", mean + u[c], tau_arm, "study", spec.centred)
            tau_pred = pm.Deterministic("tau_total", pt.sqrt(tau**2 + tau_arm**2))
            pm.Deterministic("rho", tau**2 / tau_pred**2)
        else:
            theta = _effects(pm, "theta", "z", mean, tau_i, "study", spec.centred, nu)
            tau_pred = tau

        if standardised and "sei" in values:  # known standard errors
            inv = 1.0 / se
            pm.Normal("y_obs", mu=theta * inv, sigma=1.0, observed=y * inv, dims="study")
        else:
            pm.Normal("y_obs", mu=theta, sigma=se, observed=y, dims="study")

        # ---- prediction for a new study (per subgroup with subgroup terms)
        new_dims = "subgroup" if spec.mean == "subgroup" else None
        if nu is None:
            z_new = pm.Normal("z_new", 0.0, 1.0, dims=new_dims)
        else:
            z_new = pm.StudentT("z_new", nu=nu, mu=0.0, sigma=1.0, dims=new_dims)
        centre = mu_g if spec.mean == "subgroup" else mu
        pm.Deterministic("theta_new", centre + tau_pred * z_new, dims=new_dims)
    return model


def _effects(
    pm: Any, name: str, zname: str, mean: Any, scale: Any, dims: str, centred: bool, nu: Any = None
) -> Any:
    """theta = mean + scale * z (non-centred) or theta ~ N/t(mean, scale) (centred)."""
    if centred:
        if nu is None:
            return pm.Normal(name, mu=mean, sigma=scale, dims=dims)
        return pm.StudentT(name, nu=nu, mu=mean, sigma=scale, dims=dims)
    if nu is None:
        z = pm.Normal(zname, 0.0, 1.0, dims=dims)
    else:
        z = pm.StudentT(zname, nu=nu, mu=0.0, sigma=1.0, dims=dims)
    return pm.Deterministic(name, mean + scale * z, dims=dims)
