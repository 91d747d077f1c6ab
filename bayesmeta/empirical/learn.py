"""Learn the tau and mu priors of each setting of a corpus, validated on held-out analyses.

A setting is one combination of the ``by`` values (columns of a long table constant within
an analysis, or ``measure``, ``data_type``, ``source``, ``review`` of any corpus input); its
name joins the values with ``/``. For each setting with at least `MIN_ANALYSES` analyses:

1. the analyses are split at random (``seed``) into a training part and a held-out part
   (``holdout``, the held-out fraction, default 1/2);
2. the hyperparameters are learned on the training part (`bayesmeta.empirical.fit`) and
   each held-out analysis with k >= 2 is scored by its log predictive density: of its
   k - 1 within-analysis contrasts (mu-free, so that a tau prior is judged alone and the
   default flat mu prior can take part) under the learned predictive tau prior, the package
   default tau prior of that analysis (`bayesmeta.defaults`), and, where the measure fits,
   Turner's (OR), Rhodes's (SMD) and Bartoš's whole-Cochrane (SMD, OR, RR, RD, HR) priors;
   ``lpd_learned_full`` also scores mu (the learned prior's full predictive density). The
   PIT of each held-out analysis is the learned prior's CDF at its tau posterior median
   (under the default prior): uniform if the prior describes the analyses, though shrunk
   towards the middle by the posterior's own shrinkage;
3. the prior written to ``priors.toml`` is learned again from all analyses of the setting.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from bayesmeta.corpus.sources import Analysis
from bayesmeta.empirical.fit import HyperFit, HyperPriors, fit_hyper
from bayesmeta.empirical.likelihood import AnalysisTables, prior_cell_prob
from bayesmeta.errors import InputError

#: Fewest analyses a setting needs for a prior to be learned.
MIN_ANALYSES = 10
BUILTIN_BY = ("measure", "data_type", "source", "review")
#: Published priors scored beside the learned one, by measure.
PUBLISHED = {
    "OR": ("turner", "bartos(cochrane, logOR)"),
    "SMD": ("rhodes", "bartos(cochrane, SMD)"),
    "RR": ("bartos(cochrane, logRR)",),
    "RD": ("bartos(cochrane, RD)",),
    "HR": ("bartos(cochrane, logHR)",),
}


def by_value(a: Analysis, col: str) -> str | None:
    """The value of a ``by`` column for one analysis (None when missing).

    Examples:
        >>> import numpy as np
        >>> from bayesmeta.corpus.sources import Analysis
        >>> from bayesmeta.empirical.learn import by_value
        >>> a = Analysis("r/CD1.rm5", "1.1", "x", "DICH", "OR", np.zeros(1), np.ones(1),
        ...              extra={"field": "heart"})
        >>> by_value(a, "field"), by_value(a, "measure"), by_value(a, "review")
        ('heart', 'OR', 'CD1')
    """
    if col in a.extra:
        v = a.extra[col]
    elif col == "measure":
        v = a.measure
    elif col == "data_type":
        v = a.data_type
    elif col == "source":
        v = Path(a.source).name
    elif col == "review":
        v = Path(a.source).stem
    else:
        return None
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return None
    return str(v)


def check_by_constant(path: Path, by: Sequence[str]) -> None:
    """A ``by`` column of a long table must be constant within each analysis; otherwise one
    `InputError` naming the file, the row, the column and the analysis.

    Examples:
        >>> from pathlib import Path
        >>> from bayesmeta.empirical.learn import check_by_constant
        >>> _ = Path("c.csv").write_text("analysis,study,yi,vi,f\\na,1,0,1,x\\na,2,0,1,y\\n")
        >>> check_by_constant(Path("c.csv"), ["f"])
        Traceback (most recent call last):
        ...
        bayesmeta.errors.InputError: c.csv, row 2, column 'f': --by column 'f' is not ...
    """
    from bayesmeta.corpus.sources import _read_table

    df = _read_table(path)
    for col in by:
        if col not in df.columns:
            if col in BUILTIN_BY:
                continue
            have = ", ".join(map(str, df.columns))
            raise InputError(f"no column '{col}' for --by (columns: {have})", file=str(path),
                             column=col)  # fmt: skip
        vals = df[col].astype("string").fillna("")
        first = vals.groupby(df["analysis"].astype("string"), sort=False).transform("first")
        bad = np.flatnonzero((vals != first).to_numpy())
        if bad.size:
            i = int(bad[0])
            raise InputError(
                f"--by column '{col}' is not constant within analysis "
                f"'{df['analysis'].iloc[i]}' ({first.iloc[i]!r} and {vals.iloc[i]!r})",
                file=str(path), row=i + 1, column=col,
            )  # fmt: skip


@dataclass
class SettingPrior:
    """What was learned for one setting (``status`` "ok" or "refused" with ``reason``).

    Examples:
        >>> from bayesmeta.empirical.learn import SettingPrior
        >>> SettingPrior("x", 4, 12, "OR", "refused", "too few").to_dict()
        {'n_analyses': 4, 'status': 'refused', 'reason': 'too few'}
    """

    name: str
    n_analyses: int
    n_studies: int
    measure: str | None
    status: str = "ok"
    reason: str = ""
    fit: HyperFit | None = None
    train_fit: HyperFit | None = None
    heldout: dict[str, Any] = field(default_factory=dict)
    pit: np.ndarray | None = None
    default_tau: str = ""

    @property
    def tau_prior(self) -> str:
        return self.fit.tau_prior_text() if self.fit else ""

    @property
    def mu_prior(self) -> str:
        return self.fit.mu_prior_text() if self.fit else ""

    def to_dict(self) -> dict[str, Any]:
        if self.fit is None:
            return {"n_analyses": self.n_analyses, "status": self.status, "reason": self.reason}
        M, S = self.fit.predictive_log_tau2()
        A, B = self.fit.predictive_mu()
        hyper = self.fit.summary
        means = dict(zip(hyper.index, hyper["mean"].to_numpy(float).tolist(), strict=True))
        return {
            "n_analyses": self.n_analyses,
            "n_studies": self.n_studies,
            "measure": self.measure,
            "status": self.status,
            # the hyperparameters (posterior means): log(tau^2) ~ N(m, s^2), mu ~ N(a, b^2)
            "log_tau2": {"mean": means["m"], "sd": means["s"]},
            "mu": {"mean": means["a"], "sd": means["b"]},
            # the predictive prior for a new analysis (hyperparameters integrated out)
            "predictive": {"log_tau2": {"mean": M, "sd": S}, "mu": {"mean": A, "sd": B}},
            "tau_prior": self.tau_prior,
            "mu_prior": self.mu_prior,
            "hyperparameters": {
                p: {k: float(v) for k, v in hyper.loc[p].items()} for p in hyper.index
            },  # fmt: skip
            "diagnostics": {
                "pareto_k": self.fit.pareto_k,
                "ess": self.fit.ess,
                "warnings": list(self.fit.warnings),
            },  # fmt: skip
            "heldout": self.heldout,
        }


@dataclass
class LearnedPriors:
    """Priors learned per setting; ``print()`` gives the table, `to_dict` the JSON object,
    `write` the ``priors.toml``, `plot_tau_prior` the learned tau density.

    Examples:
        >>> from bayesmeta.empirical.learn import LearnedPriors, SettingPrior
        >>> r = LearnedPriors({"x": SettingPrior("x", 4, 12, "OR", "refused", "too few")},
        ...                   ("field",), 0.5, 1, "normal")
        >>> print(str(r).splitlines()[-1])
        x: 4 analyses: refused: too few
    """

    settings: dict[str, SettingPrior]
    by: tuple[str, ...]
    holdout: float
    seed: int
    family: str
    inputs: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"settings": {k: s.to_dict() for k, s in self.settings.items()},
                "by": list(self.by), "holdout": self.holdout, "seed": self.seed,
                "tau_model": self.family}  # fmt: skip

    def __str__(self) -> str:
        lines = [f"Empirical priors (Turner et al. 2015 model, log(tau^2) ~ {self.family}), "
                 f"by {', '.join(self.by) or '(one setting)'}; held out: {self.holdout:g}, "
                 f"seed {self.seed}", ""]  # fmt: skip
        for name, s in self.settings.items():
            if s.fit is None:
                lines.append(f"{name}: {s.n_analyses} analyses: {s.status}: {s.reason}")
                continue
            h = s.heldout
            lines.append(f"{name}: {s.n_analyses} analyses, {s.n_studies} studies"
                         + (f", {s.measure}" if s.measure else ""))  # fmt: skip
            lines.append(f"  tau ~ {s.tau_prior}   (median tau {self._median_tau(s):.4g})")
            lines.append(f"  mu  ~ {s.mu_prior}")
            hyper = s.fit.summary
            lines.append("  hyperparameters (posterior mean [95% interval]): " + ", ".join(
                f"{p} {hyper.loc[p, 'mean']:.3g} [{hyper.loc[p, 'q2.5']:.3g}, "
                f"{hyper.loc[p, 'q97.5']:.3g}]" for p in hyper.index))  # fmt: skip
            lines.append(f"  importance sampling: Pareto k {s.fit.pareto_k:.2f}, "
                         f"ESS {s.fit.ess:.0f}")  # fmt: skip
            if h.get("n"):
                scores = ", ".join(f"{k[4:]} {v:.4f}" for k, v in h.items()
                                   if k.startswith("lpd_") and v is not None)  # fmt: skip
                lines.append(f"  held-out mean log predictive density ({h['n']} analyses): "
                             f"{scores}")  # fmt: skip
                lines.append(f"  learned - default: {h['learned_minus_default']:.4f} (SE "
                             f"{h['learned_minus_default_se']:.4f}); PIT uniformity "
                             f"(Kolmogorov-Smirnov) p = {h['pit_ks_p']:.3f}")  # fmt: skip
            for w in s.fit.warnings:
                lines.append(f"  warning: {w}")
        return "\n".join(lines)

    @staticmethod
    def _median_tau(s: SettingPrior) -> float:
        assert s.fit is not None
        return math.exp(0.5 * s.fit.predictive_log_tau2()[0])

    def write(self, folder: str | Path) -> Path:
        """Write ``priors.toml`` (and ``priors.json``) into ``folder``; returns the TOML path."""
        import json

        from bayesmeta import __version__
        from bayesmeta.outputs import atomic_path

        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        out = ["# Empirical priors learned by bayesmeta priors learn",
               "# (Turner et al. 2015, Stat Med 34:984; docs/empirical-priors.md)", "",
               "[provenance]", f"bayesmeta = {_q(__version__)}",
               f"by = [{', '.join(_q(b) for b in self.by)}]", f"holdout = {self.holdout!r}",
               f"seed = {self.seed}", f"tau_model = {_q(self.family)}"]  # fmt: skip
        for rec in self.inputs:
            out += ["", "[[provenance.inputs]]", f"path = {_q(str(rec['path']))}",
                    f"sha256 = {_q(rec['sha256'])}",
                    f"analyses = {int(rec.get('analyses', 0))}"]  # fmt: skip
        for name, s in self.settings.items():
            out += ["", f"[settings.{_q(name)}]", f"n_analyses = {s.n_analyses}",
                    f"status = {_q(s.status)}"]  # fmt: skip
            if s.fit is None:
                out.append(f"reason = {_q(s.reason)}")
                continue
            M, S = s.fit.predictive_log_tau2()
            A, B = s.fit.predictive_mu()
            h = s.fit.summary["mean"]
            out += [f"n_studies = {s.n_studies}",
                    f"measure = {_q(s.measure or '')}",
                    f"tau_prior = {_q(s.tau_prior)}", f"mu_prior = {_q(s.mu_prior)}",
                    "# hyperparameters (posterior means) and the predictive prior",
                    f"log_tau2 = {{ mean = {float(h['m'])!r}, sd = {float(h['s'])!r} }}",
                    f"mu = {{ mean = {float(h['a'])!r}, sd = {float(h['b'])!r} }}",
                    f"predictive_log_tau2 = {{ mean = {M!r}, sd = {S!r} }}",
                    f"predictive_mu = {{ mean = {A!r}, sd = {B!r} }}",
                    f"pareto_k = {s.fit.pareto_k!r}"]  # fmt: skip
            if s.heldout.get("n"):
                out.append(f"heldout = {{ n = {s.heldout['n']}, lpd_learned = "
                           f"{s.heldout['lpd_learned']!r}, lpd_default = "
                           f"{s.heldout['lpd_default']!r} }}")  # fmt: skip
        toml = folder / "priors.toml"
        with atomic_path(toml, option="--out") as tmp:
            Path(tmp).write_text("\n".join(out) + "\n", encoding="utf-8")
        with atomic_path(folder / "priors.json", option="--out") as tmp:
            Path(tmp).write_text(json.dumps(self.to_dict(), indent=2, allow_nan=False) + "\n",
                                 encoding="utf-8")  # fmt: skip
        return toml

    def plot_tau_prior(self, setting: str) -> Any:
        """The learned predictive tau density against the setting's default prior and, on the
        log-OR scale, Turner's; a matplotlib Figure."""
        from bayesmeta.plots.priors import tau_densities
        from bayesmeta.priors import parse_prior

        s = self.settings.get(setting)
        if s is None or s.fit is None:
            raise InputError(f"no learned prior for setting {setting!r}")
        M, S = s.fit.predictive_log_tau2()
        tau = np.exp(0.5 * np.linspace(M - 4.5 * S, M + 4 * S, 400))
        eps = 1e-6
        dens = (s.fit.tau_cdf(tau * (1 + eps)) - s.fit.tau_cdf(tau * (1 - eps))) / (2 * eps * tau)
        curves = {f"learned (hyperparameters integrated): {s.tau_prior}": dens}
        curves[f"default: {s.default_tau}"] = parse_prior(s.default_tau, "tau").pdf(tau)
        for text in ("turner",) if s.measure == "OR" else ("rhodes",) if s.measure == "SMD" else ():
            p = parse_prior(text, "tau")
            curves[p.describe().split("[")[1].split(":")[0]] = p.pdf(tau)
        return tau_densities(tau, curves, title=f"{setting}: {s.n_analyses} analyses",
                             pit=s.pit)  # fmt: skip


