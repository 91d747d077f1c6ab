"""Bayesian network meta-analysis in PyMC after the NICE DSU Technical Support Document 2
(Dias, Welton, Sutton & Ades 2011, updated 2016).

Likelihoods (TSD2 section 2-3): binary arms with ``measure="OR"``: r_ik ~ Binomial(n_ik,
p_ik), logit p_ik = mu_i + delta_ik; continuous arms with ``"MD"``: ybar_ik ~ N(mu_i +
delta_ik, sd_ik^2/n_ik); otherwise (contrast data, RR, RD, SMD, HR) the study's contrasts
against its baseline arm, y_i ~ MvNormal(delta_i, V_i) with the known V_i entering by
whitening. Study baselines mu_i are nuisance parameters with flat priors, as are the basic
effects d_t (d_reference = 0; TSD2's N(0, 100^2) is practically the same).

Random effects: delta_i,k = d_t(ik) - d_t(i1) + tau * (L z_i)_k with L the Cholesky factor
of the (a_i - 1)-square matrix with 1 on the diagonal and 1/2 off it (the multi-arm
correlation of 1/2; non-centred); fixed effect: tau = 0. tau's prior: ``tau_prior`` (TSD2:
``uniform(0, 5)``), by default the package's scale-safe rule (`bayesmeta.defaults`).

Reported: effects against the reference (median and central interval), tau, rank
probabilities (rank 1 = best; larger effects better unless ``smaller_better``), SUCRA
(Salanti 2011: the mean of the cumulative rank probabilities over ranks 1..n-1) and mean
ranks, the residual deviance of every arm (TSD2 eq. 12, posterior mean) and DIC (Spiegelhalter
2002, pD = Dbar - D(theta_bar) at the posterior mean of the fitted values), node-splitting
for every comparison with direct and indirect evidence (Dias et al. 2010, Stat Med 29:932:
in studies with both treatments the direct contrast gets its own parameter; the Bayesian
p-value is 2 min(P(d_dir > d_ind), P(<))), and the unrelated-mean-effects model with its
DIC. Draws: 4 chains until every reported effect has at least 4,000 effective draws, so
that the Monte Carlo error of a quantile is well under a tenth of its posterior SD.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from bayesmeta.errors import InputError

MIN_ESS = 4000


@dataclass
class _Arms:
    """Per study: treatment indices (baseline first) and the data of the likelihood."""

    kind: str  # "binomial", "normal", "contrast"
    studies: list[str]
    tix: list[np.ndarray]
    data: list[Any]


def _layout(c: Any, treatments: list[str]) -> _Arms:
    """Study-wise treatment indices and likelihood data from `Contrasts` (with arms)."""
    index = {t: i for i, t in enumerate(treatments)}
    if c.raw is not None and c.measure in ("OR", "MD"):
        raw = c.raw
        tix, data = [], []
        for s in c.studies:
            rows = [i for i, v in enumerate(raw["study"]) if v == s]
            tix.append(np.array([index[raw["treatment"][i]] for i in rows]))
            if c.measure == "OR":
                data.append(
                    (
                        np.array([raw["events"][i] for i in rows], float),
                        np.array([raw["n"][i] for i in rows], float),
                    )
                )
            else:
                var = [raw["sd"][i] ** 2 / raw["n"][i] for i in rows]
                data.append((np.array([raw["mean"][i] for i in rows], float), np.array(var, float)))
        return _Arms("binomial" if c.measure == "OR" else "normal", c.studies, tix, data)
    tix, data = [], []
    for s in c.studies:
        rows = [i for i, v in enumerate(c.study) if v == s]
        tix.append(np.array([index[c.t1[rows[0]]], *[index[c.t2[i]] for i in rows]]))
        data.append((c.yi[rows], c.V[np.ix_(rows, rows)]))
    return _Arms("contrast", c.studies, tix, data)


def _build(
    layout: _Arms,
    nt: int,
    tau_prior: Any,
    *,
    fixed: bool = False,
    split: tuple[int, int] | None = None,
    ume: bool = False,
    d_sd: float | None = None,
) -> Any:
    """The PyMC model; ``split=(x, y)``: node-splitting of x vs y; ``ume``: unrelated mean
    effects (one parameter per baseline comparison); ``d_sd``: N(0, d_sd^2) priors on the
    effects instead of flat ones (simulation-based calibration needs proper priors).
    Contrast data enter as ``pm.Data("yobs_<study>")`` (whitened), so one compiled model
    serves replicate data sets."""
    import pymc as pm
    import pytensor.tensor as pt

    groups: dict[int, list[int]] = {}
    for i, t in enumerate(layout.tix):
        groups.setdefault(len(t), []).append(i)
    comps: dict[tuple[int, int], int] = {}
    if ume:
        for t in layout.tix:
            for k in t[1:]:
                comps.setdefault((int(t[0]), int(k)), len(comps))
    with pm.Model() as model:
        if ume:
            d = pt.zeros(nt)  # unused: one free effect per baseline comparison instead
        else:
            d_free = (
                pm.Flat("d_free", shape=nt - 1)
                if d_sd is None
                else pm.Normal("d_free", 0.0, d_sd, shape=nt - 1)
            )
            d = pt.concatenate([pt.zeros(1), d_free])
            pm.Deterministic("d", d)
        tau = None if fixed else tau_prior.to_pymc("tau")
        d_dir = pm.Flat("d_direct") if split is not None else None
        u = pm.Flat("u", shape=len(comps)) if ume else None
        fitted: list[Any] = []
        order: list[int] = []
        for a, members in sorted(groups.items()):
            tix = np.array([layout.tix[i] for i in members])  # (m, a)
            base = d[tix[:, 1:]] - d[tix[:, :1]]
            if u is not None:
                cidx = np.array([[comps[(int(r[0]), int(k))] for k in r[1:]] for r in tix])
                base = u[cidx]
            if split is not None:
                x, y = split
                for row, r in enumerate(tix):
                    ts = [int(v) for v in r]
                    if ts[0] == x and y in ts:  # x is the baseline here (see _reorder)
                        col = ts.index(y) - 1
                        base = pt.set_subtensor(base[row, col], d_dir)
            if tau is not None and a > 1:
                L = np.linalg.cholesky(0.5 * (np.eye(a - 1) + np.ones((a - 1, a - 1))))
                z = pm.Normal(f"z_{a}", 0.0, 1.0, shape=(len(members), a - 1))
                delta = base + tau * pt.dot(z, L.T)
            else:
                delta = base
            fitted.append(delta)
            order += members
            if layout.kind == "contrast":
                for row, i in enumerate(members):
                    y, V = layout.data[i]
                    W = np.linalg.inv(np.linalg.cholesky(V))
                    obs_i = pm.Data(f"yobs_{i}", W @ y)
                    pm.Normal(f"y_{i}", mu=pt.dot(W, delta[row]), sigma=1.0, observed=obs_i)
            else:
                mu = pm.Flat(f"mu_{a}", shape=len(members))
                lin = pt.concatenate([mu[:, None], mu[:, None] + delta], axis=1)
                obs = np.array([layout.data[i][0] for i in members])
                aux = np.array([layout.data[i][1] for i in members])
                if layout.kind == "binomial":
                    p = pm.math.invlogit(lin)
                    pm.Deterministic(f"p_{a}", p)
                    pm.Binomial(f"r_{a}", n=aux, p=p, observed=obs)
                else:
                    pm.Deterministic(f"theta_{a}", lin)
                    pm.Normal(f"ybar_{a}", mu=lin, sigma=np.sqrt(aux), observed=obs)
    return model


def _reorder(layout: _Arms, x: int, y: int) -> _Arms:
    """The same data with x as the baseline arm of every study holding both x and y (the
    random-effects model is exchangeable in the arms, so this changes nothing but lets the
    x-y contrast be split; Dias et al. 2010)."""
    tix, data = [], []
    for t, dat in zip(layout.tix, layout.data, strict=True):
        ts = [int(v) for v in t]
        if x in ts and y in ts and ts[0] != x:
            j = ts.index(x)
            perm = [j, *[i for i in range(len(ts)) if i != j]]
            t = t[perm]
            if layout.kind == "contrast":
                raise InputError("node-splitting of contrast data needs the study's baseline arm")
            dat = (dat[0][perm], dat[1][perm])
        tix.append(t)
        data.append(dat)
    return _Arms(layout.kind, layout.studies, tix, data)


def _sample(model: Any, draws: int, chains: int, seed: int, progress: bool) -> tuple[Any, Any]:
    from bayesmeta.hierarchical.compiled import compile_model
    from bayesmeta.hierarchical.trace import sample_nutpie

    compiled = compile_model(model)
    return sample_nutpie(
        compiled,
        draws=draws,
        tune=1000,
        chains=chains,
        cores=min(chains, 2),
        seed=seed,
        progress_bar=progress,
        target_accept=0.95,
    )


def _binomial_deviance(r: np.ndarray, n: np.ndarray, rhat: np.ndarray) -> np.ndarray:
    """2 [r log(r / rhat) + (n - r) log((n - r) / (n - rhat))] (TSD2 eq. 12)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        t1 = np.where(r > 0, r * np.log(r / rhat), 0.0)
        t2 = np.where(n - r > 0, (n - r) * np.log((n - r) / (n - rhat)), 0.0)
    return np.asarray(2 * (t1 + t2))


