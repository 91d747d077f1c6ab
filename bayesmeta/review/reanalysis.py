"""``bayesmeta reproduce``: the review's 18 published rows re-analysed, classical and Bayesian.

`reproduce()` writes into ``out``:

* ``comparison.csv``: one row per published row: the published numbers and what they imply
  (SE, z, p, CI symmetry), the classical re-analysis from the text (or why there is none), the
  conjugate Bayesian re-analysis under every declared prior, the cell-type model (exact engine
  and PyMC), Table 1's n and follow-up; with ``studies`` also the study-level re-analyses;
* ``arviz_summary.csv``: ``az.summary(ci_prob=0.95)`` behind every Bayesian number;
* ``findings.csv``: the consistency checks with their verdicts;
* ``report.md`` and ``report.html`` (self-contained, figures embedded) and ``figures/*.png``.

Numbers in the CSV files are written with 6 significant digits, so a re-run with the same seed
gives byte-identical files (tested with ``mcmc=False``; nutpie's seeded draws are reproducible
on one machine too).

The cheap parts run on the spec alone: `classical_rows()` and `bayes_rows()` (from the
published rows' implied statistics), `comparison_table()` on a `Reanalysis` built from them.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bayesmeta.errors import InputError
from bayesmeta.review.celltype import fit_all
from bayesmeta.review.checks import REPRO_TOLERANCE, findings_frame, run_checks
from bayesmeta.review.conjugate import normal_update
from bayesmeta.review.published import RowStats, analysis_stats, pool_fixed_from_summaries
from bayesmeta.review.results import BayesRow, ClassicalRow, Reanalysis
from bayesmeta.review.spec import Analysis, ReviewSpec, load_spec
from bayesmeta.review.summaries import draws_tree, summarize

CSV_FLOAT = "%.6g"
#: i.i.d. draws per conjugate / exact posterior behind its ArviZ summary.
IID_DRAWS = 4000


#: Prior-sensitivity grid per row: halfnormal and halfcauchy tau priors, n scales each.
SENSITIVITY_N = 20


class _Progress:
    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.t0 = time.perf_counter()

    def __call__(self, message: str) -> None:
        if self.enabled:
            print(
                f"[reproduce {time.perf_counter() - self.t0:5.1f}s] {message}",
                file=sys.stderr,
                flush=True,
            )


def classical_rows(spec: ReviewSpec, stats: dict[str, RowStats]) -> dict[str, ClassicalRow]:
    """Re-derive what the text determines: one-study rows and all-fixed-effect overall rows.

    A one-study row is its MD with the Wald CI of its implied SE; an overall row whose
    subgroups are all fixed-effect is the inverse-variance pool of the subgroup summaries
    (`bayesmeta.review.published.pool_fixed_from_summaries`). DerSimonian-Laird overall rows
    and pooled subgroups need study-level data. Reproduced means within 0.01 of MD and CI.

    Examples:
        The review prints -35.76 [-40.47, -31.04] for the insulin dose (Figure 6):

        >>> from bayesmeta.review.published import analysis_stats
        >>> from bayesmeta.review.reanalysis import classical_rows
        >>> from bayesmeta.review.spec import load_spec
        >>> spec = load_spec()
        >>> rows = classical_rows(spec, {a.key: analysis_stats(a) for a in spec.analyses})
        >>> c = rows["T2DM/insulin_dose/all"]
        >>> print(f"{c.status}: {c.md:.3f} [{c.ci_low:.3f}, {c.ci_high:.3f}]")
        reproduced: -35.754 [-40.474, -31.034]
        >>> rows["T2DM/hba1c/all"].status
        'not reproducible'
    """
    out: dict[str, ClassicalRow] = {}
    for a in spec.analyses:
        p = a.published
        st = stats[a.key]
        if p.k == 1:
            est, _, lo, hi = pool_fixed_from_summaries([st.md], [st.se], spec.level)
            out[a.key] = _compare(
                a, est, lo, hi, "one study: its MD and Wald CI from the implied SE"
            )
        elif a.is_overall:
            subs = spec.subgroups(a.disease, a.outcome)
            if p.model == "fixed" and subs and all(s.published.model == "fixed" for s in subs):
                sst = [stats[s.key] for s in subs]
                est, _, lo, hi = pool_fixed_from_summaries(
                    [x.md for x in sst], [x.se for x in sst], spec.level
                )
                out[a.key] = _compare(
                    a,
                    est,
                    lo,
                    hi,
                    "inverse-variance FE pool of the subgroup summaries (exact for FE: the "
                    "subgroup estimates are sufficient)",
                )
            else:
                out[a.key] = ClassicalRow(
                    "not reproducible",
                    note="DerSimonian-Laird overall: tau^2 is estimated from Q over all "
                    "studies, which the subgroup summaries do not determine (their SEs already "
                    "contain each subgroup's own tau^2); needs study-level data",
                )
        else:
            out[a.key] = ClassicalRow(
                "needs study-level data",
                note=(
                    f"a pooled subgroup of {p.k} arms: the per-arm values are in the forest "
                    "plot images only"
                    if p.k is not None
                    else "a pooled subgroup: the text gives no per-study values"
                ),
            )
    return out


def _compare(a: Analysis, est: float, lo: float, hi: float, note: str) -> ClassicalRow:
    p = a.published
    dev = max(abs(est - p.md), abs(lo - p.ci_low), abs(hi - p.ci_high))
    ok = dev <= REPRO_TOLERANCE + 1e-9
    return ClassicalRow("reproduced" if ok else "not reproduced", est, lo, hi, dev, note)


def bayes_rows(
    spec: ReviewSpec, stats: dict[str, RowStats], rng: np.random.Generator
) -> tuple[dict[str, list[BayesRow]], pd.DataFrame]:
    """Conjugate posteriors of every row under every prior set, and their ArviZ summaries.

    Each published MD is one observation ``N(theta, SE^2)`` with its implied SE, under each
    effect prior of the spec in outcome units (`bayesmeta.review.conjugate.normal_update`).
    The summary is ``az.summary`` of ``IID_DRAWS`` (4000) i.i.d. draws per posterior, drawn
    with ``rng``.

    Examples:
        >>> import numpy as np
        >>> from bayesmeta.review.published import analysis_stats
        >>> from bayesmeta.review.reanalysis import bayes_rows
        >>> from bayesmeta.review.spec import load_spec
        >>> spec = load_spec()
        >>> stats = {a.key: analysis_stats(a) for a in spec.analyses}
        >>> rows, summary = bayes_rows(spec, stats, np.random.default_rng(1))
        >>> [(b.prior, round(b.posterior.median, 4)) for b in rows["T2DM/hba1c/all"]]
        [('vague', -0.87), ('sceptical', -0.7058), ('enthusiastic', -0.87)]
        >>> summary.shape
        (54, 7)
    """
    out: dict[str, list[BayesRow]] = {}
    draws: dict[str, np.ndarray] = {}
    keys = [a.key for a in spec.analyses]
    for name in spec.effect_priors:
        cols = []
        for a in spec.analyses:
            mean, sd = spec.effect_prior(name, a.disease, a.outcome)
            st = stats[a.key]
            post = normal_update(st.md, st.se, mean, sd)
            outcome = spec.outcomes[a.outcome]
            mcid = outcome.mcid.value if outcome.mcid is not None else float("nan")
            out.setdefault(a.key, []).append(
                BayesRow(
                    name,
                    mean,
                    sd,
                    post,
                    post.prob_benefit(outcome.sign),
                    post.prob_benefit(outcome.sign, mcid) if np.isfinite(mcid) else float("nan"),
                )
            )
            cols.append(post.draws(IID_DRAWS, rng))
        draws[f"theta_{name}"] = np.column_stack(cols)
    tree = draws_tree(draws, dims={k: ["analysis"] for k in draws}, coords={"analysis": keys})
    return out, summarize(tree, ci_prob=spec.level)


def _fmt_prior(mean: float, sd: float) -> str:
    """A prior as ``normal(mean, sd)`` text, 4 significant digits."""
    return f"normal({mean:.4g}, {sd:.4g})"


def comparison_table(r: Reanalysis) -> pd.DataFrame:
    """The rows of comparison.csv (see the module docstring), one per published row.

    Cell-type and study-level columns are NaN where ``r`` has no such fit.

    Examples:
        >>> import numpy as np
        >>> from bayesmeta import datasets
        >>> from bayesmeta.review.published import analysis_stats
        >>> from bayesmeta.review.reanalysis import (
        ...     Reanalysis, bayes_rows, classical_rows, comparison_table)
        >>> from bayesmeta.review.spec import load_spec
        >>> spec = load_spec()
        >>> stats = {a.key: analysis_stats(a) for a in spec.analyses}
        >>> bayes, summary = bayes_rows(spec, stats, np.random.default_rng(1))
        >>> r = Reanalysis(spec, datasets.load("zhang2020_table1"), stats,
        ...                classical_rows(spec, stats), bayes, summary, {}, [])
        >>> table = comparison_table(r).set_index("analysis")
        >>> row = table.loc["T2DM/insulin_dose/all"]
        >>> print(row["md"], round(row["classical_md"], 3), round(row["bayes_vague_median"], 3))
        -35.76 -35.754 -35.76
    """
    spec = r.spec
    arms = {} if r.table1 is None else {str(x["arm"]): x for x in r.table1.to_dict("records")}
    nan = float("nan")
    rows = []
    for a in spec.analyses:
        p = a.published
        st = r.stats[a.key]
        c = r.classical[a.key]
        listed = bool(a.arms) and all(x in arms for x in a.arms)
        fu = [float(arms[x]["follow_up_months"]) for x in a.arms] if listed else [nan]
        row: dict[str, Any] = {
            "analysis": a.key,
            "disease": a.disease,
            "outcome": a.outcome,
            "subgroup": a.subgroup,
            "refs": ";".join(map(str, a.refs)),
            "arms": ";".join(a.arms),
            "k": p.k if p.k is not None else nan,
            "n_text": p.n if p.n is not None else nan,
            "n_table1": sum(int(arms[x]["n_treated"]) for x in a.arms) if listed else nan,
            "follow_up_months_min": min(fu),
            "follow_up_months_max": max(fu),
            "md": p.md,
            "ci_low": p.ci_low,
            "ci_high": p.ci_high,
            "model": p.model,
            "heterogeneity_p_printed": p.heterogeneity_p or "",
            "heterogeneity_i2_printed": p.heterogeneity_i2
            if p.heterogeneity_i2 is not None
            else nan,
            "se_implied": st.se,
            "z": st.z,
            "p_effect": st.p,
            "ci_asymmetry": st.asymmetry,
            "ci_symmetric": st.symmetric,
            "classical_status": c.status,
            "classical_md": c.md,
            "classical_ci_low": c.ci_low,
            "classical_ci_high": c.ci_high,
            "classical_max_deviation": c.max_deviation,
            "classical_note": c.note,
        }
        for b in r.bayes[a.key]:
            lo, hi = b.posterior.interval(spec.level)
            row |= {
                f"prior_{b.prior}": _fmt_prior(b.prior_mean, b.prior_sd),
                f"bayes_{b.prior}_median": b.posterior.median,
                f"bayes_{b.prior}_ci_low": lo,
                f"bayes_{b.prior}_ci_high": hi,
                f"bayes_{b.prior}_p_benefit": b.p_benefit,
                f"bayes_{b.prior}_p_beyond_mcid": b.p_beyond_mcid,
            }
        fit = r.celltype.get((a.disease, a.outcome))
        nan = float("nan")
        for engine in ("exact", "pymc"):
            summ = None
            if fit is not None:
                summ = (fit.exact if engine == "exact" else fit.pymc).get(fit.param(a.subgroup))
            row |= {
                f"celltype_{engine}_median": summ.median if summ else nan,
                f"celltype_{engine}_ci_low": summ.ci_low if summ else nan,
                f"celltype_{engine}_ci_high": summ.ci_high if summ else nan,
                f"celltype_{engine}_p_benefit": summ.p_benefit if summ else nan,
            }
        if r.studylevel is not None:
            t = r.studylevel.table.set_index("analysis")
            if a.key in t.index:
                s = t.loc[a.key]
                for col in (
                    "status",
                    "revman_method",
                    "revman_md",
                    "revman_ci_low",
                    "revman_ci_high",
                    "revman_diff_md",
                    "paired_md",
                    "paired_ci_low",
                    "paired_ci_high",
                    "pymc_median",
                    "pymc_ci_low",
                    "pymc_ci_high",
                ):
                    row[f"study_{col}"] = s.get(col, nan)
        rows.append(row)
    return pd.DataFrame(rows)


def arviz_table(r: Reanalysis) -> pd.DataFrame:
    """All ArviZ summaries in one long table (source, what the draws are, param, stats).

    Conjugate summaries first, then each cell-type fit (exact, then PyMC if fitted), then the
    study-level PyMC fits.

    Examples:
        >>> import numpy as np
        >>> from bayesmeta import datasets
        >>> from bayesmeta.review.published import analysis_stats
        >>> from bayesmeta.review.reanalysis import Reanalysis, arviz_table, bayes_rows
        >>> from bayesmeta.review.spec import load_spec
        >>> spec = load_spec()
        >>> stats = {a.key: analysis_stats(a) for a in spec.analyses}
        >>> bayes, summary = bayes_rows(spec, stats, np.random.default_rng(1))
        >>> table1 = datasets.load("zhang2020_table1")
        >>> r = Reanalysis(spec, table1, stats, {}, bayes, summary, {}, [])
        >>> table = arviz_table(r)
        >>> list(table.columns[:3]), table.loc[0, "param"]
        (['param', 'source', 'draws'], 'theta_vague[T1DM/c_peptide/all]')
    """
    parts = []
    adj = r.spec.subgroup_label.replace(" ", "-")
    s = r.bayes_summary.copy()
    s.insert(0, "draws", "iid from the exact (conjugate normal) posterior")
    s.insert(0, "source", "published estimate x effect prior")
    parts.append(s)
    for (d, o), f in r.celltype.items():
        e = f.exact_summary.copy()
        e.insert(0, "draws", "iid inverse-CDF draws from the exact marginals")
        e.insert(0, "source", f"{adj} model {d}/{o} (exact)")
        parts.append(e)
        if f.pymc_summary is not None:
            m = f.pymc_summary.copy()
            m.insert(0, "draws", "MCMC (nutpie NUTS)")
            m.insert(0, "source", f"{adj} model {d}/{o} (PyMC)")
            parts.append(m)
    if r.studylevel is not None:
        for (d, o), summ in r.studylevel.pymc_summaries.items():
            m = summ.copy()
            m.insert(0, "draws", "MCMC (nutpie NUTS)")
            m.insert(0, "source", f"study-level nested model {d}/{o} (PyMC)")
            parts.append(m)
    out = pd.concat(parts)
    out.index.name = "param"
    return out.reset_index()


def _write_csv(df: pd.DataFrame, path: Path) -> None:
    df.to_csv(path, index=False, float_format=CSV_FLOAT, lineterminator="\n")


def reproduce(
    out: str | Path = "results",
    studies: str | Path | None = None,
    seed: int = 20201,
    progress: bool = True,
    *,
    mcmc: bool = True,
    figures: bool = True,
    simulation: bool = True,
    spec: str | Path | ReviewSpec | None = None,
    draws: int = 2000,
    tune: int = 1000,
    chains: int = 4,
    cores: int | None = None,
) -> Reanalysis:
    """Re-analyse the review's published rows and write the report (module docstring).

    Args:
        out: output folder (created).
        studies: optional per-arm CSV (template: docs/templates/) for the study-level analysis.
        seed: seeds every random draw (conjugate/exact i.i.d. draws and MCMC).
        progress: print progress lines to stderr.
        mcmc: run the PyMC cross-checks (False: exact and conjugate only; fast).
        figures: write the PNG figures.
        simulation: run the small coverage study of the review's interval method (cached
            under ``out/simulation``; see `bayesmeta.review.trust`).
        spec: the review spec (default: the shipped models/zhang2020.toml).
        draws: MCMC draws per chain of each PyMC fit.
        tune: MCMC tuning steps per chain.
        chains: MCMC chains.
        cores: processes for the chains (None: PyMC's default).

    Returns:
        The `Reanalysis`, with ``out`` set to the folder written.

    Examples:
        The full run takes seconds without MCMC and minutes with it, so it is not run here;
        ``tests/review/test_review_reanalysis.py`` runs it (also through the CLI,
        ``bayesmeta reproduce``). `classical_rows()` and `comparison_table()` show the cheap
        parts.

        >>> from bayesmeta.review.reanalysis import reproduce
        >>> r = reproduce("results", mcmc=False, progress=False)  # doctest: +SKIP
        >>> sorted(p.name for p in r.out.iterdir())  # doctest: +SKIP
        ['arviz_summary.csv', 'comparison.csv', 'figures', 'findings.csv', 'interval_trust.csv',
         'report.html', 'report.md', 'safety.csv', 'sensitivity.csv', 'simulation',
         'verdict.csv']
    """
    say = _Progress(progress)
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    out = Path(out)
    spec = spec if isinstance(spec, ReviewSpec) else load_spec(spec)

    pool = None
    if figures and (os.cpu_count() or 1) > 1:  # a second core draws half the figures
        from bayesmeta.review.figure_worker import FigureWorker

        pool = FigureWorker.start()
    try:
        return _reproduce(out, spec, studies, seed, mcmc, figures, simulation, say, timings,
                          t0, pool, draws=draws, tune=tune, chains=chains, cores=cores)  # fmt: skip
    finally:
        if pool is not None:
            pool.stop()


def _reproduce(out: Path, spec: ReviewSpec, studies: Any, seed: int, mcmc: bool, figures: bool,
               simulation: bool, say: Any, timings: dict[str, float], t0: float, pool: Any,
               *, draws: int, tune: int, chains: int, cores: int | None) -> Reanalysis:  # fmt: skip
    table1 = spec.dataset("table1")  # None: the checks against Table 1 say "unverifiable"
    study = spec.model_file("simulation")
    if simulation and study is not None and not study.exists():
        raise InputError(f"simulation spec not found: {study}", file=str(spec.path),
                         column="review.simulation")  # fmt: skip
    arms_df = None
    if studies is not None:  # read and check the inputs before anything is written
        from bayesmeta.review.studylevel import read_arms

        arms_df = read_arms(studies, spec)
    out.mkdir(parents=True, exist_ok=True)
    say(f"spec {spec.path}: {len(spec.analyses)} published rows, {len(spec.groups())} outcomes")
    if arms_df is not None:
        say(f"study-level file {studies}: {len(arms_df)} arm rows")
    ss = np.random.SeedSequence(seed)
    s_bayes, s_cell, s_study = ss.spawn(3)

    stats = {a.key: analysis_stats(a, spec.level) for a in spec.analyses}
    classical = classical_rows(spec, stats)
    say(
        "classical re-analysis from the text: "
        f"{sum(c.status == 'reproduced' for c in classical.values())} rows reproduced"
    )
    bayes, bayes_summary = bayes_rows(spec, stats, np.random.default_rng(s_bayes))
    say(f"conjugate posteriors: {len(spec.analyses)} rows x {len(spec.effect_priors)} priors")
    timings["published, classical, conjugate"] = time.perf_counter() - t0

    t1 = time.perf_counter()
    say("cell-type model: exact engine" + (" + PyMC (compiles once)" if mcmc else ""))
    seed_cell = int(s_cell.generate_state(1)[0])
    celltype = fit_all(
        spec,
        seed=seed_cell,
        mcmc=mcmc,
        progress=say,
        draws=draws,
        tune=tune,
        chains=chains,
        cores=cores,
    )
    timings[f"{spec.subgroup_label.replace(' ', '-')} models"] = time.perf_counter() - t1
    if mcmc:
        timings["of which PyMC"] = sum(f.pymc_time for f in celltype.values())

    t_s = time.perf_counter()
    from bayesmeta.sensitivity.review import review_sweep

    sensitivity = review_sweep(SENSITIVITY_N, spec.path)
    timings["prior sensitivity"] = time.perf_counter() - t_s
    n_models = sensitivity["analysis"].nunique()
    say(f"prior sensitivity: {len(sensitivity)} exact fits ({n_models} subgroup models x "
        f"{2 * SENSITIVITY_N} tau priors)")  # fmt: skip

    trust = pd.DataFrame()
    if simulation and spec.review.get("simulation"):  # a study shaped like this review's rows
        from bayesmeta.review.trust import TRUST_REPLICATES, interval_trust

        t_t = time.perf_counter()
        trust = interval_trust(out, TRUST_REPLICATES, spec.model_file("simulation"))
        timings["interval coverage simulation"] = time.perf_counter() - t_t
        say(f"coverage simulation of the review's interval method: {len(trust)} cells")

    findings = run_checks(spec, table1)
    say(f"consistency checks: {len(findings)} findings")
    r = Reanalysis(spec, table1, stats, classical, bayes, bayes_summary, celltype, findings)
    r.out = out
    r.sensitivity = sensitivity
    r.trust = trust
    r.settings = {
        "seed": seed,
        "mcmc": mcmc,
        "draws": draws,
        "tune": tune,
        "chains": chains,
        "iid_draws": IID_DRAWS,
        "studies": str(studies) if studies is not None else "",
    }
    if arms_df is not None:
        from bayesmeta.review.studylevel import analyse

        t2 = time.perf_counter()
        r.studylevel = analyse(
            arms_df,
            spec,
            seed=int(s_study.generate_state(1)[0]),
            mcmc=mcmc,
            progress=say,
            draws=draws,
            tune=tune,
            chains=chains,
            cores=cores,
        )
        timings["study-level analysis"] = time.perf_counter() - t2

    r.comparison = comparison_table(r)
    r.arviz_summary = arviz_table(r)
    _write_csv(r.comparison, out / "comparison.csv")
    _write_csv(r.arviz_summary, out / "arviz_summary.csv")
    _write_csv(findings_frame(findings), out / "findings.csv")
    _write_csv(sensitivity, out / "sensitivity.csv")
    from bayesmeta.review.verdict import verdict_table
    from bayesmeta.safety import rate_table

    _write_csv(verdict_table(r), out / "verdict.csv")
    adverse = spec.dataset("adverse_events")
    r.safety = rate_table(adverse, level=spec.level) if adverse is not None else pd.DataFrame()
    if not r.safety.empty:  # the spec names adverse-event counts
        _write_csv(r.safety, out / "safety.csv")
    if not trust.empty:
        _write_csv(trust, out / "interval_trust.csv")
    if r.studylevel is not None:
        _write_csv(r.studylevel.table, out / "study_level.csv")
        _write_csv(r.studylevel.sensitivity, out / "study_level_r_sensitivity.csv")
    say("wrote verdict.csv, safety.csv, comparison.csv, arviz_summary.csv, findings.csv, "
        "sensitivity.csv")  # fmt: skip
    if figures:
        from bayesmeta.review.figures import make_figures

        t3 = time.perf_counter()
        r.figures = make_figures(r, out / "figures", pool=pool)
        timings["figures"] = time.perf_counter() - t3
        say(f"wrote {len(r.figures)} figures")
    from bayesmeta.review.report import write_report

    t4 = time.perf_counter()
    r.timings = timings
    write_report(r, out)
    timings["report"] = time.perf_counter() - t4
    timings["total"] = time.perf_counter() - t0
    say(f"wrote report.md and report.html in {out} ({timings['total']:.1f} s)")
    return r