def _q(text: str) -> str:
    """A TOML basic string."""
    esc = text.replace("\\", "\\\\").replace('"', '\\"')
    esc = "".join(c if c.isprintable() else f"\\u{ord(c):04x}" for c in esc)
    return f'"{esc}"'


def _default_tau(a: Analysis) -> str:
    from bayesmeta.defaults import default_priors

    return default_priors(np.sqrt(a.vi), n=a.ni, measure=a.measure).tau


def _score(setting: SettingPrior, fit: HyperFit, test: list[Analysis],
           tables: AnalysisTables, seed: int) -> None:  # fmt: skip
    from scipy import stats

    from bayesmeta.priors import parse_prior

    scored = np.flatnonzero(tables.k >= 2)
    if scored.size == 0:
        setting.heldout = {"n": 0}
        return
    t = tables.rows(scored)
    tests = [test[i] for i in scored]
    learned = t.log_restricted(fit.cell_prob(t.cells))
    full = fit.log_predictive(t)
    default = np.empty(scored.size)
    for i, a in enumerate(tests):
        cp = prior_cell_prob(parse_prior(_default_tau(a), "tau"), t.cells)
        default[i] = t.rows(np.array([i])).log_restricted(cp)[0]
    h: dict[str, Any] = {"n": int(scored.size), "lpd_learned": float(learned.mean()),
                         "lpd_default": float(default.mean())}  # fmt: skip
    for text in PUBLISHED.get(setting.measure or "", ()):
        p = parse_prior(text, "tau")
        name = "lpd_" + text.split("(")[0]
        h[name] = float(t.log_restricted(prior_cell_prob(p, t.cells)).mean())
    h["lpd_learned_full"] = float(full.mean())
    d = learned - default
    h["learned_minus_default"] = float(d.mean())
    h["learned_minus_default_se"] = (float(d.std(ddof=1) / math.sqrt(d.size)) if d.size > 1
                                     else float("nan"))  # fmt: skip
    pit = _pit(fit, tests, t, seed)
    setting.pit = pit
    h["pit_ks_p"] = float(stats.kstest(pit, "uniform").pvalue)
    h["pit"] = [float(x) for x in pit]
    setting.heldout = h