def _deviance(layout: _Arms, post: Any) -> tuple[np.ndarray, np.ndarray, list[tuple[str, int]]]:
    """Residual deviance per arm (posterior mean) and at the posterior-mean fit."""
    groups: dict[int, list[int]] = {}
    for i, t in enumerate(layout.tix):
        groups.setdefault(len(t), []).append(i)
    dev_mean, dev_plug, labels = [], [], []
    for a, members in sorted(groups.items()):
        obs = np.array([layout.data[i][0] for i in members])
        aux = np.array([layout.data[i][1] for i in members])
        if layout.kind == "binomial":
            p = np.asarray(post[f"p_{a}"].values)  # (chain, draw, m, a)
            rhat = aux * p
            dm = _binomial_deviance(obs, aux, rhat).mean(axis=(0, 1))
            dp = _binomial_deviance(obs, aux, rhat.mean(axis=(0, 1)))
        else:
            th = np.asarray(post[f"theta_{a}"].values)
            dm = ((obs - th) ** 2 / aux).mean(axis=(0, 1))
            dp = (obs - th.mean(axis=(0, 1))) ** 2 / aux
        for row, i in enumerate(members):
            for k in range(a):
                dev_mean.append(dm[row, k])
                dev_plug.append(dp[row, k])
                labels.append((layout.studies[i], k))
    return np.array(dev_mean), np.array(dev_plug), labels


