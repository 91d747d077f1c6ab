"""Compiled nutpie models, cached on disk so that a new process does not compile again.

nutpie samples a PyMC model through two C callbacks (log density with gradient, and the
expansion to all variables) that it builds with numba around PyTensor's numba functions.
nutpie's own callbacks close over Python objects, so numba cannot cache them, and every
process spends about 5 s compiling the same code. This module builds the same two callbacks
from generated source with no closure: the shared data (y, sei, group indices, ...) are read
through the pointers in nutpie's ``user_data`` record, as nutpie does. numba can then cache
them (``cfunc(cache=True)``), and PyTensor already caches the numba functions they call.

The cache lives in `cache_dir()`. An entry is keyed on the SHA-256 of the callback's source,
PyTensor's own cache key of the compiled graph (which changes with the model's structure,
priors and shapes' ranks) and the versions of Python, NumPy and numba, so a changed model
or a new library version gets a new entry. An entry that cannot be loaded (corrupt or
written by another numba) is deleted and rebuilt, never trusted; if PyTensor gives the graph
no cache key, or nutpie's internals differ from the ones this module uses, the model is
compiled by `nutpie.compile_pymc_model` as before, uncached.
"""

from __future__ import annotations

import hashlib
import os
import sys
import warnings
from pathlib import Path
from typing import Any
from weakref import WeakKeyDictionary

import numpy as np

ENV_VAR = "BAYESMETA_CACHE_DIR"
_STATS = {"loaded": 0, "built": 0, "rebuilt": 0, "uncached": 0}
_KEYS: WeakKeyDictionary[Any, str] = WeakKeyDictionary()
_LOCATOR_READY = False

_LOGP = """
def logp_callback(dim, x_, out_, logp_, ud_):
    if dim != {n_dim}:
        return -1
    try:
{shared}
        x = numba.carray(x_, ({n_dim},))
        out = numba.carray(out_, ({n_dim},))
        logp = numba.carray(logp_, ())
        logp_val, grad = inner(x{args})
        logp[()] = logp_val
        finite = True
        for i in range({n_dim}):  # element by element: no broadcasting, no shape errors
            out[i] = grad[i]
            finite = finite and np.isfinite(grad[i])
        if not finite:
            return 3
        if not np.isfinite(logp_val):
            return 4
    except Exception:
        return 1
    return 0
"""

_EXPAND = """
def expand_callback(dim, expanded, x_, out_, ud_):
    if dim != {n_dim}:
        return -1
    if expanded != {n_expanded}:
        return -1
    try:
{shared}
        x = numba.carray(x_, ({n_dim},))
        out = numba.carray(out_, ({n_expanded},))
        (values,) = inner(x{args})
        for i in range({n_expanded}):
            out[i] = values[i]
    except Exception:
        return -2
    return 0
"""


def cache_dir() -> Path:
    """Where compiled models are kept: ``$BAYESMETA_CACHE_DIR`` or the user cache directory.

    The user cache directory follows platformdirs: ``$XDG_CACHE_HOME/bayesmeta`` (default
    ``~/.cache/bayesmeta``) on Linux, ``~/Library/Caches/bayesmeta`` on macOS and
    ``%LOCALAPPDATA%\\bayesmeta\\Cache`` on Windows. Deleting it is always safe.

    Examples:
        >>> import os
        >>> from bayesmeta.hierarchical.compiled import cache_dir
        >>> os.environ["BAYESMETA_CACHE_DIR"] = "/tmp/bm-cache"
        >>> str(cache_dir())
        '/tmp/bm-cache'
        >>> del os.environ["BAYESMETA_CACHE_DIR"]
    """
    if os.environ.get(ENV_VAR):
        return Path(os.environ[ENV_VAR]).expanduser()
    home = Path.home()
    if sys.platform == "darwin":
        return home / "Library" / "Caches" / "bayesmeta"
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA", home / "AppData" / "Local"))
        return base / "bayesmeta" / "Cache"
    return Path(os.environ.get("XDG_CACHE_HOME") or home / ".cache") / "bayesmeta"


def disk_cache_info() -> dict[str, int]:
    """Counts in this process: callbacks ``loaded`` from disk, ``built`` and saved,
    ``rebuilt`` after a bad entry, and models compiled ``uncached`` (nutpie's own path).

    Examples:
        >>> from bayesmeta.hierarchical.compiled import disk_cache_info
        >>> sorted(disk_cache_info())
        ['built', 'loaded', 'rebuilt', 'uncached']
    """
    return dict(_STATS)


