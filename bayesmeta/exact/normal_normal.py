"""The normal-normal hierarchical model, computed exactly (1-D quadrature over tau).

Model (Roever 2020, J Stat Softw 93(6), section 2):

    y_i | theta_i ~ N(theta_i, s_i^2),  theta_i | mu, tau ~ N(mu, tau^2),
    mu ~ N(m0, s0^2) or flat,  tau ~ p(tau).

With V_i = s_i^2 + tau^2 and, for a normal mu prior, the prior treated as one more
"observation" (m0, s0^2) (terms j = 1..n, n = k or k + 1):

    P(tau) = sum_j 1/V_j,   M(tau) = sum_j y_j / V_j / P(tau),
    mu | tau, y ~ N(M, 1/P),
    log L(tau) = -1/2 [ (n-1) log 2 pi + sum_j log V_j + sum_j (y_j - M)^2 / V_j + log P ],

L(tau) = p(y | tau) with mu integrated out (for a flat mu prior: integrated against
Lebesgue measure, as in R bayesmeta). Then p(tau | y) ∝ p(tau) L(tau) and, with the
shrinkage factor B_i = s_i^2 / V_i,

    theta_i | tau, y ~ N(y_i - B_i (y_i - M), B_i tau^2 + B_i^2 / P),
    theta_new | tau, y ~ N(M, 1/P + tau^2).

Marginals of mu, theta_i, theta_new are tau-mixtures of these normals on the quadrature
rule of `bayesmeta.exact.quadrature.TauPosterior`.

Bayes factors follow R bayesmeta: BF(tau = 0) = L(0) / p(y) and
BF(mu = 0) = p(y | mu = 0) / p(y) with p(y) = integral p(tau) L(tau) dtau (both priors
proper); the "minimum" versions divide by the maximised likelihood instead.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import pandas as pd
from scipy import optimize

from bayesmeta.defaults import resolve_priors
from bayesmeta.errors import InputError
from bayesmeta.exact.marginal import Marginal, check_kind, check_level
from bayesmeta.exact.mixture import MixtureMarginal, NormalMixture, batch_summary, gauss_rule
from bayesmeta.exact.quadrature import TauPosterior
from bayesmeta.priors import Prior, learned_source, parse_prior
from bayesmeta.results import MetaResult
from bayesmeta.studies import check_magnitudes

if TYPE_CHECKING:
    from bayesmeta.studies import StudyTable

#: (tau node, term) cells per block of the vectorised sums (~32 MB of float64 each)
_BLOCK_CELLS = 1 << 22
#: above this many studies the study quantiles use a compressed tau rule (`_study_summary`)
_COMPRESS_K = 2000
_LOG_2PI = math.log(2.0 * math.pi)
COMPUTATION = "exact 1-D quadrature"
WEIGHT_TEXT = "posterior mean of the inverse-variance weights (R bayesmeta $weights)"


def validate_data(
    yi: Any, sei: Any, labels: Sequence[Any] | None = None
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Effects and standard errors as flat float arrays, plus study labels.

    Labels default to ``"1"``, ``"2"``, ...; InputError (naming the 1-based row and the
    column) for an empty input, unequal lengths, a non-finite value or a standard error <= 0.

    Examples:
        >>> from bayesmeta.exact.normal_normal import validate_data
        >>> y, s, labels = validate_data([0.1, -0.3], [0.2, 0.25])
        >>> labels
        ['1', '2']
        >>> validate_data([0.1, -0.3], [0.2, 0.0])
        Traceback (most recent call last):
        ...
        bayesmeta.errors.InputError: row 2, column 'sei': standard error must be > 0 (got 0.0)
    """
    try:
        y = np.asarray(yi, dtype=float).ravel()
        s = np.asarray(sei, dtype=float).ravel()
    except (TypeError, ValueError):
        raise InputError("yi and sei must be numbers") from None
    if y.size == 0:
        raise InputError("no studies: at least one estimate is needed")
    if y.size != s.size:
        raise InputError(f"yi has {y.size} values but sei has {s.size}")
    for name, arr in (("yi", y), ("sei", s)):
        bad = np.flatnonzero(~np.isfinite(arr))
        if bad.size:
            raise InputError(
                f"not a finite number: {arr[bad[0]]}", row=int(bad[0]) + 1, column=name
            )
    bad = np.flatnonzero(s <= 0)
    if bad.size:
        raise InputError(
            f"standard error must be > 0 (got {s[bad[0]]})", row=int(bad[0]) + 1, column="sei"
        )
    check_magnitudes(y, s, vcol="sei", se=True)
    if labels is None:
        lab = [str(i + 1) for i in range(y.size)]
    else:
        lab = [str(v) for v in labels]
        if len(lab) != y.size:
            raise InputError(f"{len(lab)} labels for {y.size} studies")
    return y, s, lab