@dataclass
class BayesianNetwork:
    """Posterior of the TSD2 network model with rankings, deviance, node-splits, UME.

    Examples:
        >>> import numpy as np
        >>> from bayesmeta.hierarchical.network import BayesianNetwork
        >>> d = np.zeros((1, 4, 2))
        >>> d[..., 1] = [0.5, 0.7, -0.1, 0.9]
        >>> b = BayesianNetwork(["A", "B"], "A", d, None, 0.95, False, {}, "none", "normal")
        >>> b.to_dict()["sucra"]
        {'A': 0.25, 'B': 0.75}
    """

    treatments: list[str]
    reference: str
    d: np.ndarray  # (chain, draw, nt) against the reference
    tau: np.ndarray | None
    level: float
    smaller_better: bool
    diagnostics: dict[str, Any]
    prior: str
    likelihood: str
    resdev: dict[str, Any] = field(default_factory=dict)
    node_split: list[dict[str, Any]] = field(default_factory=list)
    ume: dict[str, Any] = field(default_factory=dict)

    def _q(self, x: np.ndarray) -> dict[str, float]:
        a = (1 - self.level) / 2
        f = np.asarray(x).ravel()
        return {
            "median": float(np.median(f)),
            "ci_low": float(np.quantile(f, a)),
            "ci_high": float(np.quantile(f, 1 - a)),
        }

    def ranks(self) -> np.ndarray:
        """(draws, nt) rank of each treatment per draw (1 = best)."""
        flat = self.d.reshape(-1, self.d.shape[-1])
        key = flat if self.smaller_better else -flat
        return np.argsort(np.argsort(key, axis=1), axis=1) + 1

    def to_dict(self) -> dict[str, Any]:
        nt = len(self.treatments)
        r = self.ranks()
        probs = {
            t: [float(np.mean(r[:, j] == k)) for k in range(1, nt + 1)]
            for j, t in enumerate(self.treatments)
        }
        sucra = {t: float(np.mean(np.cumsum(p)[:-1])) if nt > 1 else 1.0 for t, p in probs.items()}
        out: dict[str, Any] = {
            "likelihood": self.likelihood,
            "reference": self.reference,
            "tau_prior": self.prior,
            "effects": [
                {"treatment": t, **self._q(self.d[..., j])}
                for j, t in enumerate(self.treatments)
                if t != self.reference
            ],
            "sucra": sucra,
            "mean_rank": {t: float(np.mean(r[:, j])) for j, t in enumerate(self.treatments)},
            "rank_probabilities": probs,
            "node_split": self.node_split,
            "residual_deviance": self.resdev,
            "ume": self.ume,
            "diagnostics": {
                k: (float(v) if isinstance(v, (int, float, np.integer, np.floating)) else v)
                for k, v in self.diagnostics.items()
            },
        }
        if self.tau is not None:
            out["tau"] = self._q(self.tau)
        return out

    def __str__(self) -> str:
        d = self.to_dict()
        lines = [
            f"Bayesian network meta-analysis (PyMC, NICE TSD2, {self.likelihood}; "
            f"medians and {self.level:.0%} credible intervals against "
            f"'{self.reference}'):"
        ]
        for e in d["effects"]:
            lines.append(
                f"  {e['treatment']:<24} {e['median']:9.4f}  [{e['ci_low']:.4f}, "
                f"{e['ci_high']:.4f}]   SUCRA "
                f"{d['sucra'][e['treatment']]:.3f}"
            )
        lines.append(
            f"  {self.reference:<24} {'(reference)':>9}   SUCRA {d['sucra'][self.reference]:.3f}"
        )
        if "tau" in d:
            t = d["tau"]
            lines.append(
                f"  tau {t['median']:.4f} [{t['ci_low']:.4f}, {t['ci_high']:.4f}]; "
                f"prior {self.prior}"
            )
        if self.resdev:
            lines.append(
                f"  residual deviance {self.resdev['total']:.1f} ({self.resdev['n']} "
                f"data points), pD {self.resdev['pD']:.1f}, DIC "
                f"{self.resdev['DIC']:.1f}"
            )
        if self.ume:
            lines.append(
                f"  unrelated mean effects: DIC {self.ume['DIC']:.1f} (consistency "
                f"model {self.resdev.get('DIC', float('nan')):.1f})"
            )
        for s in self.node_split:
            lines.append(
                f"  node-split {s['comparison']}: direct {s['direct']['median']:.4f}, "
                f"indirect {s['indirect']['median']:.4f}, p = {s['p']:.3f}"
            )
        dg = self.diagnostics
        lines.append(
            f"  diagnostics: R-hat max {dg.get('max_rhat', float('nan')):.3f}, bulk ESS "
            f"min {dg.get('min_ess_bulk', float('nan')):.0f}, "
            f"{dg.get('divergences', 0)} divergences"
        )
        return "\n".join(lines)