#: Replicates per held-out analysis for its PIT.
PIT_REPLICATES = 200


def _pit(fit: HyperFit, tests: list[Analysis], tables: AnalysisTables, seed: int) -> np.ndarray:
    """PIT of each analysis's tau posterior median (learned prior, flat mu) within its
    prior-predictive distribution: replicate data sets with the analysis's own variances and
    tau drawn from the learned predictive; ties split at random. Uniform when the learned
    prior is the distribution the analyses' tau come from."""
    rng = np.random.default_rng([seed, 1])
    cp = fit.cell_prob(tables.cells)
    observed = tables.tau_posterior_median(cp)
    R = PIT_REPLICATES
    d = rng.choice(fit.draws.shape[0], size=(len(tests), R), p=fit.weights)
    m, s = fit.draws[d, 0], fit.draws[d, 1]
    z = rng.standard_normal(m.shape) if fit.nu is None else rng.standard_t(fit.nu, m.shape)
    tau = np.exp(0.5 * (m + s * z))
    pit = np.empty(len(tests))
    for i, a in enumerate(tests):
        sd = np.sqrt(a.vi[None, :] + tau[i][:, None] ** 2)
        y = rng.standard_normal((R, a.k)) * sd
        rep = AnalysisTables(list(y), [a.vi] * R, cells=tables.cells)
        t = rep.tau_posterior_median(cp)
        below, same = np.sum(t < observed[i]), np.sum(t == observed[i])
        pit[i] = (below + rng.uniform() * (same + 1)) / (R + 1)
    return pit


