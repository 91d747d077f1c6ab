"""The Arrow trace reader against nutpie's own conversion of the same raw trace.

``nutpie.sample._arrow_to_arviz`` is what ``nutpie.sample`` returns by default; both read the
same record batches here, so every posterior draw and every kept sample statistic must be
equal element for element, with the same dims, labels and dtypes.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hier_data import schools

from bayesmeta.hierarchical import model_spec
from bayesmeta.hierarchical.models import data_values
from bayesmeta.hierarchical.sampling import _compile_nutpie, get_entry
from bayesmeta.hierarchical.trace import trace_datasets

nutpie = pytest.importorskip("nutpie")


def raw_trace(tune=200, draws=150):
    spec = model_spec("normal", mu_prior="normal(0, 10)", tau_prior="halfnormal(10)")
    data = schools()
    entry, _ = get_entry(spec, data)
    compiled = _compile_nutpie(entry).with_data(**data_values(spec, data))
    raw = nutpie.sample(compiled, draws=draws, tune=tune, chains=3, cores=1, seed=4,
                        save_warmup=False, progress_bar=False, return_raw_trace=True)  # fmt: skip
    return compiled, *raw.get_arrow_trace()


def test_equals_nutpies_own_conversion():
    from nutpie.sample import _arrow_to_arviz

    compiled, draws, stats = raw_trace()
    post, st = trace_datasets(
        draws, stats, skip=compiled.reparameterized_names, coords=compiled.coords
    )
    ref = _arrow_to_arviz(
        draws, stats, reparameterized_names=compiled.reparameterized_names,
        coords={k: pd.Index(v) for k, v in compiled.coords.items()}, save_warmup=False,
    )  # fmt: skip
    ref_post, ref_stats = ref["posterior"].to_dataset(), ref["sample_stats"].to_dataset()
    assert list(post.data_vars) == list(ref_post.data_vars)
    assert dict(post.sizes) == {"chain": 3, "draw": 150, "study": 8}
    for name, da in post.data_vars.items():
        want = ref_post[name]
        assert da.dims == want.dims
        np.testing.assert_array_equal(da.values, want.values)
        for dim in da.dims:
            np.testing.assert_array_equal(da[dim].values, want[dim].values)
    assert {"diverging", "energy", "maxdepth_reached", "n_steps", "step_size"} <= set(st)
    assert set(st) <= set(ref_stats)
    for name, da in st.data_vars.items():
        assert da.dtype == ref_stats[name].dtype, name
        np.testing.assert_array_equal(da.values, ref_stats[name].values)


def test_warm_up_rows_are_dropped_and_short_chains_padded():
    pa = pytest.importorskip("pyarrow")
    draws = [pa.record_batch({"mu": [9.0, 1.0, 2.0]}), pa.record_batch({"mu": [9.0, 3.0]})]
    stats = [
        pa.record_batch({"tuning": [True, False, False], "n_steps": [1, 3, 7]}),
        pa.record_batch({"tuning": [True, False], "n_steps": [1, 5]}),
    ]
    post, st = trace_datasets(draws, stats)
    np.testing.assert_array_equal(post["mu"].values, [[1.0, 2.0], [3.0, np.nan]])
    np.testing.assert_array_equal(st["n_steps"].values, [[3, 7], [5, 0]])
    assert "tuning" not in st
