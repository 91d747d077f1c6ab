"""Fit a hierarchical model with PyMC (lifelines style): ``BayesianMeta(...).fit(data)``.

After ``fit`` the trailing-underscore attributes hold the results: ``idata_`` (an
``xarray.DataTree`` with posterior, sample_stats, prior, prior_predictive,
posterior_predictive, log_likelihood, observed_data and constant_data groups),
``diagnostics_``, ``warnings_``, ``cache_hit_``, ``sampler_``, ``sampling_time_``.
``summary`` is ``az.summary(..., ci_prob=level, round_to="none")``; `to_result()` gives
the shared `bayesmeta.results.MetaResult`. Seeded: one ``seed`` fixes the sampler,
the prior draws and the posterior predictive draws.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Literal, cast

import numpy as np
import pandas as pd
import xarray as xr

from bayesmeta.defaults import resolve_priors
from bayesmeta.errors import InputError
from bayesmeta.hierarchical.data import MetaData
from bayesmeta.hierarchical.diagnostics import diagnose_groups, diagnostic_warnings, warn_all
from bayesmeta.hierarchical.extra_priors import RScale, ShapePrior
from bayesmeta.hierarchical.models import check_data, coords_of, data_values, model_spec
from bayesmeta.hierarchical.predictive import log_likelihood, posterior_predictive, ppc_table
from bayesmeta.hierarchical.sampling import (
    SAMPLERS,
    get_entry,
    nutpie_available,
    sample_posterior,
    sample_prior,
)
from bayesmeta.hierarchical.summaries import to_result
from bayesmeta.priors import Prior
from bayesmeta.results import MetaResult
from bayesmeta.studies import StudyTable

#: auxiliary standard-normal variables left out of summaries
AUXILIARY = ("z", "z_new", "z_cluster", "eta_subgroup", "r01")


def as_data(
    data: MetaData | StudyTable | pd.DataFrame,
    *,
    prepost: bool = False,
    subgroup: str | None = None,
    cluster: str | None = None,
    covariates: Sequence[str] = (),
) -> MetaData:
    """Model input from a MetaData, a StudyTable or a DataFrame (validated, InputError).

    A DataFrame needs ``study``, ``yi`` and ``vi`` or ``sei`` columns (`StudyTable.from_frame`;
    ``subgroup``, ``cluster`` and ``covariates`` name optional columns), or with ``prepost``
    the pre/post columns of `MetaData.from_prepost`. A MetaData is returned as is.

    Examples:
        >>> import pandas as pd
        >>> from bayesmeta.hierarchical.bayesian_meta import as_data
        >>> frame = pd.DataFrame({"study": ["a", "b", "c"], "yi": [0.1, 0.4, -0.2],
        ...                       "vi": [0.04, 0.09, 0.0625], "cell": ["T", "B", "T"]})
        >>> data = as_data(frame, subgroup="cell")
        >>> data.k, data.sei.tolist(), data.subgroups[0]
        (3, [0.2, 0.3, 0.25], ('T', 'B'))
    """
    if isinstance(data, MetaData):
        return data
    if isinstance(data, StudyTable):
        return MetaData.from_table(data)
    if isinstance(data, pd.DataFrame):
        if prepost:
            return MetaData.from_prepost(data, subgroup=subgroup)
        return MetaData.from_table(
            StudyTable.from_frame(data, subgroup=subgroup, cluster=cluster, covariates=covariates)
        )
    raise InputError(f"data must be a StudyTable, MetaData or DataFrame, not {type(data).__name__}")


def _seeds(seed: int) -> tuple[int, int, int]:
    """Independent sampler, prior and predictive seeds from one seed."""
    kids = np.random.SeedSequence(seed).spawn(3)
    post, prior, pred = (int(k.generate_state(1)[0]) for k in kids)
    return post, prior, pred


def _relabel(ds: xr.Dataset, coords: dict[str, list[str]]) -> xr.Dataset:
    """Attach the current labels (a cached model carries those of its first data set)."""
    return ds.assign_coords({d: labels for d, labels in coords.items() if d in ds.dims})


class BayesianMeta:
    """Bayesian hierarchical meta-analysis with PyMC; see `model_spec()` for the options.

    ``model`` is one of ``normal``, ``subgroup``, ``nested``, ``student_t``, ``regression``,
    ``prepost`` (equations in docs/models.md). The prior defaults are those of the exact engine
    (None: the scale-aware rule of `bayesmeta.defaults`, applied to the data at `fit()`:
    mu flat, tau half-normal from the unit-information SD, or halfnormal(0.5) on a log-ratio
    scale). Defaults: ``draws=1000``, ``tune=1000``,
    ``chains=4``, ``seed=1``, ``max_treedepth=10``, ``prior_draws=1000``, ``level=0.95``.
    Sampling: ``draws``/``tune`` per chain, ``chains``, ``seed``, ``target_accept`` (0.99 by
    default: with few studies the posterior of tau is wide and funnel-shaped, and the smaller
    step costs little in models this small),
    ``sampler="nutpie"`` (compiled once per model and data shape) or ``"pymc"``. ``level``
    and ``interval`` (``central`` or ``shortest``) set the reported intervals.
    ``prior_data=True`` puts the mu and tau prior parameters into the model as ``pm.Data``:
    fits that differ only in those values (same prior families) share one compiled model.

    Examples:
        Sampling takes seconds, so the fit line is not run as a doctest; the test suite runs
        this fit (tests/hierarchical/test_hier_exact_agreement.py) and checks mu, tau and
        theta_new against the exact engine within 3 Monte Carlo standard errors.

        >>> from bayesmeta import datasets
        >>> from bayesmeta.hierarchical import BayesianMeta, MetaData
        >>> df = datasets.load("rubin1981")
        >>> data = MetaData.from_arrays(df["effect"], df["stderr"], study=df["school"])
        >>> bm = BayesianMeta(mu_prior="normal(0, 5)", tau_prior="halfcauchy(5)")
        >>> s = bm.settings()
        >>> s["tau_prior"], s["parameterisation"], s["sampler"], s["chains"], s["draws"]
        ('halfcauchy(5)', 'non-centred', 'nutpie', '4', '1000')
        >>> bm = bm.fit(data)  # doctest: +SKIP
    """

    def __init__(
        self,
        model: str = "normal",
        *,
        mu_prior: str | Prior | None = None,
        tau_prior: str | Prior | None = None,
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
        draws: int = 1000,
        tune: int = 1000,
        chains: int = 4,
        seed: int = 1,
        target_accept: float = 0.99,
        max_treedepth: int = 10,
        sampler: Literal["nutpie", "pymc"] = "nutpie",
        cores: int | None = None,
        prior_draws: int = 1000,
        level: float = 0.95,
        interval: Literal["central", "shortest"] = "central",
        warn: bool = True,
        progress: bool = False,
    ) -> None:
        self._model = model
        self._priors_given = (mu_prior, tau_prior)
        self._spec_kwargs: dict[str, Any] = dict(
            centred=centred,
            subgroups=subgroups,
            subgroup_means=subgroup_means,
            sigma_prior=sigma_prior,
            tau_by_subgroup=tau_by_subgroup,
            nu=nu,
            tau_arm_prior=tau_arm_prior,
            beta_prior=beta_prior,
            center_covariates=center_covariates,
            r=r,
            r_scale=r_scale,
            r_by_study=r_by_study,
            prior_data=prior_data,
        )
        # until fit() sees the data, a default prior stands as its data-free form
        self.spec = model_spec(
            model,
            mu_prior="flat" if mu_prior is None else mu_prior,
            tau_prior="halfnormal(0.5)" if tau_prior is None else tau_prior,
            **self._spec_kwargs,
        )
        #: the default-prior note, set by fit() when a prior was left to the default rule
        self.prior_default_: str | None = None
        if sampler not in SAMPLERS:
            raise InputError(f"sampler must be one of {', '.join(SAMPLERS)}, not {sampler!r}")
        for name, v in (("draws", draws), ("tune", tune), ("chains", chains)):
            if not isinstance(v, (int, np.integer)) or v < 1:
                raise InputError(f"{name} must be a whole number >= 1 (got {v!r})")
        if not 0.0 < target_accept < 1.0:
            raise InputError(f"target_accept must lie in (0, 1) (got {target_accept})")
        if not 0.0 < level < 1.0:
            raise InputError(f"level must lie in (0, 1) (got {level})")
        if interval not in ("central", "shortest"):
            raise InputError(f"interval must be 'central' or 'shortest', not {interval!r}")
        self.draws, self.tune, self.chains, self.seed = int(draws), int(tune), int(chains), seed
        self.target_accept, self.max_treedepth = float(target_accept), int(max_treedepth)
        self.sampler, self.cores, self.prior_draws = sampler, cores, int(prior_draws)
        self.level, self.interval, self.warn = float(level), interval, warn
        #: show the sampler's progress (chains, draws, divergences) on stderr
        self.progress = bool(progress)

    # ------------------------------------------------------------------ fitting
    def fit(
        self,
        data: MetaData | StudyTable | pd.DataFrame,
        *,
        subgroup: str | None = None,
        cluster: str | None = None,
        covariates: Sequence[str] = (),
    ) -> BayesianMeta:
        """Sample the posterior (and prior, predictive, log-likelihood); returns ``self``.

        ``data`` as in `as_data()` (``subgroup``, ``cluster``, ``covariates`` name DataFrame
        columns). Sets ``idata_``, ``diagnostics_``, ``warnings_`` (issued as
        `SamplingWarning` unless ``warn=False``), ``cache_hit_``, ``sampler_``,
        ``sampling_time_``, ``data_`` and ``fit_time_``. See the class example.
        """
        t_start = time.perf_counter()
        spec = self.spec
        data = as_data(
            data, prepost=spec.prepost, subgroup=subgroup, cluster=cluster, covariates=covariates
        )
        if None in self._priors_given:
            spec = self.spec = self._default_spec(data)
        check_data(spec, data)
        entry, hit = get_entry(spec, data)
        values = data_values(spec, data)
        coords = coords_of(spec, data)
        sampler = self.sampler
        if sampler == "nutpie" and not nutpie_available():
            warnings.warn("nutpie is not installed: sampling with PyMC's NUTS", stacklevel=2)
            sampler = "pymc"
        tree, elapsed = sample_posterior(
            entry,
            values,
            sampler=sampler,
            draws=self.draws,
            tune=self.tune,
            chains=self.chains,
            seed=_seeds(self.seed)[0],
            target_accept=self.target_accept,
            max_treedepth=self.max_treedepth,
            cores=self.cores,
            progress=self.progress,
        )
        post = _relabel(tree["posterior"].to_dataset(), coords)
        stats = tree["sample_stats"].to_dataset()
        # the diagnostics (NumPy sorts and FFTs, which release the GIL) run while the other
        # groups are built
        with ThreadPoolExecutor(1) as pool:
            diag = pool.submit(diagnose_groups, post, stats)
            self._build_tree(post, stats, entry, values, coords, sampler, elapsed)
            self.diagnostics_ = diag.result()
        self.data_ = data
        self.sampler_ = sampler
        self.cache_hit_ = hit
        self.sampling_time_ = elapsed
        self.warnings_ = diagnostic_warnings(
            self.diagnostics_,
            centred=spec.centred,
            target_accept=self.target_accept,
            draws=self.draws,
            tune=self.tune,
        )
        if self.warn:
            warn_all(self.warnings_)
        self.fit_time_ = time.perf_counter() - t_start
        return self

    def _build_tree(
        self,
        post: xr.Dataset,
        stats: xr.Dataset,
        entry: Any,
        values: dict[str, np.ndarray],
        coords: dict[str, Any],
        sampler: str,
        elapsed: float,
    ) -> None:
        """Sets ``idata_`` (posterior, sample stats, log-likelihood, predictive, data, prior)
        and ``prior_note_``."""
        dims = entry.model.named_vars_to_dims
        _, s_prior, s_pred = _seeds(self.seed)
        sei = values.get("sei")
        groups: dict[str, xr.Dataset] = {
            "posterior": post,
            "sample_stats": stats,
            "log_likelihood": log_likelihood(post, values["y"], sei),
            "posterior_predictive": posterior_predictive(post, sei, np.random.default_rng(s_pred)),
            "observed_data": xr.Dataset(
                {"y_obs": ("study", values["y"])}, coords={"study": coords["study"]}
            ),
            "constant_data": xr.Dataset(
                {k: (dims.get(k, ()), v) for k, v in values.items() if k != "y"},
                coords={d: c for d, c in coords.items() if d != "contrast"},
            ),
        }
        prior = sample_prior(entry, values, self.prior_draws, s_prior) if self.prior_draws else None
        if prior is not None:
            prior_vars = {k: (("chain", "draw", *dims.get(k, ())), v) for k, v in prior.items()}
            sample = {"chain": [0], "draw": np.arange(self.prior_draws)}
            groups["prior"] = xr.Dataset(
                {k: v for k, v in prior_vars.items() if k != "y_obs"}, coords=coords | sample
            )
            groups["prior_predictive"] = xr.Dataset(
                {"y_obs": prior_vars["y_obs"]}, coords={"study": coords["study"]} | sample
            )
        for ds in groups.values():
            ds.attrs.update(inference_library="pymc", sampler=sampler)
        groups["posterior"].attrs["sampling_time"] = elapsed
        self.idata_ = xr.DataTree.from_dict({f"/{k}": v for k, v in groups.items()})
        self.prior_note_ = (
            None
            if prior is not None
            else "no prior group: prior_draws=0"
            if not self.prior_draws
            else "no prior group: a prior is improper or a potential"
        )

    def _default_spec(self, data: MetaData) -> Any:
        """The model spec with the default priors of `bayesmeta.defaults` for ``data``."""
        if data.sei is not None:
            sei, n = data.sei, data.ni
        else:  # pre/post summaries: the SE of the mean change at r = 0
            assert data.sd_pre is not None and data.sd_post is not None and data.n is not None
            sei, n = np.sqrt((data.sd_pre**2 + data.sd_post**2) / data.n), data.n
        mu, tau, self.prior_default_ = resolve_priors(
            *self._priors_given, sei, n=n, measure=data.measure
        )
        return model_spec(
            self._model,
            mu_prior=cast("str | Prior", mu),
            tau_prior=cast("str | Prior", tau),
            **self._spec_kwargs,
        )

    def _check_fitted(self) -> None:
        if not hasattr(self, "idata_"):
            raise RuntimeError("call fit() first")

    # ------------------------------------------------------------------ outputs
    def settings(self) -> dict[str, str]:
        """What the numbers depend on: model, priors, parameterisation, sampler, draws.

        All values are text (they go into ``MetaResult.settings``); see the class example.
        """
        s = {"model": self.spec.name, **self.spec.priors_text()}
        if self.spec.mean == "subgroup":
            s["subgroup_means"] = self.spec.subgroup_means
            s["tau"] = "per subgroup" if self.spec.tau_by_subgroup else "common"
        if self.spec.mean == "regression":
            s["covariates"] = "centred" if self.spec.center_covariates else "as given"
        s |= {
            "interval": self.interval,
            "parameterisation": self.spec.parameterisation,
            "sampler": getattr(self, "sampler_", self.sampler),
            "draws": str(self.draws),
            "tune": str(self.tune),
            "chains": str(self.chains),
            "seed": str(self.seed),
            "target_accept": f"{self.target_accept:g}",
        }
        if self.prior_default_:
            s["default_prior"] = self.prior_default_
        elif None in self._priors_given:
            s["default_prior"] = "set from the data at fit() (bayesmeta.defaults)"
        return s

    @property
    def summary(self) -> pd.DataFrame:
        """``az.summary`` of every model quantity (auxiliary z's left out), unrounded."""
        import arviz as az

        self._check_fitted()
        names = [n for n in self.idata_["posterior"].data_vars if n not in AUXILIARY]
        return az.summary(
            self.idata_,
            var_names=names,
            ci_prob=self.level,
            ci_kind="eti" if self.interval == "central" else "hdi",
            round_to="none",
        )

    def to_result(self) -> MetaResult:
        """The shared result contract (engine ``pymc``, method = model name)."""
        self._check_fitted()
        return to_result(self)

    def __repr__(self) -> str:
        if not hasattr(self, "idata_"):
            mu, tau = (p if p is not None else "default" for p in self._priors_given)
            return (
                f"BayesianMeta(model={self._model!r}, mu_prior={str(mu)!r}, "
                f"tau_prior={str(tau)!r}, draws={self.draws}, chains={self.chains}; not fitted)"
            )
        return str(self.to_result())

    def _repr_html_(self) -> str:
        if not hasattr(self, "idata_"):
            import html

            return f"<pre>{html.escape(repr(self))}</pre>"
        return self.to_result()._repr_html_()

    def print_summary(self, digits: int = 4) -> None:
        """Print `to_result()`'s summary with ``digits`` decimals (default 4)."""
        self.to_result().print_summary(digits)

    def loo(self, pointwise: bool = True) -> Any:
        """PSIS-LOO (``az.loo``) of the study-level likelihood (Vehtari et al. 2017)."""
        import arviz as az

        self._check_fitted()
        return az.loo(self.idata_, pointwise=pointwise)

    def ppc(self, level: float | None = None) -> pd.DataFrame:
        """Posterior predictive check per study (`bayesmeta.hierarchical.predictive.ppc_table`)."""
        self._check_fitted()
        return ppc_table(
            self.idata_["observed_data"].to_dataset()["y_obs"].values,
            self.idata_["posterior_predictive"].to_dataset()["y_obs"],
            level or self.level,
        )


def fit(
    data: MetaData | StudyTable | pd.DataFrame,
    model: str = "normal",
    *,
    subgroup: str | None = None,
    cluster: str | None = None,
    covariates: Sequence[str] = (),
    **options: Any,
) -> BayesianMeta:
    """``BayesianMeta(model, **options).fit(data, ...)`` in one call.

    ``options`` are the keyword arguments of `BayesianMeta` (priors, sampler settings, level);
    they are checked before anything is built or compiled.

    Examples:
        Sampling takes seconds, so the fit line is not run as a doctest; the test suite makes
        the same call for every model (tests/hierarchical/test_hier_sampling_slow.py).

        >>> from bayesmeta.hierarchical import MetaData, fit
        >>> data = MetaData.from_arrays([0.1, 0.4, -0.2], [0.2, 0.3, 0.25])
        >>> fit(data, "normal", draws=0)
        Traceback (most recent call last):
        ...
        bayesmeta.errors.InputError: draws must be a whole number >= 1 (got 0)
        >>> result = fit(data, "normal", tau_prior="halfcauchy(0.5)").to_result()  # doctest: +SKIP
    """
    return BayesianMeta(model, **options).fit(
        data, subgroup=subgroup, cluster=cluster, covariates=covariates
    )