def learn_priors(
    analyses: Sequence[Analysis],
    by: Sequence[str] = (),
    *,
    holdout: float = 0.5,
    seed: int = 20201,
    tau_model: str = "normal",
    nu: float = 5.0,
    draws: int = 2000,
    progress: bool = False,
    inputs: list[dict[str, Any]] | None = None,
) -> LearnedPriors:
    """Learn a tau and mu prior per setting (module docstring); ``tau_model`` is ``"normal"``
    (Turner: log(tau^2) ~ N(m, s^2)) or ``"t"`` (Rhodes: t with ``nu`` degrees of freedom).

    Examples:
        >>> import numpy as np
        >>> from bayesmeta.corpus.sources import Analysis
        >>> from bayesmeta.empirical.learn import learn_priors
        >>> rng = np.random.default_rng(2)
        >>> def one(j):
        ...     tau = np.exp(rng.normal(-2, 1) / 2)
        ...     y = rng.normal(rng.normal(0, 0.2), np.sqrt(0.05 + tau**2), 5)
        ...     return Analysis("sim", f"a{j}", f"a{j}", "sim", "SMD", y, np.full(5, 0.05))
        >>> res = learn_priors([one(j) for j in range(30)], draws=300)
        >>> s = res.settings["all"]
        >>> s.n_analyses, s.heldout["n"], s.tau_prior.startswith("tau2lognormal(")
        (30, 15, True)
    """
    from bayesmeta.progress import Counter

    if not (isinstance(holdout, (int, float)) and 0 < holdout <= 0.9):
        raise InputError(f"--holdout must lie in (0, 0.9] (got {holdout})")
    if tau_model not in ("normal", "t"):
        raise InputError(f"tau model must be 'normal' or 't' (got {tau_model!r})")
    if not (math.isfinite(nu) and nu > 0):
        raise InputError(f"--df must be a finite number > 0 (got {nu})")
    model_nu = None if tau_model == "normal" else float(nu)
    groups: dict[str, list[Analysis]] = {}
    missing: dict[str, int] = {}
    for a in analyses:
        if a.status != "ok" or a.k == 0:
            continue
        vals = [by_value(a, c) for c in by]
        if any(v is None for v in vals):
            col = by[[v is None for v in vals].index(True)]
            missing[col] = missing.get(col, 0) + 1
            continue
        groups.setdefault("/".join(vals) if by else "all", []).append(a)  # type: ignore[arg-type]
    if not groups:
        why = (f"; the --by column {next(iter(missing))!r} is missing for {sum(missing.values())}"
               " analyses" if missing else "")  # fmt: skip
        raise InputError(f"no analysis with estimable studies to learn from{why}")
    out: dict[str, SettingPrior] = {}
    bar = Counter(len(groups), "priors learn", progress, unit="settings")
    for name in sorted(groups):
        group = groups[name]
        measures = {a.measure for a in group}
        measure = measures.pop() if len(measures) == 1 else None
        n_st = int(sum(a.k for a in group))
        sp = SettingPrior(name, len(group), n_st, measure)
        if len(group) < MIN_ANALYSES:
            sp.status, sp.reason = (
                "refused",
                (f"setting '{name}' has {len(group)} analyses; at least {MIN_ANALYSES} are needed"),
            )
            out[name] = sp
            bar.step(name)
            continue
        yi, vi = [a.yi for a in group], [a.vi for a in group]
        tables = AnalysisTables(yi, vi)
        hp = HyperPriors.default(yi, vi)
        rng = np.random.default_rng(seed)
        perm = rng.permutation(len(group))
        n_test = max(1, int(round(holdout * len(group))))
        test, train = np.sort(perm[:n_test]), np.sort(perm[n_test:])
        sp.train_fit = fit_hyper(tables.rows(train), hp, nu=model_nu, draws=draws, seed=seed)
        _score(sp, sp.train_fit, [group[i] for i in test], tables.rows(test), seed)
        sp.fit = fit_hyper(tables, hp, nu=model_nu, draws=draws, seed=seed)
        sp.default_tau = _default_tau(_pooled(group))
        out[name] = sp
        bar.step(name)
    return LearnedPriors(out, tuple(by), float(holdout), int(seed), tau_model,
                         list(inputs or []))  # fmt: skip


