"""``pool()``: the classical engine's entry point (metafor-identical numbers)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pandas as pd

from bayesmeta.classical.fit import Spec, fit_table
from bayesmeta.classical.linalg import Control, canonical_method
from bayesmeta.classical.pooling import canonical_test, rma
from bayesmeta.classical.presets import check_rule, get_preset, review_rule_method
from bayesmeta.classical.subgroups import subgroup_analysis
from bayesmeta.errors import InputError
from bayesmeta.studies import StudyTable

PI_TYPES = ("default", "t", "riley")


def pool(
    table: StudyTable | pd.DataFrame,
    method: str | None = None,
    ci: str | None = None,
    level: float = 0.95,
    subgroup: bool = False,
    tau2_common: bool | None = None,
    preset: str | None = None,
    prediction: bool | None = None,
    rule: str | None = None,
    *,
    knha_truncate: bool = False,
    pi_type: str = "default",
    tau2_ci: bool | None = None,
    loo: bool = False,
    control: Control | dict[str, Any] | None = None,
    cluster: Any = None,
    robust: str | bool | None = None,
    outcome: Any = None,
    rho: float | None = None,
    struct: str = "UN",
) -> Any:
    """Classical (frequentist) meta-analysis of ``table``, identical to R metafor 3.8.

    Args:
        table: a `bayesmeta.studies.StudyTable` (or a DataFrame with study, yi, vi|sei).
        method: tau^2 estimator, case-insensitive: FE, DL, REML (default), ML, PM, EB (same
            estimate as PM), SJ, HE.
        ci: ``"wald"`` (z, default) or ``"knha"`` (Knapp-Hartung / HKSJ, t_{k-1}; k >= 2).
        level: confidence level of every interval.
        subgroup: pool each subgroup (``table.subgroup``) and test subgroup differences.
        tau2_common: one tau^2 shared by the subgroups (metafor mixed model) instead of a
            separate tau^2 per subgroup (RevMan; default).
        preset: ``"revman5"``, ``"revman5-rule"`` (= revman5 with ``rule="review"``) or
            ``"cochrane2025"`` (see `bayesmeta.classical.presets`); arguments given
            explicitly override the preset's.
        prediction: compute the prediction interval (default True; never for FE).
        rule: ``"review"``: FE if Cochran's Q p >= 0.10 on all studies, else DL.
        knha_truncate: truncate the Knapp-Hartung variance factor at 1 (metafor
            ``test = "adhoc"``); metafor's knha default is untruncated.
        pi_type: ``"default"`` (metafor predict(): the CI's quantile), ``"t"`` (t_{k-1}) or
            ``"riley"`` (t_{k-2}).
        tau2_ci: compute the Q-profile CI for tau^2 (default True).
        loo: add a leave-one-out table (metafor leave1out) as ``extra["leave_one_out"]``.
        control: metafor-style iteration settings (`bayesmeta.classical.Control` or a dict:
            threshold, maxiter, stepadj, tol, tau2_max, tau2_init, ll0check).
        cluster: dependent effect sizes (`bayesmeta.dependent`): a column name of the
            DataFrame, ``True`` for the table's ``cluster`` column, or one label per effect:
            the multilevel model ``rma.mv(yi, vi, random = ~ 1 | cluster/study)``.
        robust: with ``cluster``: ``"CR2"`` (or True; clubSandwich, Satterthwaite df) or
            ``"CR1"`` cluster-robust tests.
        outcome: with ``cluster``: outcome labels (or a column name): the multivariate model
            with ``V = vcalc(vi, cluster, obs = outcome, rho)`` and ``struct`` (UN, CS, HCS).
        rho: the within-cluster correlation of different outcomes' sampling errors.
        struct: the between-cluster covariance of the outcomes (default ``"UN"``).

    Returns:
        MetaResult (engine "classical"); with subgroups the top-level numbers are the overall
        analysis of all studies, ``subgroups`` holds one result per subgroup and
        ``q_between``/``_df``/``_p`` the test for subgroup differences.

    Raises:
        InputError: bad arguments (unknown method, HKSJ with k = 1, missing subgroups...).
        ConvergenceError: REML/ML/EB Fisher scoring or the PM search failed (says why).

    Examples:
        Same as metafor `rma(yi, vi)` on Normand (1999): -15.1060 [-32.6409, 2.4289],
        tau^2 = 684.6462.

        >>> from bayesmeta.classical import pool
        >>> from bayesmeta.datasets import load
        >>> from bayesmeta.effects import md
        >>> d = load("normand1999")
        >>> es = md(d.m1i, d.sd1i, d.n1i, d.m2i, d.sd2i, d.n2i)
        >>> res = pool(d.assign(yi=es.yi, vi=es.vi))
        >>> print(f"{res.estimate:.4f} [{res.ci_low:.4f}, {res.ci_high:.4f}] {res.tau2:.4f}")
        -15.1060 [-32.6409, 2.4289] 684.6462
    """
    if cluster is not None or outcome is not None or robust:
        return _dependent(table, cluster, outcome, robust, rho, struct, method, level)
    if isinstance(table, pd.DataFrame):
        table = StudyTable.from_frame(table)
    if not isinstance(table, StudyTable):
        raise InputError("pool() needs a StudyTable or a DataFrame with study, yi and vi/sei")
    pre, preset_rule = get_preset(preset)
    rule = check_rule(rule or preset_rule)
    if rule and method is not None:
        raise InputError("rule='review' chooses the method itself (FE or DL): omit method=")
    overridden = [
        f"{name}={val}"
        for name, val, pval in (
            ("method", method, pre and pre.method),
            ("ci", ci, pre and pre.ci),
            ("prediction", prediction, pre and pre.prediction),
            ("tau2_ci", tau2_ci, pre and pre.tau2_ci),
            ("tau2_common", tau2_common, pre and pre.tau2_common),
        )
        if pre is not None and val is not None and val != pval
    ]
    meth = canonical_method(method or (pre.method if pre else "REML"))
    test = canonical_test(ci or (pre.ci if pre else "z"), knha_truncate)
    if not 0 < level < 1:
        raise InputError(f"level must be between 0 and 1 (got {level})")
    if pi_type not in PI_TYPES:
        raise InputError(f"unknown pi_type '{pi_type}'; valid: {', '.join(PI_TYPES)}")
    if test != "z" and table.k < 2:
        raise InputError("Knapp-Hartung (HKSJ) needs k >= 2 studies")
    if subgroup and table.subgroup is None:
        raise InputError("subgroup=True but the study table has no subgroup column")
    common = bool(tau2_common if tau2_common is not None else (pre and pre.tau2_common))
    settings: dict[str, str] = {"preset": pre.name if pre is not None else "none"}
    if overridden:
        settings["preset"] += f" (overridden: {', '.join(overridden)})"
    if rule:
        q_p = rma(table.yi, table.vi, "FE").qe_p if table.k > 1 else None
        meth = review_rule_method(q_p)
        shown = "undefined (k = 1)" if q_p is None else f"{q_p:.4g}"
        settings["rule"] = f"review: FE if Cochran Q p >= 0.10, else DL (p = {shown} -> {meth})"
    if subgroup:
        settings["subgroups"] = (
            "common tau^2 (metafor mods = ~ factor(subgroup)); test = QM"
            if common
            else "separate tau^2 per subgroup (RevMan); test = FE Q of subgroup estimates"
        )
    spec = Spec(
        method=meth,
        test=test,
        level=level,
        prediction=prediction if prediction is not None else (pre.prediction if pre else True),
        pi_type=pi_type,
        tau2_ci=tau2_ci if tau2_ci is not None else (pre.tau2_ci if pre else True),
        loo=loo,
        control=Control.make(control),
        settings=settings,
    )
    result = fit_table(table, spec)
    result.measure = table.measure
    if not subgroup:
        return result
    sub = subgroup_analysis(table, replace(spec, settings=dict(settings)), common)
    result.subgroups = sub.subgroups
    for part in result.subgroups.values():
        part.measure = table.measure
    result.q_between = sub.q_between
    result.q_between_df = sub.q_between_df
    result.q_between_p = sub.q_between_p
    result.extra.update(sub.extra)
    result.warnings += sub.warnings
    return result


def _labels(table: Any, value: Any, what: str) -> list[str] | None:
    if value is None:
        return None
    if value is True:
        col = getattr(table, what, None)
        if col is None:
            raise InputError(f"{what}=True but the table has no {what} column")
        return [str(x) for x in col]
    if isinstance(value, str):
        if isinstance(table, pd.DataFrame) and value in table.columns:
            return [str(x) for x in table[value]]
        raise InputError(f"{what}={value!r}: no such column in the table")
    return [str(x) for x in value]


def _dependent(table: Any, cluster: Any, outcome: Any, robust: Any, rho: float | None,
               struct: str, method: str | None, level: float) -> Any:  # fmt: skip
    """`pool` for dependent effect sizes: `bayesmeta.dependent.multilevel` / `multivariate`."""
    from bayesmeta.dependent import multilevel, multivariate

    cl = _labels(table, cluster, "cluster")
    oc = _labels(table, outcome, "subgroup" if outcome is True else "outcome")
    st = table if isinstance(table, StudyTable) else StudyTable.from_frame(table)
    if cl is None:
        raise InputError("robust= and outcome= need cluster=")
    meth = (method or "REML").upper()
    if oc is not None:
        if rho is None:
            raise InputError("outcome= needs rho=, the within-cluster sampling correlation")
        return multivariate(st.yi, cl, oc, vi=st.vi, rho=rho, struct=struct, method=meth,
                            level=level, robust=robust)  # fmt: skip
    return multilevel(st.yi, st.vi, cl, st.study.tolist(), method=meth, level=level, robust=robust)
