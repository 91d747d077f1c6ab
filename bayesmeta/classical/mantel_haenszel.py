"""Fixed-effect pooling of 2x2 tables: Mantel-Haenszel (OR, RR, RD) and Peto's one-step OR,
as metafor's ``rma.mh`` / ``rma.peto`` and RevMan 5 compute them.

Tables [ai bi; ci di] (events / non-events, group 1 over group 2), n1 = ai + bi,
n2 = ci + di, N = n1 + n2. By default (metafor) the pooled estimate uses the raw counts (no
continuity correction) and zero-cell corrections enter only the study-level estimates yi, vi,
which give the forest plot and the heterogeneity statistic; RevMan 5 also corrects the MH
sums (below).

* MH OR = sum(ai di / N) / sum(bi ci / N); var(log OR) by Robins, Breslow & Greenland (1986).
* MH RR = sum(ai n2 / N) / sum(ci n1 / N); var(log RR) by Greenland & Robins (1985).
* MH RD = sum((ai n2 - ci n1) / N) / sum(n1 n2 / N); var(RD) by Sato, Greenland & Robins
  (1989), metafor's, or ``rd_variance="greenland-robins"``: Greenland & Robins (1985),
  ``sum((ai bi n2^3 + ci di n1^3) / (n1 n2 N^2)) / sum(n1 n2 / N)^2``, RevMan 5's.
* Peto: log OR = sum(O - E) / sum(V), var = 1 / sum(V), O = ai, E = (ai + ci) n1 / N,
  V = (ai + ci)(bi + di) n1 n2 / (N^2 (N - 1)) (Yusuf et al. 1985).
* Heterogeneity (RevMan's "Chi²" and metafor's QE): Q = sum w_i (y_i - estimate)^2 with
  inverse-variance weights of the study-level estimates (escalc with 1/2 added to every cell
  of a table with a zero; double-zero tables dropped), df = k_yi - 1, I² = (Q - df) / Q.
  Peto's Q is sum (O - E)^2 / V - (sum (O - E))^2 / sum V.

``convention="revman"`` follows RevMan 5 (Deeks & Higgins 2010; R meta's defaults
``MH.exact = FALSE``, ``RR.Cochrane = TRUE``): 1/2 is added to every cell of a table with a
zero cell for the MH estimate, its variance and weights too (not only for the study-level
estimates; for RD the study risk differences stay raw and the weights n1 n2 / N use the
corrected counts), while an OR or RR with no information in the raw counts (no events, for
RR, in one group across all studies) is not estimable, as RevMan shows it; double-zero
tables are kept in the study-level RD estimates (metafor drops them for every measure). With
``"metafor"`` (the default) the MH estimate uses the raw counts, as ``rma.mh`` does. Weights
are the MH (or Peto V) weights in percent, as RevMan prints them: OR bi ci / N, RR ci n1 / N,
RD n1 n2 / N.
"""

from __future__ import annotations

import math
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import special

from bayesmeta.effects import log_or, log_rr, rd
from bayesmeta.errors import InputError, NotEstimable
from bayesmeta.results import MetaResult

MH_MEASURES = ("OR", "RR", "RD")
VARIANCE_TEXT = {
    "OR": "var(log OR_MH): Robins, Breslow & Greenland (1986)",
    "RR": "var(log RR_MH): Greenland & Robins (1985)",
    "sato": "var(RD_MH): Sato, Greenland & Robins (1989) (metafor)",
    "greenland-robins": "var(RD_MH): Greenland & Robins (1985) (RevMan 5)",
}


