"""Compile once, sample many times: a model cache keyed by model spec and data shape.

A refit with new data of the same shape (same k, subgroups, clusters, covariates), or with
``prior_data`` another mu / tau prior of the same families, reuses the built ``pm.Model``,
the compiled nutpie model (new values enter through ``CompiledPyMCModel.with_data``) and
the compiled prior sampler; labels are reattached to the output. :func:`cache_info` counts
hits, misses and compilations.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import xarray as xr

from bayesmeta.hierarchical.data import MetaData
from bayesmeta.hierarchical.models import ModelSpec, build_model, coords_of

SAMPLERS = ("nutpie", "pymc")


@dataclass
class CacheEntry:
    """A built model and whatever has been compiled from it so far."""

    model: Any
    nutpie_model: Any = None
    prior_sampler: Any = None
    compilations: int = 0
    uses: int = 0


_CACHE: dict[tuple[Any, ...], CacheEntry] = {}
_STATS = {"hits": 0, "misses": 0, "compilations": 0}


def cache_key(spec: ModelSpec, data: MetaData) -> tuple[Any, ...]:
    """Model spec + the length of every dim (+ the standard errors a jeffreys prior binds).

    With ``spec.prior_data`` the key holds the mu and tau prior families, not their
    parameters (:meth:`ModelSpec.graph_key`): those are swapped in like the data."""
    shape = tuple((dim, len(labels)) for dim, labels in coords_of(spec, data).items())
    bound = tuple(np.asarray(data.sei, float).tolist()) if spec.tau_prior.needs_data else ()
    return (spec.graph_key(), shape, bound)


def get_entry(spec: ModelSpec, data: MetaData) -> tuple[CacheEntry, bool]:
    """The cache entry for ``spec`` and the shape of ``data``; True if it already existed."""
    key = cache_key(spec, data)
    entry = _CACHE.get(key)
    hit = entry is not None
    if entry is None:
        entry = _CACHE[key] = CacheEntry(model=build_model(spec, data))
        _STATS["misses"] += 1
    else:
        _STATS["hits"] += 1
    entry.uses += 1
    return entry, hit


def cache_info() -> dict[str, int]:
    """Counts of cache hits, misses (models built) and sampler compilations, and entries."""
    return dict(_STATS, entries=len(_CACHE))


def clear_cache() -> None:
    _CACHE.clear()
    for k in _STATS:
        _STATS[k] = 0


def _compile_nutpie(entry: CacheEntry) -> Any:
    import nutpie

    if entry.nutpie_model is None:
        entry.nutpie_model = nutpie.compile_pymc_model(entry.model, backend="numba")
        entry.compilations += 1
        _STATS["compilations"] += 1
    return entry.nutpie_model


def nutpie_available() -> bool:
    try:
        import nutpie  # noqa: F401
    except ImportError:
        return False
    return True


def sample_posterior(
    entry: CacheEntry,
    values: dict[str, np.ndarray],
    *,
    sampler: str,
    draws: int,
    tune: int,
    chains: int,
    seed: int,
    target_accept: float,
    max_treedepth: int,
    cores: int | None = None,
) -> tuple[xr.DataTree, float]:
    """Posterior draws (``posterior`` and ``sample_stats`` groups) and the sampling time (s)."""
    import pymc as pm

    cores = cores or max(1, min(chains, os.cpu_count() or 1))
    pm.set_data(values, model=entry.model)
    if sampler == "nutpie":
        import nutpie

        compiled = _compile_nutpie(entry).with_data(**values)
        t0 = time.perf_counter()
        idata = nutpie.sample(
            compiled,
            draws=draws,
            tune=tune,
            chains=chains,
            cores=cores,
            seed=seed,
            save_warmup=False,
            progress_bar=False,
            target_accept=target_accept,
            maxdepth=max_treedepth,
        )
        elapsed = time.perf_counter() - t0
    elif sampler == "pymc":
        t0 = time.perf_counter()
        idata = pm.sample(
            draws=draws,
            tune=tune,
            chains=chains,
            cores=cores,
            random_seed=seed,
            nuts_sampler="pymc",
            progressbar=False,
            quiet=True,
            compute_convergence_checks=False,
            nuts={"target_accept": target_accept, "max_treedepth": max_treedepth},
            model=entry.model,
        )
        elapsed = time.perf_counter() - t0
        _STATS["compilations"] += 1  # PyMC's NUTS compiles its functions on every call
        entry.compilations += 1
    else:
        raise ValueError(f"sampler must be one of {SAMPLERS}, not {sampler!r}")
    out = xr.DataTree()
    out["posterior"] = idata["posterior"]
    out["sample_stats"] = idata["sample_stats"]
    return out, elapsed


def prior_sampleable(model: Any) -> bool:
    """False if a prior is improper (pm.Flat / pm.HalfFlat) or added through a Potential."""
    return not model.potentials and not any(
        type(rv.owner.op).__name__ in ("FlatRV", "HalfFlatRV") for rv in model.free_RVs
    )


def sample_prior(
    entry: CacheEntry, values: dict[str, np.ndarray], draws: int, seed: int
) -> dict[str, np.ndarray] | None:
    """Prior and prior-predictive draws {name: (1, draws, ...)}; None if a prior is improper."""
    import pymc as pm
    from pymc.pytensorf import reseed_rngs
    from pymc.sampling.forward import compile_forward_sampling_function
    from pytensor.tensor.random.type import RandomGeneratorType

    model = entry.model
    if not prior_sampleable(model):
        return None
    pm.set_data(values, model=model)
    if entry.prior_sampler is None:
        names = sorted(v.name for v in model.free_RVs + model.deterministics + model.observed_RVs)
        fn, _ = compile_forward_sampling_function(
            [model[n] for n in names], vars_in_trace=[], basic_rvs=model.basic_RVs, model=model
        )
        rngs = [v for v in fn.get_shared() if isinstance(v.type, RandomGeneratorType)]
        entry.prior_sampler = (fn, rngs, names)
    fn, rngs, names = entry.prior_sampler
    reseed_rngs(rngs, seed)
    rows = [fn() for _ in range(draws)]
    return {n: np.stack([r[i] for r in rows])[None, ...] for i, n in enumerate(names)}
