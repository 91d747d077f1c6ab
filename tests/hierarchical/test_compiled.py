"""The on-disk cache of compiled nutpie models (bayesmeta.hierarchical.compiled).

Reference: nutpie's own ``compile_pymc_model`` (uncached). The cached callbacks must compute
the same log density and gradient: checked at 20 random points to 1e-12 relative (the two
builds may round differently in the last bit, since numba may inline PyTensor's function in
one and link it from PyTensor's cache in the other; NUTS trajectories then part ways, so the
draws are compared within Monte Carlo error, not bit for bit). A callback loaded from disk is
the very machine code that was built, so its draws equal the built one's exactly.
"""

from __future__ import annotations

import ctypes

import numpy as np
import pytest

pytest.importorskip("nutpie")

from bayesmeta.hierarchical import MetaData, build_model, model_spec  # noqa: E402
from bayesmeta.hierarchical import compiled as cm  # noqa: E402

pytestmark = pytest.mark.slow
DATA = MetaData.from_arrays([28.0, 8, -3, 7, -1, 1, 18, 12], [15.0, 10, 16, 11, 9, 11, 10, 18])
SPEC = model_spec("normal", mu_prior="normal(0, 5)", tau_prior="halfcauchy(5)")
MOVED = {"y": DATA.yi + 30.0, "sei": DATA.sei}


def draws(compiled, **data):
    import nutpie

    if data:
        compiled = compiled.with_data(**data)
    tree = nutpie.sample(compiled, draws=400, tune=300, chains=2, cores=1, seed=7,
                         progress_bar=False)  # fmt: skip
    return tree.posterior["mu"].values


def logp_grad(compiled, x):
    """The compiled log-density callback at x: (return code, log density, gradient)."""
    dbl = ctypes.POINTER(ctypes.c_double)
    out, lp = np.zeros(compiled.n_dim), np.zeros(())
    rc = compiled.compiled_logp_func.ctypes(
        compiled.n_dim, x.ctypes.data_as(dbl), out.ctypes.data_as(dbl), lp.ctypes.data_as(dbl),
        compiled.user_data.ctypes.data_as(ctypes.c_void_p),
    )  # fmt: skip
    return rc, float(lp), out


def assert_same_density(got, want, seed=0):
    rng = np.random.default_rng(seed)
    for _ in range(20):
        x = rng.normal(size=want.n_dim)
        rc_g, lp_g, g_g = logp_grad(got, x)
        rc_w, lp_w, g_w = logp_grad(want, x)
        assert rc_g == rc_w == 0
        assert lp_g == pytest.approx(lp_w, rel=1e-12)
        np.testing.assert_allclose(g_g, g_w, rtol=1e-12, atol=1e-12)


def counts_after(fn):
    before = cm.disk_cache_info()
    out = fn()
    after = cm.disk_cache_info()
    return out, {k: after[k] - before[k] for k in after}


@pytest.fixture(scope="module")
def nutpies():
    return cm.compile_model(build_model(SPEC, DATA), cache=False)


@pytest.fixture()
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv(cm.ENV_VAR, str(tmp_path))
    return tmp_path


def test_built_then_loaded_computes_nutpies_density(cache, nutpies):
    first, n1 = counts_after(lambda: cm.compile_model(build_model(SPEC, DATA)))
    assert n1 == {"loaded": 0, "built": 2, "rebuilt": 0, "uncached": 0}
    assert len(list(cache.rglob("*.nbi"))) == 2  # the log-density and expansion callbacks
    second, n2 = counts_after(lambda: cm.compile_model(build_model(SPEC, DATA)))
    assert n2 == {"loaded": 2, "built": 0, "rebuilt": 0, "uncached": 0}
    assert_same_density(first, nutpies)
    assert_same_density(second, nutpies, seed=1)
    np.testing.assert_array_equal(draws(second), draws(first))  # the same machine code
    a, b = draws(first), draws(nutpies)  # the same posterior, within Monte Carlo error
    assert abs(a.mean() - b.mean()) < 4 * np.hypot(a.std() / np.sqrt(a.size / 4),
                                                   b.std() / np.sqrt(b.size / 4))  # fmt: skip


def test_new_data_enter_a_loaded_model(cache, nutpies):
    """with_data on a loaded model: the callbacks read the new arrays, not the cached ones."""
    cm.compile_model(build_model(SPEC, DATA))
    loaded = cm.compile_model(build_model(SPEC, DATA))
    assert_same_density(loaded.with_data(**MOVED), nutpies.with_data(**MOVED))
    rng = np.random.default_rng(3)
    x = rng.normal(size=loaded.n_dim)
    assert logp_grad(loaded.with_data(**MOVED), x)[1] != logp_grad(loaded, x)[1]


def test_a_changed_model_gets_its_own_entry(cache):
    cm.compile_model(build_model(SPEC, DATA))
    other = model_spec("normal", mu_prior="normal(0, 5)", tau_prior="halfnormal(5)")
    _, n = counts_after(lambda: cm.compile_model(build_model(other, DATA)))
    # a new log density; the expansion to (mu, tau, theta) is the same code and is reused
    assert (n["built"], n["loaded"]) == (1, 1)
    assert len(list(cache.rglob("*.nbi"))) == 3


def test_a_corrupt_entry_is_rebuilt_not_trusted(cache, nutpies):
    cm.compile_model(build_model(SPEC, DATA))
    for f in cache.rglob("*.nbc"):
        f.write_bytes(b"not a numba cache entry")
    for f in cache.rglob("*.nbi"):
        f.write_bytes(b"\x00" * 40)
    rebuilt, n = counts_after(lambda: cm.compile_model(build_model(SPEC, DATA)))
    assert n["loaded"] == 0 and n["built"] + n["rebuilt"] == 2
    assert_same_density(rebuilt, nutpies)
    again, n = counts_after(lambda: cm.compile_model(build_model(SPEC, DATA)))
    assert n["loaded"] == 2  # the rebuilt entry is good
    assert_same_density(again, nutpies, seed=2)


def test_an_unwritable_cache_falls_back_to_nutpie(tmp_path, monkeypatch, nutpies):
    blocker = tmp_path / "file"
    blocker.write_text("a file where the cache folder should be")
    monkeypatch.setenv(cm.ENV_VAR, str(blocker / "cache"))
    model, n = counts_after(lambda: cm.compile_model(build_model(SPEC, DATA)))
    assert n["uncached"] == 1
    assert_same_density(model, nutpies)


def test_off_turns_the_cache_off(monkeypatch):
    monkeypatch.setenv(cm.ENV_VAR, "off")
    _, n = counts_after(lambda: cm.compile_model(build_model(SPEC, DATA)))
    assert n["uncached"] == 1