def _cells(
    ai: Any, bi: Any, ci: Any, di: Any
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    out = []
    for name, v in (("ai", ai), ("bi", bi), ("ci", ci), ("di", di)):
        a = np.asarray(v, dtype=float).reshape(-1)
        bad = np.flatnonzero(~np.isfinite(a) | (a < 0))
        if bad.size:
            raise InputError(
                f"cell counts must be finite and >= 0 (got {a[bad[0]]})",
                row=int(bad[0]) + 1, column=name,
            )  # fmt: skip
        out.append(a)
    a, b, c, d = out
    if not (a.size == b.size == c.size == d.size) or a.size == 0:
        raise InputError("ai, bi, ci, di must be equally long and not empty")
    empty = np.flatnonzero((a + b == 0) | (c + d == 0))
    if empty.size:
        raise InputError("a group has no participants", row=int(empty[0]) + 1, column="ai")
    return a, b, c, d


def study_level(
    measure: str, a: np.ndarray, b: np.ndarray, c: np.ndarray, d: np.ndarray, keep00: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Study-level yi, vi of 2x2 tables: escalc's (1/2 added to every cell of a table with a
    zero), double-zero tables NaN unless ``keep00``; with ``keep00`` for RD, RevMan's rule
    (the raw risk difference, the variance from the corrected cells; R meta's metabin).

    Examples:
        >>> import numpy as np
        >>> from bayesmeta.classical.mantel_haenszel import study_level
        >>> a, b, c, d = (np.array(x, float) for x in ([0, 3], [10, 7], [2, 0], [8, 10]))
        >>> yi, vi = study_level("RD", a, b, c, d, keep00=True)
        >>> yi.round(3).tolist(), vi.round(5).tolist()  # 0.5 * 10.5 / 11^3 + 2.5 * 8.5 / 11^3
        ([-0.2, 0.3], [0.01991, 0.02367])
    """
    if measure == "PETO":
        z = (a == 0) | (b == 0) | (c == 0) | (d == 0)
        s = np.where(z, 0.5, 0.0)
        o, e, v = _peto_terms(a + s, b + s, c + s, d + s)
        double = ((a == 0) & (c == 0)) | ((b == 0) & (d == 0))
        with np.errstate(divide="ignore", invalid="ignore"):
            yi, vi = (o - e) / v, 1.0 / v
        return np.where(double, np.nan, yi), np.where(double, np.nan, vi)
    if measure == "RD" and keep00:  # RevMan: the raw difference, a corrected variance
        z = np.where((a == 0) | (b == 0) | (c == 0) | (d == 0), 0.5, 0.0)
        n1, n2 = a + b, c + d
        yi = a / n1 - c / n2
        vi = (a + z) * (b + z) / (n1 + 2 * z) ** 3 + (c + z) * (d + z) / (n2 + 2 * z) ** 3
        return yi, vi
    fn = {"OR": log_or, "RR": log_rr, "RD": rd}[measure]
    es = fn(a, b, c, d, drop00=not keep00)
    return np.asarray(es.yi), np.asarray(es.vi)


def _revman_cells(
    measure: str, a: np.ndarray, b: np.ndarray, c: np.ndarray, d: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """RevMan 5's counts for the MH estimate and its variance: 1/2 added to every cell of a
    table with a zero cell (R meta ``MH.exact = FALSE``, Stata ``metan``); a table with no
    information on the ratio (OR: no events, or only events, in both groups; RR: no events in
    both) is left as it is, so it adds nothing to the MH sums, as when uncorrected."""
    zero = (a == 0) | (b == 0) | (c == 0) | (d == 0)
    if measure == "OR":
        zero &= ~(((a == 0) & (c == 0)) | ((b == 0) & (d == 0)))
    elif measure == "RR":
        zero &= ~((a == 0) & (c == 0))
    s = np.where(zero, 0.5, 0.0)
    return a + s, b + s, c + s, d + s


def _peto_terms(
    a: np.ndarray, b: np.ndarray, c: np.ndarray, d: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    n1, n2 = a + b, c + d
    n = n1 + n2
    xt, yt = a + c, b + d
    e = xt * n1 / n
    with np.errstate(divide="ignore", invalid="ignore"):
        v = np.where(n > 1, xt * yt * (n1 / n) * (n2 / n) / (n - 1), 0.0)
    return a, e, v


def _heterogeneity(
    yi: np.ndarray, vi: np.ndarray, est: float
) -> tuple[float, int, float, float, float]:
    ok = np.isfinite(yi) & np.isfinite(vi)
    y, w = yi[ok], 1.0 / vi[ok]
    df = int(ok.sum()) - 1
    if df < 1 or not math.isfinite(est):
        return 0.0, max(df, 0), 1.0, 0.0, 1.0
    q = max(0.0, float(np.sum(w * (y - est) ** 2)))
    return (
        q,
        df,
        float(special.chdtrc(df, q)),
        max(0.0, 100 * (q - df) / q) if q > 0 else 0.0,
        q / df,
    )


def _result(
    method: str,
    measure: str,
    est: float,
    se: float,
    level: float,
    het: tuple[float, int, float, float, float],
    study: Any,
    yi: np.ndarray,
    vi: np.ndarray,
    weight: np.ndarray,
    settings: dict[str, str],
    warnings: list[str],
    k: int,
) -> MetaResult:
    z = float(-special.ndtri((1 - level) / 2))
    q, df, q_p, i2, h2 = het
    zval = est / se if se > 0 else math.nan
    labels = [str(s) for s in study] if study is not None else [str(i + 1) for i in range(k)]
    total = float(np.sum(weight))
    studies = pd.DataFrame({
        "study": labels, "yi": yi, "vi": vi,
        "weight": 100 * weight / total if total > 0 else np.full(k, np.nan),
    })  # fmt: skip
    return MetaResult(
        engine="classical",
        method=method,
        ci_method="wald",
        k=k,
        estimate=est,
        se=se,
        ci_low=est - z * se,
        ci_high=est + z * se,
        level=level,
        i2=i2,
        h2=h2,
        q=q,
        q_df=df,
        q_p=q_p,
        studies=studies,
        settings=settings,
        warnings=warnings,
        measure=measure,
        extra={
            "zval": zval,
            "pval": float(2 * special.ndtr(-abs(zval))) if math.isfinite(zval) else math.nan,
            "measure": measure,
            "k_yi": df + 1,
        },
    )


def mantel_haenszel(
    ai: Any,
    bi: Any,
    ci: Any,
    di: Any,
    measure: str = "OR",
    *,
    study: Any = None,
    level: float = 0.95,
    rd_variance: Literal["sato", "greenland-robins"] = "sato",
    convention: Literal["metafor", "revman"] = "metafor",
) -> MetaResult:
    """Mantel-Haenszel fixed-effect pooling of 2x2 tables (module docstring).

    The estimate, CI and z are on the log scale for OR and RR (exponentiate to print ratios).

    Same as metafor `rma.mh(ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg[1:3, ])`:
    log OR -1.4135, SE 0.3155:

    Examples:
        >>> from bayesmeta.classical import mantel_haenszel
        >>> r = mantel_haenszel([4, 6, 3], [119, 300, 228], [11, 29, 11], [128, 274, 209])
        >>> round(r.estimate, 4), round(r.se, 4), r.k, r.q_df
        (-1.4135, 0.3155, 3, 2)
    """
    m = str(measure).upper()
    if m not in MH_MEASURES:
        raise InputError(f"Mantel-Haenszel measure must be one of {', '.join(MH_MEASURES)}")
    if rd_variance not in ("sato", "greenland-robins"):
        raise InputError("rd_variance must be 'sato' or 'greenland-robins'")
    if convention not in ("metafor", "revman"):
        raise InputError("convention must be 'metafor' or 'revman'")
    a0, b0, c0, d0 = _cells(ai, bi, ci, di)
    if convention == "revman":  # not estimable on the raw counts, as RevMan shows it
        if m == "OR" and (not np.any(a0 * d0) or not np.any(b0 * c0)):
            raise NotEstimable("MH odds ratio undefined: sum(ai di / N) or sum(bi ci / N) is 0")
        if m == "RR" and (a0.sum() == 0 or c0.sum() == 0):
            raise NotEstimable("MH risk ratio undefined: no events in one group across studies")
        a, b, c, d = _revman_cells(m, a0, b0, c0, d0)
    else:
        a, b, c, d = a0, b0, c0, d0
    n1, n2 = a + b, c + d
    n = n1 + n2
    warnings: list[str] = []
    if m == "OR":
        r, s = a * d / n, b * c / n
        rs, ss = float(r.sum()), float(s.sum())
        if rs == 0 or ss == 0:
            raise NotEstimable("MH odds ratio undefined: sum(ai di / N) or sum(bi ci / N) is 0")
        p, qq = (a + d) / n, (b + c) / n
        est = math.log(rs / ss)
        var = 0.5 * (
            float(np.sum(p * r)) / rs**2
            + float(np.sum(p * s + qq * r)) / (rs * ss)
            + float(np.sum(qq * s)) / ss**2
        )
        weight = s
        vtext = VARIANCE_TEXT["OR"]
    elif m == "RR":
        if a.sum() == 0 or c.sum() == 0:
            raise NotEstimable("MH risk ratio undefined: no events in one group across studies")
        r, s = a * n2 / n, c * n1 / n
        rs, ss = float(r.sum()), float(s.sum())
        est = math.log(rs / ss)
        var = float(np.sum(n1 / n * (n2 / n) * (a + c) - a / n * c)) / (rs * ss)
        weight = s
        vtext = VARIANCE_TEXT["RR"]
    else:
        wsum = float(np.sum(n1 * n2 / n))
        # the raw study risk differences weighted by n1 n2 / N (corrected counts in RevMan)
        est = float(np.sum(n1 * n2 / n * (a0 / (a0 + b0) - c0 / (c0 + d0)))) / wsum
        if rd_variance == "sato":
            var = (
                est * float(np.sum(c * (n1 / n) ** 2 - a * (n2 / n) ** 2
                                   + (n1 / n) * (n2 / n) * (n2 - n1) / 2))
                + float(np.sum(a * (n2 - c) / n + c * (n1 - a) / n)) / 2
            ) / wsum**2  # fmt: skip
        else:
            var = float(np.sum((a * b * n2**3 + c * d * n1**3) / (n1 * n2 * n**2))) / wsum**2
        weight = n1 * n2 / n
        vtext = VARIANCE_TEXT[rd_variance]
    keep00 = m == "RD" and convention == "revman"
    yi, vi = study_level(m, a0, b0, c0, d0, keep00)
    se = math.sqrt(var) if var > 0 else 0.0
    settings = {
        "estimator": f"Mantel-Haenszel {m} (fixed effect)",
        "variance": vtext,
        "study_estimates": "escalc: 1/2 added to every cell of a table with a zero; "
        + ("double-zero tables kept for RD (RevMan)" if keep00 else "double-zero tables dropped"),
        "heterogeneity": "Q = sum w (yi - MH estimate)^2, inverse-variance w (RevMan, metafor)",
        "convention": convention,
    }
    return _result("MH", m, est, se, level, _heterogeneity(yi, vi, est), study, yi, vi,
                   weight, settings, warnings, a.size)  # fmt: skip


def peto(
    ai: Any, bi: Any, ci: Any, di: Any, *, study: Any = None, level: float = 0.95
) -> MetaResult:
    """Peto's one-step odds ratio (module docstring); estimate and CI on the log scale.

    Same as metafor `rma.peto(ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg[1:3, ])`:
    log OR -1.2373, SE 0.2566:

    Examples:
        >>> from bayesmeta.classical import peto
        >>> r = peto([4, 6, 3], [119, 300, 228], [11, 29, 11], [128, 274, 209])
        >>> round(r.estimate, 4), round(r.se, 4)
        (-1.2373, 0.2566)
    """
    a, b, c, d = _cells(ai, bi, ci, di)
    o, e, v = _peto_terms(a, b, c, d)
    vs = float(v.sum())
    if vs == 0:
        raise NotEstimable("Peto odds ratio undefined: no table has both events and non-events")
    est = float(np.sum(o - e)) / vs
    se = math.sqrt(1.0 / vs)
    yi, vi = study_level("PETO", a, b, c, d, keep00=False)
    k_yi = int(np.sum(np.isfinite(yi)))
    pos = v > 0
    q = max(0.0, float(np.sum((o - e)[pos] ** 2 / v[pos])) - float(np.sum(o - e)) ** 2 / vs)
    if k_yi > 1:
        df = k_yi - 1
        het = (q, df, float(special.chdtrc(df, q)), max(0.0, 100 * (q - df) / q) if q > 0 else 0.0,
               q / df)  # fmt: skip
    else:
        het = (0.0, 0, 1.0, 0.0, 1.0)
    settings = {
        "estimator": "Peto one-step odds ratio (Yusuf et al. 1985; fixed effect)",
        "variance": "var(log OR) = 1 / sum(V)",
        "study_estimates": "(O - E) / V with 1/2 added to every cell of a table with a zero; "
        "double-zero tables dropped",
        "heterogeneity": "Q = sum (O - E)^2 / V - (sum (O - E))^2 / sum V",
    }
    return _result("Peto", "OR", est, se, level, het, study, yi, vi, v, settings, [], a.size)


def pool_tables(
    ai: Any,
    bi: Any,
    ci: Any,
    di: Any,
    method: str = "MH",
    measure: str = "OR",
    *,
    study: Any = None,
    subgroup: Any = None,
    level: float = 0.95,
    rd_variance: Literal["sato", "greenland-robins"] = "sato",
    convention: Literal["metafor", "revman"] = "metafor",
) -> MetaResult:
    """`mantel_haenszel` (``method="MH"``) or `peto` (``"PETO"``) of all tables and, with
    ``subgroup`` labels, of each subgroup, with the test for subgroup differences of RevMan 5
    (Q = sum w_g (theta_g - theta_w)^2 over the subgroup estimates, w_g = 1 / se_g^2,
    df = G - 1).

    Same as metafor: `rma.mh` per subgroup, then `rma(c(b1, b2), sei = c(se1, se2),
    method = "FE")`: Q = 0.005088, p = 0.943135:

    Examples:
        >>> from bayesmeta.classical.mantel_haenszel import pool_tables
        >>> r = pool_tables([4, 6, 3, 62], [119, 300, 228, 13474], [11, 29, 11, 248],
        ...                 [128, 274, 209, 12619], subgroup=["a", "a", "b", "b"])
        >>> sorted(r.subgroups), r.q_between_df, round(r.q_between, 6), round(r.q_between_p, 6)
        (['a', 'b'], 1, 0.005088, 0.943135)
    """
    m = str(method).upper()
    if m not in ("MH", "PETO"):
        raise InputError(f"method must be MH or PETO for 2x2 tables, not {method!r}")

    def one(sel: np.ndarray | slice) -> MetaResult:
        lab = None if study is None else np.asarray(study)[sel]
        a, b, c, d = (np.asarray(x, dtype=float)[sel] for x in (ai, bi, ci, di))
        if m == "PETO":
            return peto(a, b, c, d, study=lab, level=level)
        return mantel_haenszel(
            a, b, c, d, measure, study=lab, level=level, rd_variance=rd_variance,
            convention=convention,
        )  # fmt: skip

    res = one(slice(None))
    if subgroup is None:
        return res
    groups = np.asarray([str(g) for g in subgroup])
    subs = {g: one(groups == g) for g in dict.fromkeys(groups.tolist())}
    est = np.array([s.estimate for s in subs.values()])
    w = np.array([1 / s.se**2 if s.se > 0 else 0.0 for s in subs.values()])
    res.subgroups = subs
    if len(subs) > 1 and w.sum() > 0:
        mean = float(w @ est / w.sum())
        res.q_between = float(np.sum(w * (est - mean) ** 2))
        res.q_between_df = len(subs) - 1
        res.q_between_p = float(special.chdtrc(res.q_between_df, res.q_between))
    if res.studies is not None:
        res.studies["subgroup"] = groups
    return res