def tail_ok(beta: float, log_decay: bool, j: int = 0) -> bool:
    """Is integral^inf tau^(beta + j) [(log tau)^-6] dtau finite?

    The tail of p(tau) L(tau) behaves as tau^beta (times (log tau)^-6 when ``log_decay``);
    j = 1, 2 ask whether E[tau^j] exists. Finite iff beta + j < -1, or = -1 with log decay.

    Examples:
        >>> from bayesmeta.exact.normal_normal import tail_ok
        >>> tail_ok(-2.0, False), tail_ok(-1.0, False), tail_ok(-1.0, True)
        (True, False, True)
        >>> tail_ok(-3.0, False, j=2)  # E[tau^2] needs beta < -3
        False
    """
    e = beta + j
    return e < -1.0 or (e == -1.0 and log_decay)


def propriety(prior: Prior, like_power: float, k: int, what: str) -> tuple[bool, bool]:
    """Check that p(tau) L(tau) is integrable (L ~ tau^-like_power); return moment flags.

    For large tau the prior decays as tau^a (``prior.tail_power``) and L(tau) as
    tau^-(k - number of flat effect parameters), so the posterior tail is tau^beta with
    beta = a - like_power (`tail_ok()`). Returns (E[tau] finite, E[tau^2] finite); raises
    InputError naming the smallest k for which the posterior is proper.

    Examples:
        >>> from bayesmeta.priors import parse_prior
        >>> from bayesmeta.exact.normal_normal import propriety
        >>> propriety(parse_prior("halfcauchy(0.5)", "tau"), 3, 3, "mu ~ normal(0, 4)")
        (True, True)
        >>> propriety(parse_prior("flat", "tau"), 1, 2, "a flat mu prior")
        Traceback (most recent call last):
        ...
        bayesmeta.errors.InputError: improper posterior: ... needs at least 3 studies (k = 2); ...
    """
    a = prior.tail_power
    beta = a - like_power
    if not tail_ok(beta, prior.tail_log_decay):
        deficit = like_power - k  # like_power = k - (number of flat effect parameters)
        kmin = math.floor(a + 1.0 - deficit) + 1
        raise InputError(
            f"improper posterior: the {prior.text} tau prior with {what} needs at least "
            f"{kmin} studies (k = {k}); use a proper tau prior such as halfnormal or halfcauchy"
        )
    return tail_ok(beta, prior.tail_log_decay, 1), tail_ok(beta, prior.tail_log_decay, 2)


def tau_scales(s: np.ndarray, y: np.ndarray, prior: Prior) -> list[float]:
    """Seeds for the mode search of p(tau | y): tau values where the posterior may live.

    min and max of the standard errors, the range of y (if > 0), the 0.1 %, 50 % and 99.9 %
    prior quantiles (proper priors) and the finite positive ends of the prior support.

    Examples:
        >>> import numpy as np
        >>> from bayesmeta.priors import parse_prior
        >>> from bayesmeta.exact.normal_normal import tau_scales
        >>> prior = parse_prior("halfnormal(0.5)", "tau")
        >>> [round(v, 4) for v in tau_scales(np.array([0.2, 0.3]), np.array([0.1, 0.5]), prior)]
        [0.2, 0.3, 0.4, 0.0006, 0.3372, 1.6452]
    """
    scales = [float(s.min()), float(s.max())]
    if y.size > 1 and np.ptp(y) > 0:
        scales.append(float(np.ptp(y)))
    if prior.proper:
        scales += [float(v) for v in prior.ppf([1e-3, 0.5, 0.999]) if 0 < v < np.inf]
    lo, hi = prior.support
    scales += [v for v in (lo, hi) if 0 < v < np.inf]
    return scales


