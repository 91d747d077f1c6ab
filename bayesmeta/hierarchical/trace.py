"""nutpie's raw Arrow trace as xarray Datasets: the posterior after warm-up and the scalar
sample statistics.

nutpie's own conversion goes through ``arviz.from_dict`` and converts the warm-up draws too,
even when they are not kept; reading the Arrow columns directly takes a fraction of that time
(it is most of what a warm refit spends outside the sampler). The values are nutpie's: a test
compares them, element for element, with nutpie's own conversion of the same trace
(tests/hierarchical/test_hier_trace.py).

Kept: every posterior variable except the unconstrained copies of transformed parameters
(``tau_log__``), and every scalar sample statistic of every draw (``diverging``, ``energy``,
``maxdepth_reached``, ``n_steps``, ``step_size``, ...). Left out: vector statistics
(``gradient``, ``mass_matrix_inv``) and per-divergence records, which nutpie also leaves out
unless asked to store them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import xarray as xr

#: statistics that are bookkeeping, not statistics of a draw
_NOT_STATS = ("chain", "draw", "tuning")


def sample_nutpie(compiled: Any, **kwargs: Any) -> tuple[xr.Dataset, xr.Dataset]:
    """``nutpie.sample(compiled, **kwargs)`` without warm-up draws, as (posterior, sample
    statistics) Datasets with the model's coordinates.

    Examples:
        Sampling takes seconds, so this is not run as a doctest; every nutpie fit uses it.

        >>> from bayesmeta.hierarchical.trace import sample_nutpie
        >>> post, stats = sample_nutpie(compiled, draws=1000, tune=1000, chains=4,  # doctest: +SKIP
        ...                             seed=1)
    """
    import nutpie

    raw = nutpie.sample(compiled, return_raw_trace=True, save_warmup=False, **kwargs)
    draws, stats = raw.get_arrow_trace()
    return trace_datasets(draws, stats, skip=compiled.reparameterized_names, coords=compiled.coords)


def trace_datasets(
    draw_batches: list[Any],
    stat_batches: list[Any],
    *,
    skip: Iterable[str] = (),
    coords: Mapping[str, Any] | None = None,
) -> tuple[xr.Dataset, xr.Dataset]:
    """One Arrow record batch of draws and one of statistics per chain -> (posterior, sample
    statistics): the draws after warm-up (``tuning`` false), shape (chain, draw, ...), dims
    and shapes from each column's metadata, labels from ``coords``; variables in ``skip``
    left out. Chains that stopped early are padded with NaN, as nutpie does.

    Examples:
        >>> import pyarrow as pa
        >>> from bayesmeta.hierarchical.trace import trace_datasets
        >>> draws = [pa.record_batch({"mu": [0.1, 0.2, 0.3]}) for _ in range(2)]
        >>> stats = [pa.record_batch({"tuning": [True, False, False],
        ...                           "diverging": [False, False, True]}) for _ in range(2)]
        >>> post, st = trace_datasets(draws, stats)
        >>> post["mu"].values.tolist(), int(st["diverging"].sum())
        ([[0.2, 0.3], [0.2, 0.3]], 2)
    """
    import pyarrow as pa

    spans = []
    for draw, stat in zip(draw_batches, stat_batches, strict=True):
        if draw.num_rows != stat.num_rows:
            raise ValueError("nutpie trace: draws and statistics differ in length")
        tuning = pa.array(stat.column("tuning")).to_numpy(zero_copy_only=False)
        start = int(np.sum(tuning))
        spans.append((start, int(stat.num_rows) - start))
    length = max((n for _, n in spans), default=0)
    labels = dict(coords or {})
    skipped = set(skip)
    post = _dataset(draw_batches, spans, length, labels, lambda name, meta: name not in skipped)
    stats = _dataset(
        stat_batches,
        spans,
        length,
        labels,
        lambda name, meta: name not in _NOT_STATS and not meta,  # scalar, one per draw
    )
    return post, stats


def _dataset(
    batches: list[Any],
    spans: list[tuple[int, int]],
    length: int,
    labels: dict[str, Any],
    keep: Any,
) -> xr.Dataset:
    import pyarrow as pa

    chains = len(batches)
    first = batches[0]
    kept = [batch.slice(start, n) for batch, (start, n) in zip(batches, spans, strict=True)]
    out: dict[str, tuple[tuple[str, ...], np.ndarray]] = {}
    dim_sizes: dict[str, int] = {}
    for name in first.column_names:
        meta = {
            k.decode(): v.decode() for k, v in (first.schema.field(name).metadata or {}).items()
        }
        if not keep(name, meta):
            continue
        shape = tuple(int(s) for s in meta["shape"].split(",")) if meta.get("shape") else ()
        dims = tuple(meta["dims"].split(",")) if meta.get("dims") else ()
        if len(dims) != len(shape):
            dims = tuple(f"{name}_dim_{i}" for i in range(len(shape)))
        data: np.ndarray | None = None
        for chain, (batch, (_, n)) in enumerate(zip(kept, spans, strict=True)):
            col = pa.array(batch.column(name))
            if col.null_count:
                raise ValueError(f"nutpie trace: missing values in {name!r}")
            values = (col.flatten() if hasattr(col, "flatten") else col).to_numpy(
                zero_copy_only=False
            )
            if data is None:
                fill = np.nan if values.dtype.kind == "f" else 0
                data = np.full((chains, length, *shape), fill, dtype=values.dtype)
            data[chain, :n] = values.reshape(n, *shape)
        assert data is not None
        out[name] = (("chain", "draw", *dims), data)
        dim_sizes.update(zip(dims, shape, strict=True))
    coords: dict[str, Any] = {"chain": np.arange(chains), "draw": np.arange(length)}
    for dim, size in dim_sizes.items():
        coords[dim] = np.asarray(labels[dim]) if dim in labels else np.arange(size)
    return xr.Dataset(out, coords=coords)
