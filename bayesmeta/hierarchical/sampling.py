"""Compile once, sample many times: a model cache keyed by model spec and data shape.

A refit with new data of the same shape (same k, subgroups, clusters, covariates), or with
``prior_data`` another mu / tau prior of the same families, reuses the built ``pm.Model``,
the compiled nutpie model (new values enter through ``CompiledPyMCModel.with_data``) and
the compiled prior sampler; labels are reattached to the output. `cache_info()` counts
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
from bayesmeta.hierarchical.models import ModelSpec, build_model, coords_of, logp_offset

SAMPLERS = ("nutpie", "pymc")


@dataclass
class CacheEntry:
    """A built model and whatever has been compiled from it so far.

    ``model`` is the ``pm.Model`` built from ``spec`` and ``data``; ``nutpie_model`` the
    compiled nutpie model (of the model's ``standardised`` form, `build_model()`) and
    ``prior_sampler`` the compiled forward sampler (None until first used);
    ``compilations`` and ``uses`` count what was done with this entry.

    Examples:
        >>> from bayesmeta.hierarchical import MetaData, clear_cache, model_spec
        >>> from bayesmeta.hierarchical.sampling import get_entry
        >>> clear_cache()
        >>> data = MetaData.from_arrays([0.1, 0.4, -0.2], [0.2, 0.3, 0.25])
        >>> entry, hit = get_entry(model_spec("normal"), data)
        >>> entry.uses, entry.compilations, entry.nutpie_model is None
        (1, 0, True)
    """

    model: Any
    spec: ModelSpec
    data: MetaData
    nutpie_model: Any = None
    prior_sampler: Any = None
    compilations: int = 0
    uses: int = 0


_CACHE: dict[tuple[Any, ...], CacheEntry] = {}
_STATS = {"hits": 0, "misses": 0, "compilations": 0}


def cache_key(spec: ModelSpec, data: MetaData) -> tuple[Any, ...]:
    """Model spec + the length of every dim (+ the standard errors a jeffreys prior binds).

    With ``spec.prior_data`` the key holds the mu and tau prior families, not their
    parameters (`ModelSpec.graph_key()`): those are swapped in like the data.

    Examples:
        >>> from bayesmeta.hierarchical import MetaData, model_spec
        >>> from bayesmeta.hierarchical.sampling import cache_key
        >>> spec = model_spec("normal")
        >>> a = MetaData.from_arrays([0.1, 0.4, -0.2], [0.2, 0.3, 0.25])
        >>> b = MetaData.from_arrays([1.1, 0.9, 0.3], [0.5, 0.4, 0.35])
        >>> c = MetaData.from_arrays([1.1, 0.9], [0.5, 0.4])
        >>> cache_key(spec, a) == cache_key(spec, b), cache_key(spec, a) == cache_key(spec, c)
        (True, False)
    """
    shape = tuple((dim, len(labels)) for dim, labels in coords_of(spec, data).items())
    bound = tuple(np.asarray(data.sei, float).tolist()) if spec.tau_prior.needs_data else ()
    return (spec.graph_key(), shape, bound)


def get_entry(spec: ModelSpec, data: MetaData) -> tuple[CacheEntry, bool]:
    """The cache entry for ``spec`` and the shape of ``data``; True if it already existed.

    A miss builds the model (`build_model()`); nothing is compiled here.

    Examples:
        >>> from bayesmeta.hierarchical import MetaData, clear_cache, model_spec
        >>> from bayesmeta.hierarchical.sampling import get_entry
        >>> clear_cache()
        >>> spec = model_spec("normal")
        >>> a = MetaData.from_arrays([0.1, 0.4, -0.2], [0.2, 0.3, 0.25])
        >>> b = MetaData.from_arrays([1.1, 0.9, 0.3], [0.5, 0.4, 0.35])
        >>> first, hit = get_entry(spec, a)
        >>> again, hit_again = get_entry(spec, b)
        >>> hit, hit_again, again is first
        (False, True, True)
    """
    key = cache_key(spec, data)
    entry = _CACHE.get(key)
    hit = entry is not None
    if entry is None:
        entry = _CACHE[key] = CacheEntry(model=build_model(spec, data), spec=spec, data=data)
        _STATS["misses"] += 1
    else:
        _STATS["hits"] += 1
    entry.uses += 1
    return entry, hit


def cache_info() -> dict[str, int]:
    """Counts of cache hits, misses (models built) and sampler compilations, and entries.

    Examples:
        >>> from bayesmeta.hierarchical import MetaData, cache_info, clear_cache, model_spec
        >>> from bayesmeta.hierarchical.sampling import get_entry
        >>> clear_cache()
        >>> data = MetaData.from_arrays([0.1, 0.4, -0.2], [0.2, 0.3, 0.25])
        >>> for _ in range(2):
        ...     entry, hit = get_entry(model_spec("normal"), data)
        >>> cache_info()
        {'hits': 1, 'misses': 1, 'compilations': 0, 'entries': 1}
    """
    return dict(_STATS, entries=len(_CACHE))


def clear_cache() -> None:
    """Drop every cached model and compiled sampler and reset the `cache_info()` counts.

    Examples:
        >>> from bayesmeta.hierarchical import cache_info, clear_cache
        >>> clear_cache()
        >>> cache_info()
        {'hits': 0, 'misses': 0, 'compilations': 0, 'entries': 0}
    """
    _CACHE.clear()
    for k in _STATS:
        _STATS[k] = 0


def _compile_nutpie(entry: CacheEntry) -> Any:
    from bayesmeta.hierarchical.compiled import compile_model

    if entry.nutpie_model is None:
        model = build_model(entry.spec, entry.data, standardised=True)
        entry.nutpie_model = compile_model(model)
        entry.compilations += 1
        _STATS["compilations"] += 1
    return entry.nutpie_model


def nutpie_available() -> bool:
    """Can nutpie be imported? (Otherwise `BayesianMeta` falls back to PyMC's NUTS.)

    Examples:
        >>> from bayesmeta.hierarchical.sampling import nutpie_available
        >>> nutpie_available()  # nutpie is a dependency of bayesmeta
        True
    """
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
    progress: bool = False,
) -> tuple[xr.DataTree, float]:
    """Posterior draws (``posterior`` and ``sample_stats`` groups) and the sampling time (s).

    ``values`` (from `data_values()`) are set into the cached model; ``sampler`` is
    ``"nutpie"`` (compiled once per entry, new data enter through ``with_data``) or
    ``"pymc"`` (PyMC's NUTS, which compiles on every call). ``cores`` defaults to
    min(chains, CPU count). Warm-up draws are not kept; ``seed`` makes the draws reproducible.
    nutpie samples the model's ``standardised`` form (`build_model()`), whose ``logp`` and
    ``energy`` statistics are shifted back by `logp_offset()`.

    Examples:
        Compiling and sampling take seconds, so the sampling line is not run as a doctest;
        the test suite runs it through `BayesianMeta.fit`
        (tests/hierarchical/test_hier_sampling_slow.py).

        >>> from bayesmeta.hierarchical import MetaData, model_spec
        >>> from bayesmeta.hierarchical.models import data_values
        >>> from bayesmeta.hierarchical.sampling import get_entry, sample_posterior
        >>> data = MetaData.from_arrays([0.1, 0.4, -0.2], [0.2, 0.3, 0.25])
        >>> spec = model_spec("normal")
        >>> entry, _ = get_entry(spec, data)
        >>> tree, seconds = sample_posterior(  # doctest: +SKIP
        ...     entry, data_values(spec, data), sampler="nutpie", draws=1000, tune=1000,
        ...     chains=4, seed=1, target_accept=0.99, max_treedepth=10)
    """
    import pymc as pm

    cores = cores or max(1, min(chains, os.cpu_count() or 1))
    pm.set_data(values, model=entry.model)
    if sampler == "nutpie":
        from bayesmeta.hierarchical.trace import sample_nutpie

        compiled = _compile_nutpie(entry).with_data(**values)
        t0 = time.perf_counter()
        post, stats = sample_nutpie(
            compiled,
            draws=draws,
            tune=tune,
            chains=chains,
            cores=cores,
            seed=seed,
            progress_bar=progress,  # nutpie's terminal bars (chains, draws, divergences) on stderr
            target_accept=target_accept,
            maxdepth=max_treedepth,
        )
        elapsed = time.perf_counter() - t0
        offset = logp_offset(values)  # nutpie ran the standardised form
        if "logp" in stats:  # the log density of the model as built, not of its form
            stats["logp"] = stats["logp"] + offset
        if "energy" in stats:  # the Hamiltonian: -log density + kinetic energy
            stats["energy"] = stats["energy"] - offset
    elif sampler == "pymc":
        t0 = time.perf_counter()
        idata = pm.sample(
            draws=draws,
            tune=tune,
            chains=chains,
            cores=cores,
            random_seed=seed,
            nuts_sampler="pymc",
            progressbar=progress,
            quiet=True,
            compute_convergence_checks=False,
            nuts={"target_accept": target_accept, "max_treedepth": max_treedepth},
            model=entry.model,
            # forkserver: fork() from a multi-threaded process (numba, BLAS) may deadlock
            mp_ctx="forkserver",
        )
        elapsed = time.perf_counter() - t0
        post, stats = idata["posterior"].to_dataset(), idata["sample_stats"].to_dataset()
        _STATS["compilations"] += 1  # PyMC's NUTS compiles its functions on every call
        entry.compilations += 1
    else:
        raise ValueError(f"sampler must be one of {SAMPLERS}, not {sampler!r}")
    out = xr.DataTree()
    out["posterior"] = post
    out["sample_stats"] = stats
    return out, elapsed


def prior_sampleable(model: Any) -> bool:
    """False if a prior is improper (pm.Flat / pm.HalfFlat) or added through a Potential.

    Such models have no prior (predictive) distribution to draw from.

    Examples:
        >>> from bayesmeta.hierarchical import MetaData, build_model, model_spec
        >>> from bayesmeta.hierarchical.sampling import prior_sampleable
        >>> data = MetaData.from_arrays([0.1, 0.4, -0.2], [0.2, 0.3, 0.25])
        >>> prior_sampleable(build_model(model_spec("normal"), data))
        True
        >>> prior_sampleable(build_model(model_spec("normal", mu_prior="flat"), data))
        False
    """
    return not model.potentials and not any(
        type(rv.owner.op).__name__ in ("FlatRV", "HalfFlatRV") for rv in model.free_RVs
    )


def sample_prior(
    entry: CacheEntry, values: dict[str, np.ndarray], draws: int, seed: int
) -> dict[str, np.ndarray] | None:
    """Prior and prior-predictive draws {name: (1, draws, ...)}; None if a prior is improper.

    Forward sampling of every free variable, deterministic and ``y_obs`` with the data
    ``values``; the compiled sampler is kept in ``entry``; ``seed`` fixes the draws.

    Examples:
        >>> import numpy as np
        >>> from bayesmeta.hierarchical import MetaData, model_spec
        >>> from bayesmeta.hierarchical.models import data_values
        >>> from bayesmeta.hierarchical.sampling import get_entry, sample_prior
        >>> data = MetaData.from_arrays([0.1, 0.4, -0.2], [0.2, 0.3, 0.25])
        >>> spec = model_spec("normal")
        >>> entry, _ = get_entry(spec, data)
        >>> draws = sample_prior(entry, data_values(spec, data), 200, seed=1)
        >>> sorted(draws), draws["theta"].shape
        (['mu', 'tau', 'theta', 'theta_new', 'y_obs', 'z', 'z_new'], (1, 200, 3))
        >>> again = sample_prior(entry, data_values(spec, data), 200, seed=1)
        >>> np.array_equal(draws["tau"], again["tau"])
        True
    """
    import pymc as pm
    from pymc.pytensorf import reseed_rngs
    from pytensor.tensor.random.type import RandomGeneratorType

    model = entry.model
    if not prior_sampleable(model):
        return None
    pm.set_data(values, model=model)
    if entry.prior_sampler is None:
        names = sorted(v.name for v in model.free_RVs + model.deterministics + model.observed_RVs)
        fn = _batched_forward_sampler(model, [model[n] for n in names])
        rngs = [v for v in fn.get_shared() if isinstance(v.type, RandomGeneratorType)]
        entry.prior_sampler = (fn, rngs, names)
    fn, rngs, names = entry.prior_sampler
    reseed_rngs(rngs, seed)
    rows = fn(draws)
    return {
        n: np.broadcast_to(r, (draws, *np.shape(r)[np.ndim(r) - model[n].ndim :]))[None, ...].copy()
        for n, r in zip(names, rows, strict=True)
    }


def _batched_forward_sampler(model: Any, outputs: list[Any]) -> Any:
    """One compiled function ``f(draws)`` that returns ``draws`` joint forward draws of
    ``outputs`` at once: each root random variable gets a leading ``draws`` dimension and
    `pytensor.graph.replace.vectorize_graph` carries it through every dependent variable
    (one call instead of one call per draw)."""
    import pytensor.tensor as pt
    from pymc.pytensorf import compile as compile_fn
    from pytensor.compile.ops import ViewOp
    from pytensor.graph.replace import graph_replace, vectorize_graph
    from pytensor.graph.traversal import ancestors, io_toposort
    from pytensor.tensor.blockwise import Blockwise
    from pytensor.tensor.random.utils import compute_batch_shape
    from pytensor.tensor.type_other import NoneTypeT

    draws = pt.iscalar("draws")
    basic = set(model.basic_RVs)
    replace = {}
    for rv in model.basic_RVs:
        node = rv.owner
        if any(a in basic for a in ancestors(node.inputs)):
            continue  # batched through its parents
        rng, size, *params = node.inputs
        batch = (
            compute_batch_shape(params, ndims_params=node.op.ndims_params)
            if isinstance(size.type, NoneTypeT)
            else size
        )
        new_size = pt.concatenate([pt.atleast_1d(draws), pt.as_tensor(batch, dtype="int64")])
        replace[rv] = node.op.make_node(rng, new_size, *params).default_output()
    batched = vectorize_graph(outputs, replace=replace)
    # the identity views PyMC puts on named variables become Python loops over the draws once
    # vectorised (Blockwise); they change nothing, so they are dropped
    for _ in range(10):  # a view of a view appears only once the outer one is gone
        views = {
            node.outputs[0]: node.inputs[0]
            for node in io_toposort([], batched)
            if isinstance(node.op, Blockwise) and isinstance(node.op.core_op, ViewOp)
        }
        if not views:
            break
        batched = graph_replace(batched, views)
    # Python linker: one call per fit gains little from numba, whose compilation of this graph
    # on a new machine (empty PyTensor cache) costs far more than the draws
    return compile_fn([draws], batched, mode="FAST_COMPILE")


def sample_compiled(
    compiled: Any,
    *,
    draws: int,
    tune: int,
    chains: int,
    seed: int,
    target_accept: float,
    progress: bool = False,
    coords: dict[str, Any] | None = None,
) -> tuple[xr.DataTree, float, Any, list[str]]:
    """nutpie's draws from a compiled model (warm-up dropped): the tree (``posterior`` and
    ``sample_stats``), the sampling time (s), `diagnose` of it and its warnings (non-centred).
    ``coords`` relabel the posterior's dims first (a compiled model reused for new data keeps
    the labels it was built with).

    Examples:
        Sampling takes seconds, so this is not run as a doctest; the binomial and selection
        models use it (tests/hierarchical/test_hier_binomial.py).

        >>> from bayesmeta.hierarchical.sampling import sample_compiled
        >>> tree, seconds, diag, warns = sample_compiled(  # doctest: +SKIP
        ...     compiled, draws=1000, tune=1000, chains=4, seed=1, target_accept=0.95)
    """
    from bayesmeta.hierarchical.diagnostics import diagnose_groups, diagnostic_warnings
    from bayesmeta.hierarchical.trace import sample_nutpie

    t0 = time.perf_counter()
    post, stats = sample_nutpie(
        compiled, draws=draws, tune=tune, chains=chains, seed=seed, progress_bar=progress,
        target_accept=target_accept,
    )  # fmt: skip
    seconds = time.perf_counter() - t0
    post = post.assign_coords({d: v for d, v in (coords or {}).items() if d in post.dims})
    tree = xr.DataTree()
    tree["posterior"] = post
    tree["sample_stats"] = stats
    diag = diagnose_groups(post, stats)
    warns = diagnostic_warnings(diag, centred=False, target_accept=target_accept, draws=draws,
                                tune=tune)  # fmt: skip
    return tree, seconds, diag, warns
