r"""One replicate: draw a meta-analysis, fit every method, record estimate and interval.

Data model (the normal-normal random-effects model):
``theta_i = mu + tau z_i``, ``y_i = theta_i + s_i e_i`` with ``z, e ~ N(0, 1)``; the ``s_i``
are drawn from the scenario's SE distribution (or fixed), and ``mu``, ``tau`` are the
scenario's values or (``"prior"``) drawn from the truth prior.

Seeds: replicate ``r`` of scenario ``S`` uses
``numpy.random.SeedSequence(seed, spawn_key=(S.key, r))``, so its data do not depend on
chunking or on which worker runs it. Draw order: mu, tau (prior scenarios only), s, z, e.

Methods: FE (inverse variance, Wald z), DL-Wald, REML-HKSJ and PM-HKSJ (metafor's
``rma(test="knha")``, untruncated), the review rule (FE if Cochran's Q p >= 0.10, else
DL-Wald) and exact Bayesian posteriors (`NormalNormal`: posterior
median, central credible interval and the PIT ``P(mu <= mu_true | y)`` for SBC).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats

from bayesmeta.classical import rma
from bayesmeta.errors import ConvergenceError, InputError
from bayesmeta.exact import NormalNormal
from bayesmeta.priors import parse_prior
from bayesmeta.simulate.spec import CLASSICAL, RULE_ALPHA, Chunk, Scenario, StudySpec

COLUMNS = ("scenario", "rep", "method", "mu_true", "tau_true", "estimate", "ci_low", "ci_high",
           "pit", "ok")  # fmt: skip


def draw(spec: StudySpec, sc: Scenario, rep: int) -> tuple[float, float, np.ndarray, np.ndarray]:
    """(mu, tau, y, s) of replicate ``rep`` of scenario ``sc`` (see module docstring)."""
    rng = np.random.default_rng(np.random.SeedSequence(spec.seed, spawn_key=(sc.key, rep)))
    if sc.from_prior:
        if spec.truth_mu_prior is None or spec.truth_tau_prior is None:
            raise InputError(f"scenario {sc.id} draws mu and tau from a [truth_prior]: none given")
        mu = float(parse_prior(spec.truth_mu_prior, "mu").rvs(1, rng)[0])
        tau = float(parse_prior(spec.truth_tau_prior, "tau").rvs(1, rng)[0])
    elif sc.mu is not None and sc.tau is not None:
        mu, tau = float(sc.mu), float(sc.tau)
    else:
        raise InputError(f"scenario {sc.id}: mu and tau must both be numbers or both be drawn")
    se = sc.se
    if se.dist == "fixed":
        s = np.asarray(se.values, dtype=float)
    elif se.dist == "uniform":
        s = rng.uniform(se.low, se.high, sc.k)
    else:
        s = np.exp(rng.uniform(math.log(se.low), math.log(se.high), sc.k))
    theta = mu + tau * rng.standard_normal(sc.k)
    y = theta + s * rng.standard_normal(sc.k)
    return mu, tau, y, s


def _fe(y: np.ndarray, v: np.ndarray, z: float) -> tuple[float, float, float]:
    w = 1.0 / v
    est = float(np.sum(w * y) / w.sum())
    half = z / math.sqrt(w.sum())
    return est, est - half, est + half


def q_pvalue(y: np.ndarray, v: np.ndarray) -> float:
    """Cochran's Q p-value: ``Q = sum w (y - ybar_w)^2``, ``w = 1/v``, on k - 1 df."""
    w = 1.0 / v
    m = np.sum(w * y) / w.sum()
    return float(stats.chi2.sf(np.sum(w * (y - m) ** 2), y.size - 1))


def classical(name: str, y: np.ndarray, v: np.ndarray, level: float) -> tuple[float, float, float]:
    """(estimate, ci_low, ci_high) of a classical method; raises ConvergenceError on failure."""
    z = float(stats.norm.isf((1 - level) / 2))
    method, test = CLASSICAL[name]
    if method == "rule":
        method = "FE" if q_pvalue(y, v) >= RULE_ALPHA else "DL"
    if method == "FE":
        return _fe(y, v, z)
    fit = rma(y, v, method, test, level)
    return float(fit.beta[0]), float(fit.ci_low[0]), float(fit.ci_high[0])


def _batch_classical(
    spec: StudySpec, ys: np.ndarray, vs: np.ndarray
) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
    """Every classical method the batch engine covers, over all replicates at once."""
    from bayesmeta.simulate.batch import BATCH_METHODS, batch_fit, q_pvalues

    out = {}
    for name in spec.methods:
        method, test = CLASSICAL[name]
        if method == "rule":
            fe = batch_fit("FE", "z", ys, vs, spec.level)
            dl = batch_fit("DL", "z", ys, vs, spec.level)
            use_fe = q_pvalues(ys, vs) >= RULE_ALPHA
            e, lo, hi, ok = (np.where(use_fe, a, b) for a, b in zip(fe, dl, strict=True))
            out[name] = (e, lo, hi, ok)
        elif method in BATCH_METHODS and test in ("z", "knha"):
            out[name] = batch_fit(method, test, ys, vs, spec.level)
    return out


def run_chunk(spec: StudySpec, chunk: Chunk) -> pd.DataFrame:
    """Replicates ``chunk.start .. chunk.stop - 1`` of one scenario, every method (long form).

    FE, DL, REML and the review rule run over all the chunk's replicates at once
    (`bayesmeta.simulate.batch`, the same numbers as `bayesmeta.classical.rma` row by row);
    PM and the exact Bayesian methods run replicate by replicate.
    """
    sc = spec.scenarios[chunk.scenario]
    reps = range(chunk.start, chunk.stop)
    drawn = [draw(spec, sc, rep) for rep in reps]
    batch = {}
    if drawn:
        ys = np.array([d[2] for d in drawn])
        vs = np.array([d[3] ** 2 for d in drawn])
        batch = _batch_classical(spec, ys, vs)
    rows: list[tuple] = []
    for j, rep in enumerate(reps):
        mu, tau, y, s = drawn[j]
        v = s**2
        for name in spec.methods:
            if name in batch:
                e, lo_, hi_, ok_ = (x[j] for x in batch[name])
                est, lo, hi, ok = float(e), float(lo_), float(hi_), bool(ok_)
                if not ok:
                    est = lo = hi = math.nan
            else:
                try:
                    est, lo, hi = classical(name, y, v, spec.level)
                    ok = bool(np.isfinite([est, lo, hi]).all())
                except (ConvergenceError, InputError):
                    est = lo = hi = math.nan
                    ok = False
            rows.append((sc.id, rep, name, mu, tau, est, lo, hi, math.nan, ok))
        if rep >= sc.bayes_replicates:
            continue
        for b in spec.bayes:
            try:
                fit = NormalNormal(y, s, tau_prior=b.tau_prior, mu_prior=b.mu_prior)
                m = fit.mu
                lo, hi = m.interval(spec.level)
                est, pit = m.median, float(m.cdf(mu))
                ok = bool(np.isfinite([est, lo, hi]).all())
            except (ConvergenceError, InputError, FloatingPointError):
                est = lo = hi = pit = math.nan
                ok = False
            rows.append((sc.id, rep, b.name, mu, tau, est, lo, hi, pit, ok))
    return pd.DataFrame(rows, columns=list(COLUMNS))