class NormalNormal:
    """Exact posterior of the normal-normal random-effects model (see module docstring).

    Args:
        yi: study estimates y_i.
        sei: their standard errors s_i (> 0).
        tau_prior: prior text (`bayesmeta.priors.parse_prior`) or a `Prior`; default (None)
            the scale-aware rule of `bayesmeta.defaults`.
        mu_prior: ``"normal(m0, s0)"`` or ``"flat"``; default (None) ``"flat"``.
        labels: study labels (default ``"1"``, ``"2"``, ...).
        n: sample size per study (optional): the default tau prior then uses the
            unit-information SD (`bayesmeta.defaults`).
        measure: effect measure code (optional): a log-ratio measure selects the log-ratio
            default tau prior.
        order: Gauss-Legendre points per panel of the tau quadrature (default 12).

    Raises:
        InputError: bad data, or a posterior that is improper for this k and these priors.

    Same as R bayesmeta `bayesmeta(crins_es, tau.prior=function(t) dhalfnormal(t, scale=0.5),
    mu.prior.mean=0, mu.prior.sd=4)` on Crins et al. (2014): median of mu -1.5735, of tau
    0.3445, Bayes factors for tau = 0 and mu = 0 0.8832 and 0.003771:

    Examples:
        >>> from bayesmeta import datasets
        >>> from bayesmeta.effects import log_or
        >>> from bayesmeta.exact import NormalNormal
        >>> d = datasets.load("crins2014")
        >>> es = log_or(d["exp.AR.events"], ci=d["cont.AR.events"],
        ...             n1i=d["exp.total"], n2i=d["cont.total"])
        >>> fit = NormalNormal(es.yi, es.vi**0.5, "halfnormal(0.5)", "normal(0, 4)")
        >>> print(f"{fit.mu.median:.4f} {fit.tau.median:.4f}")
        -1.5735 0.3445
        >>> print(f"{fit.bayes_factor_tau0():.4f} {fit.bayes_factor_mu0():.6f}")
        0.8832 0.003771
    """

    def __init__(
        self,
        yi: Any,
        sei: Any,
        tau_prior: str | Prior | None = None,
        mu_prior: str | Prior | None = None,
        labels: Sequence[Any] | None = None,
        *,
        n: Any = None,
        measure: str | None = None,
        order: int = 12,
    ) -> None:
        y, s, lab = validate_data(yi, sei, labels)
        self.y, self.s, self.labels = y, s, lab
        self.measure = None if measure is None else str(measure).strip().upper()
        self.k = y.size
        mu_given, tau_given, self.prior_note = resolve_priors(
            mu_prior, tau_prior, s, n=n, measure=measure
        )
        self.tau_prior = parse_prior(cast("str | Prior", tau_given), "tau").bind(s)
        self.mu_prior = parse_prior(cast("str | Prior", mu_given), "mu")
        if not self.mu_prior.exact_mu:
            raise InputError(
                f"the exact engine integrates mu in closed form under a normal or flat prior, "
                f"not {self.mu_prior.text}: use the PyMC engine (--engine pymc)"
            )
        flat_mu = self.mu_prior.family == "flat"
        what = "a flat mu prior" if flat_mu else f"mu ~ {self.mu_prior.text}"
        self._tau_m1, self._tau_m2 = propriety(
            self.tau_prior, self.k - (1 if flat_mu else 0), self.k, what
        )
        if flat_mu:
            self._yt, self._st2 = y, s**2
        else:
            m0, s0 = self.mu_prior.params
            self._yt = np.concatenate([y, [m0]])
            self._st2 = np.concatenate([s**2, [s0**2]])
        self._flat_mu = flat_mu
        self.tau = TauPosterior(
            self._logq,
            self.tau_prior.support,
            tau_scales(s, y, self.tau_prior),
            order=order,
            moments=(self._tau_m1, self._tau_m2),
        )
        self._mix: NormalMixture | None = None

    @classmethod
    def from_table(
        cls,
        table: StudyTable,
        tau_prior: str | Prior | None = None,
        mu_prior: str | Prior | None = None,
        *,
        order: int = 12,
    ) -> NormalNormal:
        """The posterior for a `bayesmeta.StudyTable`: its labels, and its sample sizes and
        measure for the default priors.

        Examples:
            >>> from bayesmeta.exact import NormalNormal
            >>> from bayesmeta.inputs import load_studies
            >>> t = load_studies("rubin1981")
            >>> fit = NormalNormal.from_table(t)
            >>> fit.labels[:3], fit.mu_prior.text, round(fit.mu.median, 2)  # R bayesmeta: 8.05
            (['A', 'B', 'C'], 'flat', 8.05)
        """
        return cls(
            table.yi,
            table.sei,
            tau_prior,
            mu_prior,
            table.study.tolist(),
            n=table.ni,
            measure=table.measure,
            order=order,
        )

    def __repr__(self) -> str:
        return (
            f"NormalNormal(k={self.k}, tau_prior={self.tau_prior.text!r}, "
            f"mu_prior={self.mu_prior.text!r})"
        )

    def __str__(self) -> str:
        return self.to_result().format()

    def _repr_html_(self) -> str:
        return self.to_result()._repr_html_()

    # ---- conditional quantities ----------------------------------------------------
    def _terms(self, tau: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Variances V (…, n) of the n terms (the mu prior's variance does not grow)."""
        t2 = np.asarray(tau, dtype=float)[..., None] ** 2
        v = self._st2 + t2
        if not self._flat_mu:
            v[..., -1] = self._st2[-1]
        return v, 1.0 / v

    def _blocks(self, tau: np.ndarray) -> list[np.ndarray]:
        """tau (1-D) in blocks of at most ~2^22 (tau, term) cells, so memory stays O(k)."""
        size = max(1, _BLOCK_CELLS // max(1, self._yt.size))
        return [tau[i : i + size] for i in range(0, tau.size, size)] or [tau]

    def conditional_mu(self, tau: Any) -> tuple[np.ndarray, np.ndarray]:
        """Mean M(tau) and variance 1/P(tau) of mu | tau, y."""
        tau = np.asarray(tau, dtype=float)
        flat = tau.reshape(-1)
        m, p = np.empty(flat.size), np.empty(flat.size)
        i = 0
        for blk in self._blocks(flat):
            _, iv = self._terms(blk)
            pb = iv.sum(axis=-1)
            m[i : i + blk.size], p[i : i + blk.size] = (iv @ self._yt) / pb, pb
            i += blk.size
        return m.reshape(tau.shape), (1.0 / p).reshape(tau.shape)

    def log_likelihood(self, tau: Any) -> np.ndarray:
        """log L(tau) = log p(y | tau), mu integrated out (see module docstring)."""
        tau = np.asarray(tau, dtype=float)
        flat = tau.reshape(-1)
        out = np.empty(flat.size)
        n = self._yt.size
        i = 0
        for blk in self._blocks(flat):
            v, iv = self._terms(blk)
            p = iv.sum(axis=-1)
            m = (iv @ self._yt) / p
            rss = ((self._yt - m[..., None]) ** 2 * iv).sum(axis=-1)
            out[i : i + blk.size] = -0.5 * (
                (n - 1) * _LOG_2PI + np.log(v).sum(axis=-1) + rss + np.log(p)
            )
            i += blk.size
        return out.reshape(tau.shape)

    def _logq(self, tau: np.ndarray) -> np.ndarray:
        return self.tau_prior.logpdf(tau) + self.log_likelihood(tau)

    # ---- marginals -----------------------------------------------------------------
    @property
    def mixture(self) -> NormalMixture:
        """Rows: mu, theta_new (the study effects: `study_mixture`)."""
        if self._mix is None:
            t = self.tau.nodes
            m, v = self._conditional_at(t)
            m1, m2 = self._tau_m1, self._tau_m2
            flat = self._flat_mu
            self._mix = NormalMixture(
                self.tau.weights,
                np.vstack([m, m]),
                np.sqrt(np.vstack([v, v + t**2])),
                ["mu", "theta_new"],
                [m1 or not flat, m1],
                [m2 or not flat, m2],
            )
        return self._mix

    def _conditional_at(self, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """`conditional_mu` at quadrature nodes, computed once per node set."""
        cache = self.__dict__.setdefault("_conditional", {})
        key = t.tobytes()
        if key not in cache:
            cache[key] = self.conditional_mu(t)
        return cast("tuple[np.ndarray, np.ndarray]", cache[key])

    def study_mixture(
        self, rows: Any, rule: tuple[np.ndarray, np.ndarray] | None = None
    ) -> NormalMixture:
        """The shrunken effects theta_i of the studies ``rows`` (0-based) as mixture rows:
        given tau, theta_i ~ N(y_i - B_i (y_i - M), B_i tau^2 + B_i^2 / P), B_i =
        s_i^2 / (s_i^2 + tau^2) (module docstring); ``rule`` (nodes, weights) replaces the
        tau quadrature (default: the posterior's own nodes)."""
        rows = np.atleast_1d(np.asarray(rows, dtype=int))
        t, w = rule if rule is not None else (self.tau.nodes, self.tau.weights)
        m, v = self._conditional_at(t)
        t2 = t**2
        s2 = self.s[rows, None] ** 2
        y = self.y[rows, None]
        b = s2 / (s2 + t2[None, :])  # (rows, N)
        means = y - b * (y - m[None, :])
        sds = np.sqrt(b * t2[None, :] + b**2 * v[None, :])
        names = [f"theta[{self.labels[i]}]" for i in rows]
        return NormalMixture(w, means, sds, names)

    def posterior_weights(self) -> np.ndarray:
        """Percent weights of the studies (then of the prior mean, for a normal mu prior) in
        the posterior mean of mu: E[w_i(tau) | y] with w_i(tau) = (s_i^2 + tau^2)^-1 / sum_j
        (s_j^2 + tau^2)^-1, the prior mean weighted by 1/s0^2 (R bayesmeta ``$weights``;
        Roever 2020, JSS 93(6), section 2.4). They sum to 100.

        Examples:
            >>> from bayesmeta.exact import NormalNormal
            >>> fit = NormalNormal([0.1, 0.5, 0.2], [0.1, 0.2, 0.3], "halfnormal(0.5)")
            >>> w = fit.posterior_weights()
            >>> bool(w[0] > w[1] > w[2]), round(float(w.sum()), 10)
            (True, 100.0)
        """
        t2, w = self.tau.nodes**2, self.tau.weights
        s2 = self._st2[: self.k]
        size = max(1, _BLOCK_CELLS // max(1, t2.size))  # memory O(k), not O(k x nodes)
        blocks = [slice(i, min(i + size, self.k)) for i in range(0, self.k, size)]
        total = np.zeros_like(t2)
        for b in blocks:
            total += np.sum(1.0 / (s2[b, None] + t2[None, :]), axis=0)
        prior = 0.0 if self._flat_mu else 1.0 / self._st2[-1]  # tau-free prior-mean weight
        total += prior
        parts = [(1.0 / (s2[b, None] + t2[None, :]) / total) @ w for b in blocks]
        if not self._flat_mu:
            parts.append(np.array([prior / total @ w]))
        return 100.0 * np.concatenate(parts)

    def _densities(self, points: int = 300) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """Density curves of mu, tau and theta_new on their 0.1 %-99.9 % ranges."""
        out: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        for name, marg in (("mu", self.mu), ("tau", self.tau), ("theta_new", self.theta_new)):
            lo, hi = marg.quantile([0.001, 0.999])
            x = np.linspace(0.0 if name == "tau" else float(lo), float(hi), points)
            out[name] = (x, np.asarray(marg.pdf(x), float))
        return out

    def _study_summary(self, level: float, interval: str) -> dict[str, np.ndarray]:
        """`batch_summary` of every study, in blocks (memory O(k), not O(k x nodes)).

        Many studies (k > 2000, central intervals): the quantiles use an 8- (else 16-) point
        Gauss rule of p(tau | y)'s own quadrature (`gauss_rule`), accepted only if on the 200
        smallest-s, 200 largest-s and 200 random studies it matches the full mixture
        (|F(q) - p| <= 1e-10); otherwise every study uses the full mixture. Means and SDs
        always use the full quadrature.
        """
        size = max(1, _BLOCK_CELLS // max(1, self.tau.nodes.size))
        blocks = [np.arange(i, min(i + size, self.k)) for i in range(0, self.k, size)]
        rule = None
        if self.k > _COMPRESS_K and interval == "central":
            for n in (8, 16):
                rule = gauss_rule(self.tau.nodes, self.tau.weights, n)
                if self._rule_ok(rule, level):
                    break
                rule = None
        if rule is None:
            parts = [batch_summary(self.study_mixture(b), level, interval) for b in blocks]
            return {key: np.concatenate([p[key] for p in parts]) for key in parts[0]}
        probs = [0.5, (1.0 - level) / 2.0, (1.0 + level) / 2.0]
        keys = ("mean", "sd", "median", "ci_low", "ci_high")
        out: dict[str, list[np.ndarray]] = {key: [] for key in keys}
        t, w = self.tau.nodes, self.tau.weights
        m, v = self._conditional_at(t)
        used = w > 1e-18 * w.max()  # as `NormalMixture` prunes
        t, w, m, v = t[used], w[used], m[used], v[used]
        t2 = t**2
        for b in blocks:
            s2 = self.s[b, None] ** 2
            shrink = s2 / (s2 + t2[None, :])
            means = self.y[b, None] - shrink * (self.y[b, None] - m[None, :])
            mean = means @ w
            means -= mean[:, None]
            out["mean"].append(mean)
            out["sd"].append(np.sqrt((shrink * t2 + shrink**2 * v + means**2) @ w))
            small = self.study_mixture(b, rule)
            r = np.arange(b.size)
            q = small.quantile(np.repeat(r, 3), np.tile(probs, b.size)).reshape(-1, 3)
            out["median"].append(q[:, 0])
            out["ci_low"].append(q[:, 1])
            out["ci_high"].append(q[:, 2])
        return {key: np.concatenate(val) for key, val in out.items()}

    def _rule_ok(self, rule: tuple[np.ndarray, np.ndarray], level: float) -> bool:
        """Does the compressed rule give every checked study's quantiles to 1e-10 in F?"""
        order = np.argsort(self.s, kind="stable")
        rng = np.random.default_rng(0)
        rows = np.unique(
            np.concatenate([order[:200], order[-200:], rng.choice(self.k, 200, replace=False)])
        )
        probs = np.array([0.5, (1.0 - level) / 2.0, (1.0 + level) / 2.0])
        r = np.repeat(np.arange(rows.size), 3)
        p = np.tile(probs, rows.size)
        q = self.study_mixture(rows, rule).quantile(r, p)
        full = self.study_mixture(rows)
        err = np.where(p > 0.5, np.abs(full.sf(r, q) - (1.0 - p)), np.abs(full.cdf(r, q) - p))
        return bool(np.all(np.isfinite(q)) and np.max(err) <= 1e-10)

    @property
    def mu(self) -> Marginal:
        """The overall mean effect mu."""
        return self._marginal(0)

    @property
    def theta_new(self) -> Marginal:
        """The effect in a new study (posterior predictive)."""
        return self._marginal(1)

    def theta(self, i: int | str) -> Marginal:
        """The shrunken effect of study i (0-based index or label)."""
        if isinstance(i, str):
            if i not in self.labels:
                raise InputError(f"no study labelled {i!r}")
            i = self.labels.index(i)
        if not -self.k <= int(i) < self.k:
            raise InputError(f"study index {i} out of range (k = {self.k})")
        return self._marginal(2 + int(i) % self.k)

    def _marginal(self, row: int) -> MixtureMarginal:
        cache = self.__dict__.setdefault("_marginals", {})
        if row not in cache:
            if row < 2:
                cache[row] = MixtureMarginal(self.mixture, row, self.mixture.names[row])
            else:
                mix = self.study_mixture([row - 2])
                cache[row] = MixtureMarginal(mix, 0, mix.names[0])
        return cache[row]

    # ---- evidence ------------------------------------------------------------------
    @property
    def proper(self) -> bool:
        """Are both priors proper (needed for the marginal likelihood)?"""
        return self.tau_prior.proper and self.mu_prior.proper

    @property
    def log_marginal_likelihood(self) -> float:
        """log p(y) = log integral p(tau) L(tau) dtau; nan if a prior is improper."""
        return self.tau.log_norm if self.proper else math.nan

    def _ml_tau(self) -> float:
        """max over tau of log L(tau)."""
        grid = np.concatenate([[0.0], self.tau.nodes])
        ll = self.log_likelihood(grid)
        j = int(np.argmax(ll))
        if j == 0:
            return float(ll[0])
        lo, hi = grid[j - 1], grid[min(j + 1, grid.size - 1)]
        res = optimize.minimize_scalar(
            lambda t: -float(self.log_likelihood(np.array([t]))[0]),
            bounds=(lo, hi),
            method="bounded",
            options={"xatol": 1e-10 * hi},
        )
        return max(float(ll[j]), -float(res.fun))

    def bayes_factor_tau0(self, kind: str = "actual") -> float:
        """BF01 for tau = 0: L(0) / p(y) ("actual") or L(0) / max L ("minimum").

        Needs a proper mu prior (and for "actual" a proper tau prior); nan otherwise,
        as in R bayesmeta.
        """
        if kind not in ("actual", "minimum"):
            raise InputError("Bayes factor kind must be 'actual' or 'minimum'")
        if not self.mu_prior.proper:
            return math.nan
        l0 = float(self.log_likelihood(np.array([0.0]))[0])
        if kind == "minimum":
            return math.exp(l0 - self._ml_tau())
        return math.exp(l0 - self.log_marginal_likelihood) if self.proper else math.nan

    def _log_lik_mu(self, mu: float) -> float:
        """log integral p(tau) prod_i N(y_i | mu, s_i^2 + tau^2) dtau (proper tau prior)."""
        y, s2 = self.y, self.s**2

        def logq(tau: np.ndarray) -> np.ndarray:
            v = s2 + np.asarray(tau)[..., None] ** 2
            ll = -0.5 * (y.size * _LOG_2PI + np.log(v).sum(-1) + ((y - mu) ** 2 / v).sum(-1))
            return self.tau_prior.logpdf(tau) + ll

        scales = tau_scales(self.s, np.append(y, mu), self.tau_prior)
        return TauPosterior(logq, self.tau_prior.support, scales, order=self.tau.order).log_norm

    def bayes_factor_mu0(self, kind: str = "actual") -> float:
        """BF01 for mu = 0: p(y | mu = 0) / p(y) ("actual", both priors proper) or
        p(y | mu = 0) / max_mu p(y | mu) ("minimum", proper tau prior); nan otherwise."""
        if kind not in ("actual", "minimum"):
            raise InputError("Bayes factor kind must be 'actual' or 'minimum'")
        if not self.tau_prior.proper:
            return math.nan
        l0 = self._log_lik_mu(0.0)
        if kind == "actual":
            return math.exp(l0 - self.log_marginal_likelihood) if self.proper else math.nan
        med, sd = self.mu.median, min(self.mu.sd, float(np.ptp(self.y)) + float(self.s.max()))
        res = optimize.minimize_scalar(
            lambda m: -self._log_lik_mu(m),
            bounds=(med - 3 * sd, med + 3 * sd),
            method="bounded",
            options={"xatol": 1e-8 * (sd + abs(med))},
        )
        return math.exp(l0 + float(res.fun))

    # ---- results -------------------------------------------------------------------
    def studies(self, level: float = 0.95, interval: str = "central") -> pd.DataFrame:
        """Shrunken study effects: study, yi, sei, mean, sd, median, ci_low, ci_high."""
        level, interval = check_level(level), check_kind(interval)
        return pd.DataFrame(
            {
                "study": self.labels,
                "yi": self.y,
                "sei": self.s,
                **self._study_summary(level, interval),
                "weight": self.posterior_weights()[: self.k],
            }
        )

    # ---- exact joint draws ---------------------------------------------------------
    def draws(self, n: int, rng: np.random.Generator | int | None = None) -> dict[str, np.ndarray]:
        """``n`` independent draws from the exact joint posterior (NumPy; no MCMC).

        tau = F^-1(U) with U ~ U(0, 1) (inverse CDF of p(tau | y)), then, given tau,
        mu ~ N(M, 1/P), theta_i ~ N(y_i - B_i (y_i - mu), B_i tau^2) (given mu; B_i =
        s_i^2 / (s_i^2 + tau^2); theta_i = mu at tau = 0) and theta_new ~ N(mu, tau^2): the
        conditionals of the module docstring, so any joint functional (e.g. a contrast of two
        studies) has the right distribution.

        Returns:
            ``{"tau": (n,), "mu": (n,), "theta_new": (n,), "theta": (n, k)}``.

        Examples:
            >>> import numpy as np
            >>> from bayesmeta.exact import NormalNormal
            >>> nn = NormalNormal([0.1, 0.5, 0.9], [0.2, 0.2, 0.3], "halfnormal(0.5)",
            ...                   "normal(0, 4)")
            >>> d = nn.draws(20000, rng=1)
            >>> d["theta"].shape
            (20000, 3)
            >>> print(f"{d['mu'].mean():.2f} {nn.mu.mean:.2f}")
            0.45 0.45
        """
        if not (isinstance(n, (int, np.integer)) and n >= 1):
            raise InputError(f"the number of draws must be a whole number >= 1 (got {n!r})")
        gen = np.random.default_rng(rng)
        tau = np.asarray(self.tau.quantile(gen.uniform(size=n)), dtype=float)
        m, v = self.conditional_mu(tau)
        mu = gen.normal(m, np.sqrt(v))
        t2 = tau[:, None] ** 2
        s2 = self.s[None, :] ** 2
        b = s2 / (s2 + t2)
        theta = gen.normal(self.y[None, :] - b * (self.y[None, :] - mu[:, None]), np.sqrt(b * t2))
        theta_new = gen.normal(mu, tau)
        return {"tau": tau, "mu": mu, "theta_new": theta_new, "theta": theta}

    def sample(
        self, draws: int = 1000, chains: int = 4, seed: int | np.random.Generator | None = None
    ) -> Any:
        """Exact joint draws as an ArviZ `xarray.DataTree`, shaped like a PyMC fit's.

        Groups: ``posterior`` (mu, tau, theta_new, theta with dim ``study``; ``chains`` x
        ``draws`` independent draws from `draws()`), ``log_likelihood`` (``y_obs`` =
        log N(y_i | theta_i, s_i^2), the convention of `bayesmeta.hierarchical`),
        ``observed_data`` (``y_obs``) and ``constant_data`` (``sei``). ArviZ tools (plots,
        `summary`, `loo`) then work on the exact posterior; the draws are independent, so
        the effective sample size is the number of draws.

        Examples:
            >>> import arviz as az
            >>> from bayesmeta import datasets
            >>> from bayesmeta.exact import NormalNormal
            >>> d = datasets.load("rubin1981")
            >>> nn = NormalNormal(d.effect, d.stderr, "halfcauchy(25)", "flat", labels=d.school)
            >>> tree = nn.sample(draws=1000, chains=4, seed=1)
            >>> sorted(tree.children)
            ['constant_data', 'log_likelihood', 'observed_data', 'posterior']
            >>> dict(tree["posterior"]["theta"].sizes)
            {'chain': 4, 'draw': 1000, 'study': 8}
            >>> print(f"{float(tree['posterior']['mu'].median()):.1f} {nn.mu.median:.1f}")
            8.0 8.0
        """
        import xarray as xr

        if not (isinstance(chains, (int, np.integer)) and chains >= 1):
            raise InputError(f"chains must be a whole number >= 1 (got {chains!r})")
        if not (isinstance(draws, (int, np.integer)) and draws >= 1):
            raise InputError(f"draws must be a whole number >= 1 (got {draws!r})")
        d = self.draws(int(chains) * int(draws), seed)
        shape = (int(chains), int(draws))
        coords = {"chain": np.arange(shape[0]), "draw": np.arange(shape[1]),
                  "study": list(self.labels)}  # fmt: skip
        cd = ("chain", "draw")
        theta = d["theta"].reshape(*shape, self.k)
        post = xr.Dataset(
            {
                "mu": (cd, d["mu"].reshape(shape)),
                "tau": (cd, d["tau"].reshape(shape)),
                "theta_new": (cd, d["theta_new"].reshape(shape)),
                "theta": ((*cd, "study"), theta),
            },
            coords=coords,
        )
        ll = -0.5 * (_LOG_2PI + np.log(self.s**2) + (self.y - theta) ** 2 / self.s**2)
        return xr.DataTree.from_dict(
            {
                "/posterior": post,
                "/log_likelihood": xr.Dataset({"y_obs": ((*cd, "study"), ll)}, coords=coords),
                "/observed_data": xr.Dataset(
                    {"y_obs": ("study", self.y)}, coords={"study": coords["study"]}
                ),
                "/constant_data": xr.Dataset(
                    {"sei": ("study", self.s)}, coords={"study": coords["study"]}
                ),
            }
        )

    def to_result(self, level: float = 0.95, interval: str = "central") -> MetaResult:
        """The exact posterior as a `bayesmeta.results.MetaResult`.

        estimate / se / ci = median, SD and interval of mu; tau2 = median(tau)^2 with the
        squared tau interval; pi = interval of theta_new; ``posterior`` rows mu, tau, theta_new.
        """
        level, interval = check_level(level), check_kind(interval)
        summ = batch_summary(self.mixture, level, interval)
        tau = self.tau
        t_lo, t_hi = tau.interval(level, interval)
        t_med = tau.median
        post = pd.DataFrame(
            {
                "mean": [summ["mean"][0], tau.mean, summ["mean"][1]],
                "sd": [summ["sd"][0], tau.sd, summ["sd"][1]],
                "median": [summ["median"][0], t_med, summ["median"][1]],
                "ci_low": [summ["ci_low"][0], t_lo, summ["ci_low"][1]],
                "ci_high": [summ["ci_high"][0], t_hi, summ["ci_high"][1]],
            },
            index=pd.Index(["mu", "tau", "theta_new"], name="param"),
        )
        studies = pd.DataFrame(
            {
                "study": self.labels,
                "yi": self.y,
                "vi": self.s**2,
                **self._study_summary(level, interval),
                "weight": self.posterior_weights()[: self.k],
            }
        )
        warnings = []
        if not (self._tau_m1 and self._tau_m2):
            warnings.append(
                "the posterior of tau has a heavy tail: some posterior means / SDs do not "
                "exist (reported as nan / inf)"
            )
        return MetaResult(
            engine="exact",
            method="normal-normal",
            ci_method=interval,
            k=self.k,
            estimate=float(summ["median"][0]),
            se=float(summ["sd"][0]),
            ci_low=float(summ["ci_low"][0]),
            ci_high=float(summ["ci_high"][0]),
            level=level,
            tau2=t_med**2,
            tau2_ci_low=t_lo**2,
            tau2_ci_high=t_hi**2,
            pi_low=float(summ["ci_low"][1]),
            pi_high=float(summ["ci_high"][1]),
            studies=studies,
            settings={
                "mu_prior": self.mu_prior.text,
                "tau_prior": self.tau_prior.text,
                **({"default_prior": self.prior_note} if self.prior_note else {}),
                **learned_source(self.mu_prior, self.tau_prior),
                "interval": interval,
                "computation": COMPUTATION,
                "weight": WEIGHT_TEXT,
            },
            posterior=post,
            measure=self.measure,
            density_source=self._densities,
            diagnostics={"tau_nodes": int(tau.nodes.size), "tau_panels": int(tau.edges.size - 1)},
            warnings=warnings,
            extra={
                "p_mu_gt_0": float(1.0 - self.mu.cdf(0.0)),
                "log_marginal_likelihood": self.log_marginal_likelihood,
                "tau_prior_note": self.tau_prior.note,
            },
        )
