"""Sampling covariance matrices of dependent effect sizes, as metafor's ``vcalc`` builds them.

Within a cluster, two effect sizes of different outcomes (``obs``) correlate ``rho``; two of
the same outcome (or any two when ``obs`` is None) correlate 1 (metafor 3.8 ``vcalc(vi,
cluster, obs, rho)``); effects of different clusters are independent:
``V_ij = r_ij sqrt(v_i v_j)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from bayesmeta.errors import InputError


def check_rho(rho: float, option: str = "--rho") -> float:
    """``rho`` as a float in (-1, 1), else a one-line `InputError` naming the option.

    Examples:
        >>> from bayesmeta.dependent.vcalc import check_rho
        >>> check_rho(0.5)
        0.5
    """
    try:
        r = float(rho)
    except (TypeError, ValueError):
        raise InputError(f"option {option}: a number in (-1, 1), not {rho!r}") from None
    if not -1.0 < r < 1.0:
        raise InputError(f"option {option}: must lie in (-1, 1) (got {rho})")
    return r


def vcalc(vi: Any, cluster: Sequence[Any], obs: Sequence[Any] | None = None,
          rho: float = 0.0) -> np.ndarray:  # fmt: skip
    """The k x k sampling covariance matrix (module docstring); equals metafor's
    ``vcalc(vi, cluster, obs = obs, rho = rho)``.

    Examples:
        >>> from bayesmeta.dependent.vcalc import vcalc
        >>> vcalc([1.0, 2.0, 3.0], cluster=[1, 1, 2], obs=["a", "b", "a"], rho=0.5).round(4)
        array([[1.    , 0.7071, 0.    ],
               [0.7071, 2.    , 0.    ],
               [0.    , 0.    , 3.    ]])
    """
    v = np.asarray(vi, dtype=float)
    if v.ndim != 1 or not (np.all(np.isfinite(v)) and np.all(v > 0)):
        raise InputError("vi must be finite numbers > 0")
    c = np.asarray([str(x) for x in cluster], dtype=object)
    if c.size != v.size:
        raise InputError("cluster needs one value per effect size")
    r = check_rho(rho)
    same_cluster = c[:, None] == c[None, :]
    if obs is None:
        corr = np.ones((v.size, v.size))
    else:
        o = np.asarray([str(x) for x in obs], dtype=object)
        if o.size != v.size:
            raise InputError("obs needs one value per effect size")
        corr = np.where(o[:, None] == o[None, :], 1.0, r)
    s = np.sqrt(v)
    V = np.where(same_cluster, corr * np.outer(s, s), 0.0)
    np.fill_diagonal(V, v)
    return V


def check_blocks(V: np.ndarray, cluster: Sequence[Any], what: str = "V") -> None:
    """Each cluster's block of a user-given ``V`` must be symmetric and positive definite,
    and entries between clusters zero; otherwise an `InputError` naming the cluster.

    Examples:
        >>> import numpy as np
        >>> from bayesmeta.dependent.vcalc import check_blocks
        >>> check_blocks(np.array([[1.0, 2.0], [2.0, 1.0]]), ["a", "a"])
        Traceback (most recent call last):
        ...
        bayesmeta.errors.InputError: V: the block of cluster 'a' is not positive definite
    """
    c = np.asarray([str(x) for x in cluster], dtype=object)
    if V.shape != (c.size, c.size):
        raise InputError(f"{what} must be {c.size} x {c.size}, not {V.shape}")
    if not np.all(np.isfinite(V)) or not np.allclose(V, V.T, rtol=1e-10, atol=0):
        raise InputError(f"{what} must be a finite symmetric matrix")
    between = c[:, None] != c[None, :]
    if np.any(V[between] != 0):
        i, j = np.argwhere(between & (V != 0))[0]
        raise InputError(f"{what}: effects {i + 1} and {j + 1} of different clusters "
                         f"('{c[i]}', '{c[j]}') are correlated")  # fmt: skip
    for name in dict.fromkeys(c):
        idx = np.flatnonzero(c == name)
        try:
            np.linalg.cholesky(V[np.ix_(idx, idx)])
        except np.linalg.LinAlgError:
            raise InputError(f"{what}: the block of cluster '{name}' is not positive "
                             "definite") from None  # fmt: skip


__all__ = ["check_blocks", "check_rho", "vcalc"]
