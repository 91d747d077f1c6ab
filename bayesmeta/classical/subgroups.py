r"""Subgroup analysis: separate tau^2 per subgroup (RevMan) or one common tau^2 (metafor).

* Separate (RevMan 5; Borenstein et al. 2009 ch. 19): each subgroup is pooled on its own with
  its own tau^2; the test for subgroup differences is a fixed-effect meta-analysis of the
  subgroup estimates, ``Q_between = sum_g (mu_g - mu_bar)^2 / se_g^2`` with
  ``mu_bar = sum(mu_g/se_g^2)/sum(1/se_g^2)``, chi^2 on G - 1 df (metafor:
  ``rma(mu_g, sei = se_g, method = "FE")$QE``). Under Knapp-Hartung ``se_g`` is the KH
  standard error. A one-study subgroup under Knapp-Hartung falls back to Wald (with a warning).
* Common tau^2 (metafor mixed-effects model): ``rma(yi, vi, mods = ~ factor(g))``; the test for
  subgroup differences is its omnibus moderator test QM of the G - 1 contrasts (chi^2 on G - 1
  df under z; F on (G - 1, k - G) df under Knapp-Hartung, reported as the F value), and the
  subgroup estimates/CIs/PIs are those of ``rma(yi, vi, mods = ~ factor(g) - 1)`` (same tau^2).
  The residual heterogeneity (QE on k - G df, I^2, H^2) is in ``extra["residual"]``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from scipy import special

from bayesmeta.classical.fit import CI_NAME, K2_WARNING, Spec, _studies, fit_table, single_study
from bayesmeta.classical.heterogeneity import heterogeneity
from bayesmeta.classical.pooling import blup, prediction_interval, rma
from bayesmeta.errors import ConvergenceError, InputError
from bayesmeta.results import MetaResult
from bayesmeta.studies import StudyTable


@dataclass
class SubgroupResult:
    """Per-subgroup results and the test for subgroup differences (None when untestable).

    ``subgroups`` maps each label (order of first appearance) to its `MetaResult`;
    ``q_between``/``_df``/``_p`` is the test; ``extra`` says which test (and, for a common
    tau^2, holds the residual heterogeneity); ``warnings`` are prefixed by the subgroup.

    Examples:
        >>> from bayesmeta.studies import StudyTable
        >>> t = StudyTable.from_arrays([-0.3, 0.1, -0.5, 0.4, 0.9, 0.2],
        ...     [0.04, 0.06, 0.05, 0.03, 0.08, 0.05], subgroup=list("aaabbb"))
        >>> from bayesmeta.classical.fit import Spec
        >>> from bayesmeta.classical.subgroups import separate
        >>> res = separate(t, Spec(method="DL"))
        >>> list(res.subgroups), res.q_between_df, round(res.q_between, 4)
        (['a', 'b'], 1, 8.4751)
    """

    subgroups: dict[str, MetaResult]
    q_between: float | None
    q_between_df: int | None
    q_between_p: float | None
    extra: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


def levels(labels: np.ndarray) -> list[str]:
    """Subgroup labels (as strings) in order of first appearance.

    Examples:
        >>> import numpy as np
        >>> from bayesmeta.classical.subgroups import levels
        >>> levels(np.array(["b", "a", "b", "c"]))
        ['b', 'a', 'c']
    """
    return list(dict.fromkeys(str(x) for x in labels))


def q_between_fe(est: np.ndarray, se: np.ndarray) -> tuple[float, int, float]:
    """Fixed-effect Q of subgroup estimates: (Q, G - 1, chi^2 p); see the module docstring.

    Examples:
        Same as metafor `rma(c(-0.25, 0.46), sei = c(0.17, 0.18), method = "FE")$QE`: 8.2235.

        >>> import numpy as np
        >>> from bayesmeta.classical.subgroups import q_between_fe
        >>> q, df, p = q_between_fe(np.array([-0.25, 0.46]), np.array([0.17, 0.18]))
        >>> print(f"{q:.4f} {df} {p:.5f}")
        8.2235 1 0.00414
    """
    w = 1.0 / se**2
    mu = np.sum(w * est) / w.sum()
    q = float(np.sum(w * (est - mu) ** 2))
    df = est.size - 1
    return q, df, float(special.chdtrc(df, q))


def _labels(table: StudyTable) -> np.ndarray:
    """The subgroup labels as strings; InputError when the table has none."""
    if table.subgroup is None:
        raise InputError("the study table has no subgroup column")
    return np.array([str(x) for x in table.subgroup], dtype=object)


def separate(table: StudyTable, spec: Spec) -> SubgroupResult:
    """Separate tau^2 per subgroup (RevMan 5), tested by `q_between_fe()` of the estimates.

    Each subgroup is pooled by `spec` on its own; a one-study subgroup under Knapp-Hartung
    uses the Wald CI (with a warning). Fewer than 2 subgroups (or an SE of 0): no test.

    Examples:
        Same as metafor (separate `rma(yi, vi, method = "DL")` per subgroup, then
        `rma(est, sei = se, method = "FE")$QE`) on this table: Q = 8.4751, p = 0.0036.

        >>> from bayesmeta.studies import StudyTable
        >>> t = StudyTable.from_arrays([-0.3, 0.1, -0.5, 0.4, 0.9, 0.2],
        ...     [0.04, 0.06, 0.05, 0.03, 0.08, 0.05], subgroup=list("aaabbb"))
        >>> from bayesmeta.classical.fit import Spec
        >>> from bayesmeta.classical.subgroups import separate
        >>> res = separate(t, Spec(method="DL"))
        >>> print(f"{res.subgroups['a'].estimate:.4f} {res.q_between:.4f} {res.q_between_p:.4f}")
        -0.2481 8.4751 0.0036
    """
    subs: dict[str, MetaResult] = {}
    warns: list[str] = []
    labels = _labels(table)
    for g in levels(labels):
        part = table.subset(labels == g)
        if part.k == 1 and spec.test != "z":
            res = single_study(part, spec, "Knapp-Hartung needs k >= 2: Wald z CI used")
        else:
            try:
                res = fit_table(part, spec)
            except ConvergenceError as exc:
                raise ConvergenceError(f"subgroup {g}: {exc}") from exc
        subs[g] = res
        warns += [f"subgroup {g}: {w}" for w in res.warnings]
    est = np.array([r.estimate for r in subs.values()])
    se = np.array([r.se for r in subs.values()])
    if len(subs) < 2:
        warns.append("only one subgroup: no test for subgroup differences")
        return SubgroupResult(subs, None, None, None, warnings=warns)
    if not np.all(se > 0):
        warns.append("a subgroup has standard error 0: no test for subgroup differences")
        return SubgroupResult(subs, None, None, None, warnings=warns)
    q, df, p = q_between_fe(est, se)
    return SubgroupResult(subs, q, df, p, {"q_between_test": "chi2 (FE of estimates)"}, warns)


def common(table: StudyTable, spec: Spec) -> SubgroupResult:
    """One tau^2 shared by the subgroups (metafor ``mods = ~ factor(subgroup)``), tested by QM.

    Examples:
        Same as metafor `rma(yi, vi, mods = ~ factor(g))` (QM 8.7238, tau^2 0.0362) and
        `rma(yi, vi, mods = ~ factor(g) - 1)` (subgroup a: -0.2477) on this table.

        >>> from bayesmeta.studies import StudyTable
        >>> t = StudyTable.from_arrays([-0.3, 0.1, -0.5, 0.4, 0.9, 0.2],
        ...     [0.04, 0.06, 0.05, 0.03, 0.08, 0.05], subgroup=list("aaabbb"))
        >>> from bayesmeta.classical.fit import Spec
        >>> from bayesmeta.classical.subgroups import common
        >>> res = common(t, Spec(method="REML"))
        >>> print(f"{res.q_between:.4f} {res.extra['residual']['tau2']:.4f}")
        8.7238 0.0362
        >>> print(f"{res.subgroups['a'].estimate:.4f}")
        -0.2477
    """
    labels = _labels(table)
    levs = levels(labels)
    G = len(levs)
    D = np.column_stack([(labels == g).astype(float) for g in levs])
    warns: list[str] = []
    if G < 2:
        warns.append("only one subgroup: common tau^2 equals the overall analysis")
        res = fit_table(table, spec)
        return SubgroupResult({levs[0]: res}, None, None, None, warnings=warns + res.warnings)
    X1 = np.column_stack([np.ones(table.k), D[:, 1:]])
    try:
        m1 = rma(table.yi, table.vi, spec.method, spec.test, spec.level, X1, spec.control)
    except ConvergenceError as exc:
        raise ConvergenceError(f"common-tau^2 subgroup model: {exc}") from exc
    m0 = rma(table.yi, table.vi, spec.method, spec.test, spec.level, X=D, tau2=m1.tau2)
    warns += m1.warnings
    fe = m1.is_fe
    subs: dict[str, MetaResult] = {}
    shrunk = None if fe else blup(m0)
    for j, g in enumerate(levs):
        mask = labels == g
        part = table.subset(mask)
        x = np.eye(G)[j]
        pi = prediction_interval(m0, x, spec.pi_type) if spec.prediction else None
        q, qp, _, _, _ = heterogeneity(part.yi, part.vi, np.ones((part.k, 1)), 0.0, fe=True)
        w = 1.0 / (part.vi + m1.tau2)
        sub_warn = [K2_WARNING] if part.k == 2 and not fe else []
        settings = spec.describe(table.variance)
        settings["subgroups"] = "common tau^2 (metafor mods = ~ factor(subgroup) - 1)"
        subs[g] = MetaResult(
            engine="classical",
            method=spec.method,
            ci_method=CI_NAME[spec.test],
            k=part.k,
            estimate=float(m0.beta[j]),
            se=float(m0.se[j]),
            ci_low=float(m0.ci_low[j]),
            ci_high=float(m0.ci_high[j]),
            level=spec.level,
            tau2=None if fe else m1.tau2,
            q=q if part.k > 1 else None,
            q_df=part.k - 1 if part.k > 1 else None,
            q_p=qp if part.k > 1 else None,
            pi_low=None if pi is None else pi[0],
            pi_high=None if pi is None else pi[1],
            studies=_studies(
                part,
                100 * w / w.sum(),
                None if shrunk is None else {k: v[mask] for k, v in shrunk.items()},
            ),
            settings=settings,
            warnings=sub_warn,
            extra={"df": m0.ddf} if m0.ddf is not None else {},
        )
    residual = {
        "tau2": None if fe else m1.tau2,
        "q": m1.qe,
        "q_df": m1.k - m1.p,
        "q_p": m1.qe_p,
        "i2": m1.i2,
        "h2": m1.h2,
    }
    extra: dict[str, Any] = {"residual": residual}
    if spec.test == "z":
        extra["q_between_test"] = "chi2 (QM of mods = ~ factor(subgroup))"
    else:
        extra["q_between_test"] = "F (QM/m of mods = ~ factor(subgroup), Knapp-Hartung)"
        extra["q_between_df2"] = m1.qm_df[1]
    p = m1.qm_p if not math.isnan(m1.qm_p) else None
    return SubgroupResult(subs, m1.qm, m1.qm_df[0], p, extra, warns)


def subgroup_analysis(table: StudyTable, spec: Spec, tau2_common: bool) -> SubgroupResult:
    """Pool each subgroup (separate or common tau^2) and test for subgroup differences.

    `separate()` when ``tau2_common`` is False (RevMan), `common()` otherwise; leave-one-out
    is never done per subgroup. `pool(table, subgroup=True)` is the user-facing entry point.

    Examples:
        Same as metafor (separate `rma(yi, vi, method = "DL")` per subgroup, then
        `rma(est, sei = se, method = "FE")$QE`) on this table: Q = 8.4751, p = 0.0036.

        >>> from bayesmeta.studies import StudyTable
        >>> t = StudyTable.from_arrays([-0.3, 0.1, -0.5, 0.4, 0.9, 0.2],
        ...     [0.04, 0.06, 0.05, 0.03, 0.08, 0.05], subgroup=list("aaabbb"))
        >>> from bayesmeta.classical.fit import Spec
        >>> from bayesmeta.classical.subgroups import subgroup_analysis
        >>> res = subgroup_analysis(t, Spec(method="DL"), tau2_common=False)
        >>> print(f"{res.q_between:.4f} {res.q_between_p:.4f}")
        8.4751 0.0036
    """
    spec = replace(spec, loo=False)
    return common(table, spec) if tau2_common else separate(table, spec)