def _diag(post: Any, stats: Any) -> dict[str, Any]:
    import xarray as xr

    from bayesmeta.hierarchical.diagnostics import diagnose_groups

    keep = [str(v) for v in post.data_vars if str(v) in ("d_free", "tau", "d_direct")]
    return dict(diagnose_groups(xr.Dataset({k: post[k] for k in keep}), stats))


def _dic(layout: _Arms, post: Any) -> dict[str, Any]:
    if layout.kind == "contrast":
        return {}
    dm, dp, labels = _deviance(layout, post)
    total = float(dm.sum())
    pD = total - float(dp.sum())
    return {
        "total": total,
        "n": len(dm),
        "pD": pD,
        "DIC": total + pD,
        "per_arm": [
            {"study": s, "arm": k + 1, "resdev": float(v)}
            for (s, k), v in zip(labels, dm, strict=True)
        ],
    }


def _split_candidates(layout: _Arms, nt: int) -> list[tuple[int, int]]:
    """Comparisons with direct evidence and an indirect path without those studies."""
    from bayesmeta.network.data import components

    direct: dict[tuple[int, int], set[int]] = {}
    for i, t in enumerate(layout.tix):
        ts = sorted(set(int(v) for v in t))
        for a in range(len(ts)):
            for b in range(a + 1, len(ts)):
                direct.setdefault((ts[a], ts[b]), set()).add(i)
    out = []
    for (x, y), studies in sorted(direct.items()):
        edges = []
        for i, t in enumerate(layout.tix):
            if i in studies:
                continue
            ts = [int(v) for v in t]
            edges += [(str(ts[0]), str(k)) for k in ts[1:]]
        comp = components(edges, [str(v) for v in range(nt)])
        if any(str(x) in c and str(y) in c for c in comp):
            out.append((x, y))
    return out


