"""The on-disk cache of compiled nutpie models (bayesmeta.hierarchical.compiled).

Reference: nutpie's own ``compile_pymc_model`` (uncached). For the same model, data and
seed, nutpie's sampler is deterministic, so draws from a cached model must equal nutpie's
draws exactly (tolerance 0), whether the callbacks were built, loaded from disk, or rebuilt
after a corrupt entry.
"""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("nutpie")

from bayesmeta.hierarchical import MetaData, build_model, model_spec  # noqa: E402
from bayesmeta.hierarchical import compiled as cm  # noqa: E402

pytestmark = pytest.mark.slow
DATA = MetaData.from_arrays([28.0, 8, -3, 7, -1, 1, 18, 12], [15.0, 10, 16, 11, 9, 11, 10, 18])
SPEC = model_spec("normal", mu_prior="normal(0, 5)", tau_prior="halfcauchy(5)")


def draws(compiled, **data):
    import nutpie

    if data:
        compiled = compiled.with_data(**data)
    tree = nutpie.sample(compiled, draws=200, tune=200, chains=2, cores=1, seed=7,
                         progress_bar=False)  # fmt: skip
    return tree.posterior["mu"].values


def counts_after(fn):
    before = cm.disk_cache_info()
    out = fn()
    after = cm.disk_cache_info()
    return out, {k: after[k] - before[k] for k in after}


@pytest.fixture(scope="module")
def reference():
    return draws(cm.compile_model(build_model(SPEC, DATA), cache=False))


@pytest.fixture()
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv(cm.ENV_VAR, str(tmp_path))
    return tmp_path


def test_built_then_loaded_gives_nutpies_draws(cache, reference):
    first, n1 = counts_after(lambda: cm.compile_model(build_model(SPEC, DATA)))
    assert n1 == {"loaded": 0, "built": 2, "rebuilt": 0, "uncached": 0}
    entries = sorted(p.name for p in cache.rglob("*.nbi"))
    assert len(entries) == 2  # the log-density and the expansion callbacks
    second, n2 = counts_after(lambda: cm.compile_model(build_model(SPEC, DATA)))
    assert n2 == {"loaded": 2, "built": 0, "rebuilt": 0, "uncached": 0}
    np.testing.assert_array_equal(draws(first), reference)
    np.testing.assert_array_equal(draws(second), reference)


def test_new_data_enter_a_loaded_model(cache, reference):
    """with_data on a loaded model: the callbacks read the new arrays, not the cached ones."""
    moved = {"y": DATA.yi + 30.0, "sei": DATA.sei}
    want = draws(cm.compile_model(build_model(SPEC, DATA), cache=False), **moved)
    cm.compile_model(build_model(SPEC, DATA))
    loaded = cm.compile_model(build_model(SPEC, DATA))
    got = draws(loaded, **moved)
    np.testing.assert_array_equal(got, want)
    assert got.mean() > reference.mean() + 1.5  # mu moved up (the N(0, 5) prior holds it back)


def test_a_changed_model_gets_its_own_entry(cache):
    cm.compile_model(build_model(SPEC, DATA))
    other = model_spec("normal", mu_prior="normal(0, 5)", tau_prior="halfnormal(5)")
    _, n = counts_after(lambda: cm.compile_model(build_model(other, DATA)))
    # a new log density; the expansion to (mu, tau, theta) is the same code and is reused
    assert (n["built"], n["loaded"]) == (1, 1)
    assert len(list(cache.rglob("*.nbi"))) == 3


def test_a_corrupt_entry_is_rebuilt_not_trusted(cache, reference):
    cm.compile_model(build_model(SPEC, DATA))
    for f in cache.rglob("*.nbc"):
        f.write_bytes(b"not a numba cache entry")
    for f in cache.rglob("*.nbi"):
        f.write_bytes(b"\x00" * 40)
    rebuilt, n = counts_after(lambda: cm.compile_model(build_model(SPEC, DATA)))
    assert n["loaded"] == 0 and n["built"] + n["rebuilt"] == 2
    np.testing.assert_array_equal(draws(rebuilt), reference)
    _, n = counts_after(lambda: cm.compile_model(build_model(SPEC, DATA)))
    assert n["loaded"] == 2  # the rebuilt entry is good


def test_an_unwritable_cache_falls_back_to_nutpie(tmp_path, monkeypatch, reference):
    blocker = tmp_path / "file"
    blocker.write_text("a file where the cache folder should be")
    monkeypatch.setenv(cm.ENV_VAR, str(blocker / "cache"))
    model, n = counts_after(lambda: cm.compile_model(build_model(SPEC, DATA)))
    assert n["uncached"] == 1
    np.testing.assert_array_equal(draws(model), reference)


def test_off_turns_the_cache_off(monkeypatch):
    monkeypatch.setenv(cm.ENV_VAR, "off")
    _, n = counts_after(lambda: cm.compile_model(build_model(SPEC, DATA)))
    assert n["uncached"] == 1
