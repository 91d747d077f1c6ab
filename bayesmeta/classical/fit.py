"""One classical meta-analysis of a StudyTable -> MetaResult (k = 1 and k = 2 rules here)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import special

from bayesmeta.classical.heterogeneity import tau2_ci_qprofile
from bayesmeta.classical.linalg import Control
from bayesmeta.classical.loo import leave_one_out
from bayesmeta.classical.pooling import blup, prediction_interval, rma
from bayesmeta.results import MetaResult
from bayesmeta.studies import StudyTable

ESTIMATORS = {
    "FE": "fixed effect (inverse variance)",
    "DL": "DerSimonian-Laird (1986)",
    "REML": "REML (Viechtbauer 2005; Fisher scoring)",
    "ML": "ML (Viechtbauer 2005; Fisher scoring)",
    "PM": "Paule-Mandel (1982; uniroot)",
    "EB": "empirical Bayes (Morris 1983; same equation as Paule-Mandel)",
    "SJ": "Sidik-Jonkman (2005)",
    "HE": "Hedges-Olkin (1985) method of moments",
}
CI_TEXT = {
    "z": "Wald z",
    "knha": "Knapp-Hartung/HKSJ t_{k-1}, untruncated",
    "adhoc": "Knapp-Hartung/HKSJ t_{k-1}, variance factor truncated at 1",
}
#: The user-facing CI names (``--ci``) of metafor's ``test`` values; results carry these.
CI_NAME = {"z": "wald", "knha": "hksj", "adhoc": "hksj-truncated"}
PI_TEXT = {
    "default": "metafor predict(): estimate +/- crit*sqrt(se^2 + tau^2), crit as the CI's",
    "t": "t_{k-1}*sqrt(se^2 + tau^2)",
    "riley": "Riley 2011: t_{k-2}*sqrt(se^2 + tau^2)",
}
I2_TEXT = {
    "FE": "Q-based: (Q - df)/Q",
    "DL": "tau^2/(s^2 + tau^2), s^2 typical within-study variance (= (Q - df)/Q under DL)",
    "RE": "tau^2/(s^2 + tau^2), s^2 typical within-study variance (metafor)",
}
K2_WARNING = (
    "k = 2: tau^2 is barely identified (one degree of freedom); "
    "treat tau^2, I^2 and any prediction interval with great caution"
)


@dataclass
class Spec:
    """What to compute: estimator, test, interval options (already validated)."""

    method: str = "REML"
    test: str = "z"
    level: float = 0.95
    prediction: bool = True
    pi_type: str = "default"
    tau2_ci: bool = True
    loo: bool = False
    control: Control = field(default_factory=Control)
    settings: dict[str, str] = field(default_factory=dict)

    def describe(self, variance: str) -> dict[str, str]:
        """The MetaResult ``settings``: method texts plus ``variance`` and ``self.settings``."""
        fe = self.method == "FE"
        out = {
            "estimator": ESTIMATORS[self.method],
            "mu_ci": CI_TEXT[self.test],
            "tau2_ci": "Q-profile (Viechtbauer 2007)" if self.tau2_ci and not fe else "none",
            "prediction": PI_TEXT[self.pi_type] if self.prediction and not fe else "none",
            "i2": I2_TEXT.get(self.method, I2_TEXT["RE"]),
            "variance": variance,
        }
        out.update(self.settings)
        return out


def _studies(
    table: StudyTable, weight: np.ndarray, shrunk: dict[str, np.ndarray] | None
) -> pd.DataFrame:
    df = pd.DataFrame({"study": table.study, "yi": table.yi, "vi": table.vi, "weight": weight})
    if table.subgroup is not None:
        df["subgroup"] = table.subgroup
    if shrunk is not None:
        df["blup"] = shrunk["pred"]
        df["blup_se"] = shrunk["se"]
        df["blup_ci_low"] = shrunk["pi_low"]
        df["blup_ci_high"] = shrunk["pi_high"]
    return df


def single_study(table: StudyTable, spec: Spec, note: str | None = None) -> MetaResult:
    """k = 1: the study's own estimate and Wald CI; tau^2, Q, I^2, H^2 not estimable (None)."""
    y, se = float(table.yi[0]), math.sqrt(float(table.vi[0]))
    z = float(-special.ndtri((1 - spec.level) / 2))
    warns = ["k = 1: the estimate is the single study's own; tau^2, Q, I^2 are not estimable"]
    if note:
        warns.append(note)
    settings = spec.describe(table.variance)
    settings["mu_ci"] = CI_TEXT["z"]
    return MetaResult(
        engine="classical",
        method=spec.method,
        ci_method=CI_NAME["z"],
        k=1,
        estimate=y,
        se=se,
        ci_low=y - z * se,
        ci_high=y + z * se,
        level=spec.level,
        studies=_studies(table, np.array([100.0]), None),
        settings=settings,
        warnings=warns,
    )


def fit_table(table: StudyTable, spec: Spec) -> MetaResult:
    """Pool one table (no subgroups) by ``spec``; see `bayesmeta.classical.pool`."""
    if table.k == 1:
        return single_study(table, spec)
    fit = rma(table.yi, table.vi, spec.method, spec.test, spec.level, control=spec.control)
    fe = fit.is_fe
    warns = list(fit.warnings)
    if table.k == 2 and not fe:
        warns.append(K2_WARNING)
    extra: dict[str, Any] = {
        "zval": float(fit.zval[0]),
        "pval": float(fit.pval[0]),
        "crit": fit.crit,
        "typical_vi": fit.vt,
    }
    if spec.test != "z":
        extra.update(df=fit.ddf, knha_factor=fit.s2w)
    if not fe:
        extra.update(se_tau2=fit.se_tau2, iterations=fit.iterations)
    t_lo = t_hi = None
    if spec.tau2_ci and not fe:
        ci, t_max = tau2_ci_qprofile(table.yi, table.vi, fit.tau2, spec.level)
        t_lo, t_hi = ci.lb, ci.ub
        warns += ci.notes(t_max)
        extra["tau2_ci_flags"] = (ci.lb_sign, ci.ub_sign)
        if t_lo is not None and t_hi is not None:
            extra["i2_ci"] = tuple(100 * t / (fit.vt + t) for t in (t_lo, t_hi))
            extra["h2_ci"] = tuple(t / fit.vt + 1 for t in (t_lo, t_hi))
    pi = prediction_interval(fit, pi_type=spec.pi_type) if spec.prediction else None
    if spec.loo:
        lo = leave_one_out(
            table.yi, table.vi, spec.method, spec.test, spec.level, table.study, spec.control
        )
        extra["leave_one_out"] = lo
        warns += lo.attrs["warnings"]
    extra["zval"] = float(fit.zval[0])
    extra["pval"] = float(fit.pval[0])
    return MetaResult(
        engine="classical",
        method=spec.method,
        ci_method=CI_NAME[spec.test],
        k=fit.k,
        estimate=float(fit.beta[0]),
        se=float(fit.se[0]),
        ci_low=float(fit.ci_low[0]),
        ci_high=float(fit.ci_high[0]),
        level=spec.level,
        tau2=None if fe else fit.tau2,
        tau2_ci_low=t_lo,
        tau2_ci_high=t_hi,
        i2=fit.i2,
        h2=fit.h2,
        q=fit.qe,
        q_df=fit.k - 1,
        q_p=fit.qe_p,
        pi_low=None if pi is None else pi[0],
        pi_high=None if pi is None else pi[1],
        studies=_studies(table, fit.weights, None if fe else blup(fit)),
        settings=spec.describe(table.variance),
        warnings=warns,
        extra=extra,
    )