def bayesian_network(
    c: Any,
    reference: str,
    *,
    tau_prior: str | None = None,
    fixed: bool = False,
    level: float = 0.95,
    smaller_better: bool = False,
    draws: int | None = None,
    chains: int = 4,
    seed: int = 20201,
    progress: bool = False,
    node_split: bool = True,
    ume: bool = True,
) -> BayesianNetwork:
    """Fit the TSD2 model to `bayesmeta.network.data.Contrasts` ``c`` (module docstring).

    Examples:
        Sampling takes seconds, so it is not run as a doctest (tests/hierarchical/
        test_network_bayes.py compares it with JAGS).

        >>> from bayesmeta.hierarchical.network import bayesian_network
        >>> post = bayesian_network(contrasts, "placebo")  # doctest: +SKIP
    """
    from bayesmeta.defaults import default_priors
    from bayesmeta.hierarchical.diagnostics import diagnostic_warnings, warn_all
    from bayesmeta.priors import parse_prior

    treatments = [reference, *[t for t in c.treatments if t != reference]]
    layout = _layout(c, treatments)
    sei = np.sqrt(np.diag(c.V))
    prior = parse_prior(tau_prior or default_priors(sei, measure=c.measure).tau, "tau")
    if not prior.proper:
        raise InputError(
            f"option --tau-prior: the network model needs a proper prior, not {prior.text}"
        )
    nt = len(treatments)
    n_draws = draws or 2000
    model = _build(layout, nt, prior, fixed=fixed)
    post, stats = _sample(model, n_draws, chains, seed, progress)
    diag = _diag(post, stats)
    if draws is None and min(diag.get("min_ess_bulk", 0), diag.get("min_ess_tail", 0)) < MIN_ESS:
        post, stats = _sample(model, 3 * n_draws, chains, seed + 1, progress)
        diag = _diag(post, stats)
    warn_all(diagnostic_warnings(diag, centred=False, target_accept=0.95, draws=n_draws, tune=1000))
    d = np.asarray(post["d"].values)
    order = sorted(range(nt), key=lambda j: treatments[j])
    tau = None if fixed else np.asarray(post["tau"].values)
    res = BayesianNetwork(
        [treatments[j] for j in order],
        reference,
        d[..., order],
        tau,
        level,
        smaller_better,
        diag,
        "none (fixed effect)" if fixed else prior.text,
        {
            "binomial": "binomial-logit",
            "normal": "normal-identity (arm means)",
            "contrast": "normal (contrasts)",
        }[layout.kind],
    )
    res.resdev = _dic(layout, post)
    if node_split:
        for x, y in _split_candidates(layout, nt):
            try:
                lay = _reorder(layout, x, y)
            except InputError:
                continue  # contrast data whose baseline is neither x nor y
            m = _build(lay, nt, prior, fixed=fixed, split=(x, y))
            p, _ = _sample(m, 1000, chains, seed + 7, False)
            direct = np.asarray(p["d_direct"].values).ravel()
            dd = np.asarray(p["d"].values)
            indirect = (dd[..., y] - dd[..., x]).ravel()
            diff = direct - indirect
            pv = 2 * min(float(np.mean(diff > 0)), float(np.mean(diff < 0)))
            res.node_split.append(
                {
                    "comparison": f"{treatments[y]} vs {treatments[x]}",
                    "direct": res._q(direct),
                    "indirect": res._q(indirect),
                    "difference": res._q(diff),
                    "p": pv,
                }
            )
    if ume and layout.kind != "contrast":
        m = _build(layout, nt, prior, fixed=fixed, ume=True)
        p, _ = _sample(m, 1000, chains, seed + 11, False)
        res.ume = {k: v for k, v in _dic(layout, p).items() if k != "per_arm"}
    return res


__all__ = ["BayesianNetwork", "bayesian_network"]