def _pooled(group: list[Analysis]) -> Analysis:
    """All studies of a setting as one analysis (for the setting's typical default prior)."""
    ni = [a.ni for a in group]
    n: np.ndarray | None = (None if any(x is None for x in ni)
                            else np.concatenate([x for x in ni if x is not None]))  # fmt: skip
    return Analysis("", "", "", "", group[0].measure, np.concatenate([a.yi for a in group]),
                    np.concatenate([a.vi for a in group]), n)  # fmt: skip


def load_priors(path: str | Path, setting: str) -> tuple[Any, Any]:
    """The (tau, mu) `bayesmeta.priors.Prior` of ``setting`` in a ``priors.toml``; each names
    its source in ``describe()``. One-line `InputError` for a missing file, setting or prior.

    Examples:
        >>> from pathlib import Path
        >>> from bayesmeta.empirical.learn import load_priors
        >>> _ = Path("p.toml").write_text('[settings."OR/mortality"]\\nstatus = "ok"\\n'
        ...     'n_analyses = 40\\ntau_prior = "tau2lognormal(-2.5, 1.6)"\\n'
        ...     'mu_prior = "normal(-0.1, 0.4)"\\n')
        >>> tau, mu = load_priors("p.toml", "OR/mortality")
        >>> tau.describe()
        'tau2lognormal(-2.5, 1.6) [learned: p.toml, setting OR/mortality, 40 analyses]'
    """
    import tomllib
    from dataclasses import replace

    from bayesmeta.priors import parse_prior

    p = Path(path)
    try:
        with p.open("rb") as fh:
            doc = tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"not a priors file: {exc}", file=str(p)) from None
    settings = doc.get("settings", {})
    if setting not in settings:
        known = ", ".join(sorted(settings)) or "none"
        raise InputError(f"no setting {setting!r} (settings: {known}) (option --setting)",
                         file=str(p))  # fmt: skip
    s = settings[setting]
    if s.get("status", "ok") != "ok" or "tau_prior" not in s:
        raise InputError(f"setting {setting!r} has no learned prior: {s.get('reason', '')}",
                         file=str(p))  # fmt: skip
    note = f"learned: {p.name}, setting {setting}, {s.get('n_analyses', '?')} analyses"
    tau = replace(parse_prior(s["tau_prior"], "tau"), note=note)
    mu = replace(parse_prior(s["mu_prior"], "mu"), note=note)
    return tau, mu


__all__ = ["MIN_ANALYSES", "LearnedPriors", "SettingPrior", "learn_priors", "load_priors"]