def _numba_dir() -> Path:
    import numba

    return cache_dir() / f"numba-{numba.__version__}"


def _register_locator() -> None:
    """Put a numba cache locator for our generated callbacks in front of numba's own."""
    global _LOCATOR_READY
    if _LOCATOR_READY:
        return
    from numba.core.caching import CacheImpl, _CacheLocator

    class _Locator(_CacheLocator):
        def __init__(self, key: str) -> None:
            self._key = key

        def ensure_cache_path(self) -> None:
            _numba_dir().mkdir(parents=True, exist_ok=True)

        def get_cache_path(self) -> str:
            return str(_numba_dir())

        def get_source_stamp(self) -> int:
            return 0  # the source is part of the key

        def get_disambiguator(self) -> str:
            return self._key

        @classmethod
        def from_function(cls, py_func: Any, py_file: str) -> _Locator | None:
            key = _KEYS.get(py_func)
            return None if key is None else cls(key)

    CacheImpl._locator_classes.insert(0, _Locator)  # type: ignore[arg-type]
    _LOCATOR_READY = True


def _void_ptr() -> Any:
    from numba.core import cgutils, types
    from numba.extending import intrinsic

    @intrinsic
    def void_ptr(typingctx: Any, src: Any) -> Any:
        def codegen(context: Any, builder: Any, sig: Any, args: Any) -> Any:
            return builder.inttoptr(args[0], cgutils.voidptr_t)

        return types.voidptr(src), codegen

    return void_ptr


def _shared_source(
    keys: list[str], meta: dict[str, tuple[int, str]], n_fields: int
) -> tuple[str, str]:
    """Code that reads the shared arrays from nutpie's user_data record.

    The record is ``n`` data pointers, ``n`` sizes, then every array's shape, all 8-byte
    fields in the order of ``meta``; ``keys`` are the arrays one function takes, in order.
    """
    n = len(meta)
    order = {k: i for i, k in enumerate(meta)}
    shape_at, at = {}, 2 * n
    for k, (ndim, _) in meta.items():
        shape_at[k] = at
        at += ndim
    lines = [f"u = numba.carray(ud_, ({n_fields},), np.uint64)"]
    for j, k in enumerate(keys):
        i, (ndim, dtype) = order[k], meta[k]
        flat = f"numba.carray(void_ptr(u[{i}]), (int(u[{n + i}]),), np.{dtype})"
        shape = "".join(f"int(u[{shape_at[k] + d}]), " for d in range(ndim))
        lines.append(f"s{j} = {flat}" if ndim == 1 else f"s{j} = {flat}.reshape(({shape}))")
    body = "\n".join(" " * 8 + line for line in lines)
    return body, "".join(f", s{j}" for j in range(len(keys)))


def _callback(template: str, name: str, sig: Any, inner: Any, inner_key: str, **fmt: Any) -> Any:
    """numba.cfunc of the generated ``name``, loaded from or saved to the disk cache."""
    import numba

    src = template.format(**fmt)
    versions = f"{sys.version}|{np.__version__}|{numba.__version__}"
    key = hashlib.sha256(f"{src}|{inner_key}|{versions}".encode()).hexdigest()[:40]

    def make() -> Any:
        env = {
            "__name__": __name__,
            "numba": numba,
            "np": np,
            "inner": inner,
            "void_ptr": _void_ptr(),
        }
        exec(compile(src, f"<bayesmeta {name}>", "exec"), env)
        fn = env[name]
        _KEYS[fn] = key
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", numba.NumbaWarning)
            cf = numba.cfunc(sig, cache=True)(fn)
        return cf

    files = lambda: list(_numba_dir().glob(f"*{key}*"))  # noqa: E731
    existed = bool(files())
    try:
        cf = make()
    except Exception:  # an entry that cannot be loaded: delete it, build afresh
        for f in files():
            f.unlink(missing_ok=True)
        cf = make()
        _STATS["rebuilt"] += 1
        return cf
    _STATS["loaded" if existed and cf.cache_hits else "built"] += 1
    return cf


