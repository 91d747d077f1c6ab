"""Network data: arm-level or contrast-level tables, checked, turned into contrasts with
their within-study covariance.

* **Arm level**: ``study``, ``treatment`` and ``events``, ``n`` (binary: OR, RR, RD) or
  ``mean``, ``sd``, ``n`` (continuous: MD, SMD); a multi-arm trial is several rows of one
  study. Each study's contrasts are taken against its first arm (in file order) and share
  that arm's variance as their covariance, so the results do not depend on which arm is
  first (a test).
  Binary arm variances: log odds 1/a + 1/b, log risk 1/a - 1/n, risk p(1-p)/n; continuous:
  sd^2/n (MD); SMD: Hedges' g of each arm against the first with pooled SD and
  var = 1/n_1 + 1/n_k + g^2 / (2 (n_1 + n_k)), covariance 1/n_1 + g_j g_k / (2 N) (Gleser &
  Olkin 2009, eq. 19.19-19.20, N the study's total).
* **Zero cells** (binary): ``add_to="only0"`` (default; metafor ``escalc(to = "only0")``
  applied per study as netmeta does) adds 1/2 to every cell of a study's arms when any arm
  has a zero or full cell; ``"all"`` always; ``"none"`` never (a zero cell then makes the
  study's contrasts not estimable: an error naming it).
* **Contrast level**: ``study``, ``treat1``, ``treat2``, ``yi``, ``vi`` (yi = effect of
  treat2 against treat1; ratios on the log scale); a multi-arm study lists its contrasts
  against one common ``treat1`` and gives their covariance (the common arm's variance) in a
  ``cov`` column.

Bad input, one line naming the file, study or treatment: a study with fewer than 2 arms,
duplicate (study, treatment) rows, a treatment with one arm in total (unless allowed), a
disconnected network (its components are named), an unknown reference.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from bayesmeta.errors import InputError
from bayesmeta.studies import label_column, numeric_column, read_table

BINARY = ("OR", "RR", "RD")
CONTINUOUS = ("MD", "SMD")
LOG_SCALE = ("OR", "RR", "HR")
MEASURES = (*BINARY, *CONTINUOUS, "HR", "GENERIC")


@dataclass
class Contrasts:
    """Contrasts of a network: ``t1``/``t2`` (yi = effect of t2 against t1), ``V`` the
    block-diagonal within-study covariance, ``study`` per row; the arm table if given.

    Examples:
        >>> import numpy as np
        >>> from bayesmeta.network.data import Contrasts
        >>> c = Contrasts(["1", "1"], ["A", "A"], ["B", "C"], np.array([0.2, 0.4]),
        ...               np.array([[0.05, 0.02], [0.02, 0.05]]), "MD", ["A", "B", "C"])
        >>> c.k, c.studies
        (2, ['1'])
    """

    study: list[str]
    t1: list[str]
    t2: list[str]
    yi: np.ndarray
    V: np.ndarray
    measure: str
    treatments: list[str]
    arms: pd.DataFrame | None = None
    notes: list[str] = field(default_factory=list)
    n_by_treatment: dict[str, float] = field(default_factory=dict)
    raw: dict[str, list[Any]] | None = None

    @property
    def k(self) -> int:
        return int(self.yi.size)

    @property
    def studies(self) -> list[str]:
        return list(dict.fromkeys(self.study))


def _label(df: pd.DataFrame, col: str, source: str | None) -> list[str]:
    return [str(v) for v in label_column(df, col, file=source)]


def components(edges: Sequence[tuple[str, str]], nodes: Sequence[str]) -> list[list[str]]:
    """Connected components of the treatment graph (union-find), each sorted.

    Examples:
        >>> from bayesmeta.network.data import components
        >>> components([("A", "B"), ("C", "D")], ["A", "B", "C", "D", "E"])
        [['A', 'B'], ['C', 'D'], ['E']]
    """
    parent = {n: n for n in nodes}

    def find(x: str) -> str:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in edges:
        parent[find(a)] = find(b)
    groups: dict[str, list[str]] = {}
    for n in nodes:
        groups.setdefault(find(n), []).append(n)
    return sorted((sorted(g) for g in groups.values()), key=lambda g: g[0])


def _check_network(
    study: list[str], treat: list[str], source: str | None, allow_single_arm: bool
) -> None:
    seen: dict[tuple[str, str], int] = {}
    for i, key in enumerate(zip(study, treat, strict=True)):
        if key in seen:
            raise InputError(
                f"duplicate treatment '{key[1]}' in study '{key[0]}' (also row {seen[key]})",
                file=source,
                row=i + 1,
                column="treatment",
            )
        seen[key] = i + 1
    by_study: dict[str, list[str]] = {}
    for s, t in zip(study, treat, strict=True):
        by_study.setdefault(s, []).append(t)
    for s, ts in by_study.items():
        if len(ts) < 2:
            raise InputError(
                f"study '{s}' has {len(ts)} arm; a study needs at least 2", file=source
            )
    counts = pd.Series(treat).value_counts()
    single = sorted(counts.index[counts == 1])
    if single and not allow_single_arm:
        raise InputError(
            f"treatment '{single[0]}' has one arm in the whole network (allow "
            "it with --allow-single-arm)",
            file=source,
        )
    edges = [(ts[0], t) for ts in by_study.values() for t in ts[1:]]
    comp = components(edges, sorted(set(treat)))
    if len(comp) > 1:
        parts = "; ".join("{" + ", ".join(c) + "}" for c in comp)
        raise InputError(
            f"the network is disconnected: {len(comp)} components {parts}", file=source
        )


def _arm_stats(measure: str, x: np.ndarray, n: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if measure == "OR":
        return np.log(x / (n - x)), 1.0 / x + 1.0 / (n - x)
    if measure == "RR":
        return np.log(x / n), 1.0 / x - 1.0 / n
    p = x / n
    return p, p * (1.0 - p) / n


def from_arms(
    df: pd.DataFrame,
    measure: str,
    *,
    source: str | None = None,
    add_to: str = "only0",
    allow_single_arm: bool = False,
) -> Contrasts:
    """Contrasts from an arm-level table (module docstring).

    Examples:
        >>> import pandas as pd
        >>> from bayesmeta.network.data import from_arms
        >>> arms = pd.DataFrame({"study": ["s1", "s1", "s2", "s2", "s3", "s3"],
        ...                      "treatment": ["A", "B", "B", "C", "A", "C"],
        ...                      "events": [5, 9, 8, 12, 4, 10], "n": [50] * 6})
        >>> c = from_arms(arms, "OR")
        >>> c.t1, c.t2, c.yi.round(4).tolist()
        (['A', 'B', 'A'], ['B', 'C', 'C'], [0.6809, 0.5055, 1.0561])
    """
    m = measure.upper()
    if m not in BINARY + CONTINUOUS:
        raise InputError(
            f"option --measure: arm-level data take {', '.join(BINARY + CONTINUOUS)}"
            f", not {measure!r}"
        )
    if add_to not in ("only0", "all", "none"):
        raise InputError(f"option --add-to: only0, all or none, not {add_to!r}")
    if df.empty:
        raise InputError("empty table: no arm rows", file=source)
    study = _label(df, "study", source)
    treat = _label(df, "treatment", source)
    _check_network(study, treat, source, allow_single_arm)
    n = numeric_column(df, "n", file=source, positive=True)
    notes: list[str] = []
    if m in BINARY:
        x = numeric_column(df, "events", file=source, nonnegative=True)
        over = np.flatnonzero(x > n)
        if over.size:
            raise InputError("events exceed n", file=source, row=int(over[0]) + 1, column="events")
        th = np.empty(len(df))
        va = np.empty(len(df))
        added = []
        for s in dict.fromkeys(study):
            idx = np.array([i for i, v in enumerate(study) if v == s])
            zero = bool(np.any((x[idx] == 0) | (x[idx] == n[idx])))
            c = 0.5 if add_to == "all" or (add_to == "only0" and zero) else 0.0
            if zero and c == 0:
                raise InputError(
                    f"study '{s}' has a zero cell and --add-to none: its {m} is not estimable",
                    file=source,
                )
            if c and zero:
                added.append(s)
            th[idx], va[idx] = _arm_stats(m, x[idx] + c, n[idx] + 2 * c)
        if added:
            notes.append(
                f"1/2 added to every cell of the arms of {len(added)} "
                f"stud{'y' if len(added) == 1 else 'ies'} with a zero cell "
                f"({', '.join(added)}; add_to={add_to})"
            )
        elif add_to == "all":
            notes.append("1/2 added to every cell of every arm (add_to=all)")
        rows = _contrasts_vs_first(study, treat, th, va)
        ys, t1, t2, st, V = rows
    else:
        mean = numeric_column(df, "mean", file=source)
        sd = numeric_column(df, "sd", file=source, positive=True)
        if m == "MD":
            ys, t1, t2, st, V = _contrasts_vs_first(study, treat, mean, sd**2 / n)
        else:
            ys, t1, t2, st, V = _smd_contrasts(study, treat, mean, sd, n)
    arms = pd.DataFrame({"study": study, "treatment": treat, "n": n})
    n_by = arms.groupby("treatment")["n"].sum().to_dict()
    raw: dict[str, list[Any]] = {"study": study, "treatment": treat, "n": n.tolist()}
    if m in BINARY:
        raw["events"] = x.tolist()
    else:
        raw["mean"], raw["sd"] = mean.tolist(), sd.tolist()
    return Contrasts(
        st,
        t1,
        t2,
        ys,
        V,
        m,
        sorted(set(treat)),
        arms,
        notes,
        {str(k): float(v) for k, v in n_by.items()},
        raw,
    )


def _contrasts_vs_first(
    study: list[str], treat: list[str], th: np.ndarray, va: np.ndarray
) -> tuple[np.ndarray, list[str], list[str], list[str], np.ndarray]:
    ys, t1, t2, st, vb, vv = [], [], [], [], [], []
    for s in dict.fromkeys(study):
        idx = [i for i, v in enumerate(study) if v == s]
        b = idx[0]
        for j in idx[1:]:
            ys.append(th[j] - th[b])
            t1.append(treat[b])
            t2.append(treat[j])
            st.append(s)
            vb.append(va[b])
            vv.append(va[j] + va[b])
    k = len(ys)
    V = np.zeros((k, k))
    for i in range(k):
        for j in range(k):
            if st[i] == st[j]:
                V[i, j] = vv[i] if i == j else vb[i]
    return np.array(ys), t1, t2, st, V


def _smd_contrasts(
    study: list[str], treat: list[str], mean: np.ndarray, sd: np.ndarray, n: np.ndarray
) -> tuple[np.ndarray, list[str], list[str], list[str], np.ndarray]:
    ys, t1, t2, st, n1, nk, ntot = [], [], [], [], [], [], []
    for s in dict.fromkeys(study):
        idx = [i for i, v in enumerate(study) if v == s]
        b = idx[0]
        N = float(np.sum(n[idx]))
        for j in idx[1:]:
            df = n[b] + n[j] - 2
            sp = np.sqrt(((n[b] - 1) * sd[b] ** 2 + (n[j] - 1) * sd[j] ** 2) / df)
            J = 1.0 - 3.0 / (4.0 * df - 1.0)  # Hedges' correction (metafor escalc "SMD")
            ys.append(J * (mean[j] - mean[b]) / sp)
            t1.append(treat[b])
            t2.append(treat[j])
            st.append(s)
            n1.append(n[b])
            nk.append(n[j])
            ntot.append(N)
    y = np.array(ys)
    k = y.size
    V = np.zeros((k, k))
    for i in range(k):
        for j in range(k):
            if st[i] != st[j]:
                continue
            if i == j:
                V[i, i] = 1 / n1[i] + 1 / nk[i] + y[i] ** 2 / (2 * (n1[i] + nk[i]))
            else:
                V[i, j] = 1 / n1[i] + y[i] * y[j] / (2 * ntot[i])
    return y, t1, t2, st, V


def from_contrasts(
    df: pd.DataFrame,
    measure: str = "GENERIC",
    *,
    source: str | None = None,
    allow_single_arm: bool = False,
) -> Contrasts:
    """Contrasts from a contrast-level table (module docstring).

    Examples:
        >>> import pandas as pd
        >>> from bayesmeta.network.data import from_contrasts
        >>> d = pd.DataFrame({"study": ["s1", "s2", "s2", "s3"], "treat1": ["A", "A", "A", "B"],
        ...                   "treat2": ["B", "B", "C", "C"], "yi": [0.3, 0.2, 0.5, 0.1],
        ...                   "vi": [0.04, 0.05, 0.06, 0.05], "cov": [0, 0.02, 0.02, 0]})
        >>> from_contrasts(d).V[1:3, 1:3].tolist()
        [[0.05, 0.02], [0.02, 0.06]]
    """
    if df.empty:
        raise InputError("empty table: no contrast rows", file=source)
    study = _label(df, "study", source)
    a = _label(df, "treat1", source)
    b = _label(df, "treat2", source)
    y = numeric_column(df, "yi", file=source)
    v = numeric_column(df, "vi", file=source, positive=True)
    cov = numeric_column(df, "cov", file=source) if "cov" in df.columns else None
    by: dict[str, list[int]] = {}
    for i, s in enumerate(study):
        by.setdefault(s, []).append(i)
    arms_s, arms_t = [], []
    for s, idx in by.items():
        if len(idx) > 1:
            base = {a[i] for i in idx}
            if len(base) != 1:
                raise InputError(
                    f"multi-arm study '{s}': give its contrasts against one "
                    f"common treat1 (found {', '.join(sorted(base))})",
                    file=source,
                    row=idx[0] + 1,
                    column="treat1",
                )
            if cov is None:
                raise InputError(
                    f"multi-arm study '{s}' needs a 'cov' column (the variance of its common arm)",
                    file=source,
                    column="cov",
                )
        arms_s += [s] * (len(idx) + 1)
        arms_t += [a[idx[0]], *[b[i] for i in idx]]
    _check_network(arms_s, arms_t, source, allow_single_arm)
    V = np.diag(v)
    for idx in by.values():
        for i in idx:
            for j in idx:
                if i != j:
                    assert cov is not None
                    V[i, j] = cov[i]
    for s, idx in by.items():
        try:
            np.linalg.cholesky(V[np.ix_(idx, idx)])
        except np.linalg.LinAlgError:
            raise InputError(
                f"study '{s}': its contrasts' covariance is not positive definite "
                "(cov too large for vi)",
                file=source,
            ) from None
    m = measure.upper()
    return Contrasts(study, a, b, y, V, m, sorted(set(a) | set(b)))


def read_network(path: str, measure: str | None, **kw: Any) -> Contrasts:
    """A CSV of arms (``treatment`` column) or contrasts (``treat1``, ``treat2``).

    Examples:
        >>> from pathlib import Path
        >>> from bayesmeta.network.data import read_network
        >>> _ = Path("n.csv").write_text("study,treatment,events,n\\n1,A,3,30\\n1,B,6,30\\n"
        ...                              "2,B,5,40\\n2,C,9,40\\n3,A,2,20\\n3,C,4,20\\n")
        >>> read_network("n.csv", "OR").treatments
        ['A', 'B', 'C']
    """
    df = read_table(path)
    if "treatment" in df.columns:
        if measure is None:
            raise InputError("option --measure: give OR, RR, RD, MD or SMD for arm-level data")
        kw.pop("measure", None)
        return from_arms(df, measure, source=str(path), **kw)
    if {"treat1", "treat2"} <= set(df.columns):
        kw.pop("add_to", None)
        return from_contrasts(df, measure or "GENERIC", source=str(path), **kw)
    raise InputError(
        "need arm-level columns (study, treatment, events/n or mean/sd/n) or "
        "contrast columns (study, treat1, treat2, yi, vi)",
        file=str(path),
    )


__all__ = ["Contrasts", "components", "from_arms", "from_contrasts", "read_network"]
