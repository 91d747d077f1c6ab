"""One row per analysis: classical (as stored, and Cochrane's 2025 settings) and exact
Bayesian re-analyses of a chunk of `Analysis` records, all batched.

* ``classical_*``: the analysis as its source pooled it (RevMan files: the recomputation
  with the file's method, `bayesmeta.io.compare_all`); a long table names no method, so
  DerSimonian-Laird with a Wald interval (RevMan's default for random effects).
* Cochrane 2025 settings (RevMan Web since 2025): REML tau^2 (metafor's Fisher scoring, as
  `bayesmeta.classical.rma`), the Hartung-Knapp-Sidik-Jonkman interval (t on k - 1 df,
  untruncated) and the prediction interval estimate +/- t(k - 1) sqrt(SE^2 + tau^2) (metafor
  ``predict`` under ``test = "knha"``); I^2 = tau^2 / (tau^2 + s^2) with metafor's typical
  within-study variance s^2. Batched by k (`bayesmeta.simulate.batch`); k = 1 has no tau^2.
* Bayesian: the exact posterior (`bayesmeta.exact.batch.batch_posterior`) under the priors
  given for all analyses, or each analysis's scale-safe defaults (`bayesmeta.defaults`:
  mu flat; tau half-normal(0.5) on log ratios, half-normal(0.5 UISD) with sample sizes,
  else half-Cauchy(harmonic-mean SE)); model averaging over fixed/random x effect/no effect
  (as `bayesmeta.exact.batch.batch_model_average`, equal prior probabilities) with the proper
  default mu prior of `bayesmeta.exact.averaging.default_mu_sd` unless a normal mu prior
  is given.

Ratio measures are on the log scale and named so (``log OR``).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from scipy import special

from bayesmeta.corpus.sources import Analysis
from bayesmeta.defaults import LOG_RATIO_MEASURES
from bayesmeta.errors import InputError

COLUMNS = (
    "source", "analysis", "name", "data_type", "measure", "k", "status",
    "stored_estimate", "stored_ci_low", "stored_ci_high", "stored_method", "stored_model",
    "classical_estimate", "classical_ci_low", "classical_ci_high",
    "reml_estimate", "reml_tau2", "hksj_ci_low", "hksj_ci_high", "pi_low", "pi_high", "i2",
    "bayes_mu_median", "bayes_mu_low", "bayes_mu_high",
    "bayes_tau_median", "bayes_tau_low", "bayes_tau_high", "p_mu_above_0",
    "mu_prior", "tau_prior", "bma_p_effect", "bma_p_heterogeneity", "bf_effect",
)  # fmt: skip
_NUMERIC = [c for c in COLUMNS if c not in (
    "source", "analysis", "name", "data_type", "measure", "k", "status", "stored_method",
    "stored_model", "mu_prior", "tau_prior")]  # fmt: skip


def measure_name(code: str | None) -> str:
    """The output's measure: ``log OR`` for a ratio measure, else the code ('' if none).

    Examples:
        >>> from bayesmeta.corpus.compute import measure_name
        >>> measure_name("OR"), measure_name("MD"), measure_name(None)
        ('log OR', 'MD', '')
    """
    if not code:
        return ""
    return f"log {code}" if code.upper() in LOG_RATIO_MEASURES else code


def compute_chunk(
    analyses: list[Analysis],
    tau_prior: str | None = None,
    mu_prior: str | None = None,
    level: float = 0.95,
) -> pd.DataFrame:
    """The rows of ``analyses`` (module docstring), in their order.

    Examples:
        >>> import numpy as np
        >>> from bayesmeta.corpus.compute import compute_chunk
        >>> from bayesmeta.corpus.sources import Analysis
        >>> a = Analysis("t", "1", "x", "effect sizes", "MD", np.array([0.1, 0.5]),
        ...              np.array([0.04, 0.09]))
        >>> row = compute_chunk([a]).iloc[0]
        >>> int(row["k"]), row["tau_prior"].startswith("halfcauchy"), float(row["reml_estimate"])
        (2, True, 0.2375...)
    """
    n = len(analyses)
    out: dict[str, Any] = {c: np.full(n, np.nan) for c in _NUMERIC}
    for c in ("source", "analysis", "name", "data_type", "measure", "status", "stored_method",
              "stored_model", "mu_prior", "tau_prior"):  # fmt: skip
        out[c] = np.full(n, "", dtype=object)
    out["k"] = np.array([a.k for a in analyses], dtype=np.int64)
    for i, a in enumerate(analyses):
        out["source"][i], out["analysis"][i], out["name"][i] = a.source, a.analysis, a.name
        out["data_type"][i], out["measure"][i] = a.data_type, measure_name(a.measure)
        out["status"][i] = a.status
        for key in ("estimate", "ci_low", "ci_high"):
            out[f"stored_{key}"][i] = a.stored.get(key, math.nan)
            out[f"classical_{key}"][i] = a.classical.get(key, math.nan)
        out["stored_method"][i] = a.stored.get("method", "")
        out["stored_model"][i] = a.stored.get("model", "")
    ok = np.array([a.status == "ok" and a.k >= 1 for a in analyses], dtype=bool)
    _classical(analyses, ok, out, level)
    _bayes(analyses, ok, out, tau_prior, mu_prior, level)
    df = pd.DataFrame({c: out[c] for c in COLUMNS})
    extra = sorted({key for a in analyses for key in a.extra})
    for key in extra:
        df[key] = [a.extra.get(key) for a in analyses]
    return df


def _by_k(analyses: list[Analysis], rows: np.ndarray) -> dict[int, np.ndarray]:
    ks = np.array([analyses[i].k for i in rows], dtype=int)
    return {int(k): rows[ks == k] for k in np.unique(ks)}


def _classical(analyses: list[Analysis], ok: np.ndarray, out: dict[str, Any],
               level: float) -> None:  # fmt: skip
    from bayesmeta.simulate.batch import batch_fit, batch_tau2

    alpha = 1.0 - level
    z = float(-special.ndtri(alpha / 2))
    table_rows = [i for i in np.flatnonzero(ok) if not analyses[i].classical]
    for k, rows in _by_k(analyses, np.asarray(table_rows, int)).items():  # DL, Wald
        y = np.array([analyses[i].yi for i in rows])
        v = np.array([analyses[i].vi for i in rows])
        if k == 1:
            est, lo, hi = y[:, 0], y[:, 0] - z * np.sqrt(v[:, 0]), y[:, 0] + z * np.sqrt(v[:, 0])
        else:
            est, lo, hi, _ = batch_fit("DL", "z", y, v, level)
        out["classical_estimate"][rows], out["classical_ci_low"][rows] = est, lo
        out["classical_ci_high"][rows] = hi
    for k, rows in _by_k(analyses, np.flatnonzero(ok)).items():  # REML, HKSJ, PI, I^2
        y = np.array([analyses[i].yi for i in rows])
        v = np.array([analyses[i].vi for i in rows])
        if k == 1:
            out["reml_estimate"][rows] = y[:, 0]
            continue
        t2, conv = batch_tau2("REML", y, v)
        t2 = np.where(conv, t2, np.nan)
        w = 1.0 / (v + t2[:, None])
        sw = w.sum(axis=1)
        est = (w * y).sum(axis=1) / sw
        rss = (w * (y - est[:, None]) ** 2).sum(axis=1)
        s2w = np.where(rss <= np.finfo(float).eps, 0.0, rss / (k - 1))
        se = np.sqrt(s2w / sw)
        crit = float(-special.stdtrit(k - 1, alpha / 2))
        w0 = 1.0 / v
        vt = (k - 1) * w0.sum(axis=1) / (w0.sum(axis=1) ** 2 - (w0**2).sum(axis=1))
        out["reml_estimate"][rows], out["reml_tau2"][rows] = est, t2
        out["hksj_ci_low"][rows], out["hksj_ci_high"][rows] = est - crit * se, est + crit * se
        half = crit * np.sqrt(se**2 + t2)
        out["pi_low"][rows], out["pi_high"][rows] = est - half, est + half
        out["i2"][rows] = 100.0 * t2 / (vt + t2)


def _bayes(analyses: list[Analysis], ok: np.ndarray, out: dict[str, Any],
           tau_prior: str | None, mu_prior: str | None, level: float) -> None:  # fmt: skip
    from bayesmeta.defaults import default_priors
    from bayesmeta.exact.averaging import default_mu_sd
    from bayesmeta.exact.batch import (
        TauPriors,
        average,
        batch_log_evidence_mu,
        batch_posterior,
        fixed_evidence,
    )
    from bayesmeta.priors import parse_prior

    rows = np.flatnonzero(ok)
    if rows.size == 0:
        return
    mu_given = None if mu_prior is None else parse_prior(mu_prior, "mu")
    tau_given = None if tau_prior is None else parse_prior(tau_prior, "tau")
    fam = np.empty(rows.size, dtype=object)
    scale = np.ones(rows.size)
    bma_sd = np.full(rows.size, np.nan)
    for j, i in enumerate(rows):
        a = analyses[i]
        s = np.sqrt(a.vi)
        if tau_given is None:
            d = default_priors(s, n=a.ni, measure=a.measure)
            fam[j] = "halfcauchy" if d.rule == "se" else "halfnormal"
            ds = float(d.scale or 0.0)
            scale[j] = 0.5 if d.rule == "log-ratio" else (0.5 * ds if d.rule == "uisd" else ds)
            out["tau_prior"][i] = d.tau
        else:
            fam[j] = "given"
            out["tau_prior"][i] = tau_given.text
        out["mu_prior"][i] = "flat" if mu_given is None else mu_given.text
        if mu_given is not None and mu_given.family == "normal":
            bma_sd[j] = mu_given.params[1]
        else:
            bma_sd[j] = default_mu_sd(s, n=a.ni, measure=a.measure)
    m_mean = np.full(rows.size, np.nan)
    m_sd = np.full(rows.size, np.nan)
    if mu_given is not None and mu_given.family == "normal":
        m_mean[:], m_sd[:] = mu_given.params
    elif mu_given is not None and mu_given.family != "flat":
        raise InputError(f"the corpus takes a flat or normal mu prior, not {mu_given.text} "
                         "(option --mu-prior)")  # fmt: skip
    bma_mean = m_mean if mu_given is not None and mu_given.family == "normal" else np.zeros(
        rows.size)  # fmt: skip
    for f in dict.fromkeys(fam):
        sel = np.flatnonzero(fam == f)
        r = rows[sel]
        priors = (TauPriors.shared(tau_given, sel.size) if f == "given" and tau_given else
                  getattr(TauPriors, str(f))(scale[sel]))  # fmt: skip
        yi = [analyses[i].yi for i in r]
        si = [np.sqrt(analyses[i].vi) for i in r]
        flat = mu_given is None or mu_given.family == "flat"
        post = batch_posterior(yi, si, priors, m_mean[sel], m_sd[sel], level=level,
                               averaging_sd=bma_sd[sel] if flat else None)  # fmt: skip
        out["bayes_mu_median"][r], out["bayes_mu_low"][r] = post["mu_median"], post["mu_low"]
        out["bayes_mu_high"][r] = post["mu_high"]
        out["bayes_tau_median"][r], out["bayes_tau_low"][r] = post["tau_median"], post["tau_low"]
        out["bayes_tau_high"][r] = post["tau_high"]
        out["p_mu_above_0"][r] = post["p_mu_gt_0"]
        if f == "given" and tau_given is not None and not tau_given.proper:
            continue  # model averaging needs a proper tau prior
        logm = np.empty((sel.size, 4))
        logm[:, :2] = fixed_evidence(yi, si, bma_mean[sel], bma_sd[sel])
        logm[:, 2] = batch_log_evidence_mu(yi, si, priors, 0.0)
        logm[:, 3] = (post["log_evidence_normal"] if flat  # same nodes: no second quadrature
                      else post["log_marginal_likelihood"])  # fmt: skip
        bma = average(logm)
        out["bma_p_effect"][r] = bma["p_effect"]
        out["bma_p_heterogeneity"][r] = bma["p_heterogeneity"]
        out["bf_effect"][r] = bma["bf_effect"]