def _cached_compile(model: Any) -> Any:
    import numba
    from nutpie import compile_pymc as cp
    from pymc.initial_point import make_initial_point_fn
    from pytensor.link.numba.cache import CACHED_SRC_FUNCTIONS

    # as nutpie.compile_pymc_model(model, backend="numba") with its defaults
    initial_point_fn = cp._wrap_with_lock(
        make_initial_point_fn(
            model=model,
            default_strategy="support_point",
            jitter_rvs=set(model.free_RVs),
            return_transformed=True,
        )
    )
    n_dim, n_expanded, logp_pt, expand_pt, init_fn, shape_info, reparam = cp._make_functions(
        model,
        mode="NUMBA",
        compute_grad=True,
        join_expanded=True,
        pymc_initial_point_fn=initial_point_fn,
        var_names=None,
    )
    logp_inner, expand_inner = logp_pt.vm.jit_fn, expand_pt.vm.jit_fn
    logp_key = CACHED_SRC_FUNCTIONS.get(logp_inner.py_func)
    expand_key = CACHED_SRC_FUNCTIONS.get(expand_inner.py_func)
    if not logp_key or not expand_key:
        raise LookupError("PyTensor gave this graph no numba cache key")

    shared_data: dict[str, np.ndarray] = {}
    shared_var_keys: dict[Any, str] = {}
    for var in [*logp_pt.get_shared(), *expand_pt.get_shared()]:
        if var not in shared_var_keys:
            key = f"shared{len(shared_var_keys)}"
            shared_data[key] = np.array(var.get_value(), order="C", copy=True)
            shared_data[key].flags.writeable = False
            shared_var_keys[var] = key
    user_data = cp.make_user_data(shared_var_keys, shared_data)
    meta = {k: (shared_data[k].ndim, shared_data[k].dtype.name) for k in shared_data}
    n_fields = 2 * len(meta) + sum(ndim for ndim, _ in meta.values())
    record = user_data.dtype["shared"] if user_data.dtype.names == ("shared",) else None
    if (
        record is None
        or record.names != ("data", "size", "shape")
        or (user_data.dtype.itemsize != 8 * n_fields)
    ):
        raise LookupError("nutpie's user_data record is not the layout this module reads")

    t = numba.types
    dbl = t.CPointer(t.double)
    logp_sig = t.int64(t.uint64, dbl, dbl, dbl, t.voidptr)
    expand_sig = t.int64(t.uint64, t.uint64, dbl, dbl, t.voidptr)
    made = []
    for template, name, sig, fn_pt, inner, key in (
        (_LOGP, "logp_callback", logp_sig, logp_pt, logp_inner, logp_key),
        (_EXPAND, "expand_callback", expand_sig, expand_pt, expand_inner, expand_key),
    ):
        keys = [shared_var_keys[v] for v in fn_pt.get_shared()]
        shared, args = _shared_source(keys, meta, n_fields)
        made.append(_callback(template, name, sig, inner, key, n_dim=n_dim,
                              n_expanded=n_expanded, shared=shared, args=args))  # fmt: skip
    logp_c, expand_c = made
    dims, coords = cp._prepare_dims_and_coords(model, shape_info, reparam)
    return cp.CompiledPyMCModel(
        _n_dim=n_dim,
        dims=dims,
        _coords=coords,
        _shapes={name: tuple(shape) for name, _, shape in zip(*shape_info, strict=True)},
        compiled_logp_func=logp_c,
        compiled_expand_func=expand_c,
        initial_point_func=init_fn,
        shared_data=shared_data,
        shared_var_keys=shared_var_keys,
        user_data=user_data,
        n_expanded=n_expanded,
        shape_info=shape_info,
        logp_func=logp_pt,
        expand_func=expand_pt,
        reparameterized_names=reparam,
    )


def compile_model(model: Any, *, cache: bool = True) -> Any:
    """``nutpie.compile_pymc_model(model, backend="numba")``, reusing compiled code on disk.

    With ``cache=False`` (or ``BAYESMETA_CACHE_DIR=off``) it is nutpie's own compile.

    Examples:
        Compiling takes seconds, so it is not run as a doctest; the test suite checks the
        cache (tests/hierarchical/test_compiled.py).

        >>> from bayesmeta.hierarchical import MetaData, build_model, model_spec
        >>> from bayesmeta.hierarchical.compiled import compile_model
        >>> data = MetaData.from_arrays([0.1, 0.4, -0.2], [0.2, 0.3, 0.25])
        >>> compiled = compile_model(build_model(model_spec("normal"), data))  # doctest: +SKIP
    """
    import nutpie

    if cache and os.environ.get(ENV_VAR, "").lower() != "off":
        try:
            _register_locator()
            return _cached_compile(model)
        except (LookupError, AttributeError, TypeError, ImportError, OSError):
            pass  # nutpie or PyTensor internals differ, or the cache is not writable
    _STATS["uncached"] += 1
    return nutpie.compile_pymc_model(model, backend="numba")
