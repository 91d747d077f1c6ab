r"""Study-level re-analysis from per-arm forest-plot values (``reproduce(studies=FILE)``).

The file has one row per arm and outcome with the columns of `COLUMNS`:
``study, ref, disease, cell_type, outcome, n, m_pre, sd_pre, m_post, sd_post``
(``docs/templates/zhang2020_forest_arms_template.csv`` lists every arm the published rows need,
values empty). For every published row it runs

1. **the review's RevMan method**: ``MD = m_post - m_pre`` with the before/after variance of two
   independent groups, ``vi = sd_pre^2/n + sd_post^2/n``
   (`bayesmeta.effects.before_after()`), pooled by inverse variance, FE or DL by the review's
   rule decided once per forest plot on all its arms (`bayesmeta.classical`);
2. **the paired alternative**: ``vi = (sd_pre^2 + sd_post^2 - 2 r sd_pre sd_post)/n``
   (`bayesmeta.effects.mean_change()`) with the spec's r (and its sensitivity values),
   pooled by the same rule applied to its own Q;
3. **the PyMC model** (with ``mcmc``): arms nested in studies (ref 23's MSC and BM-MNC arms share
   a study effect), a mean per cell type, the paired variance with the spec's r
   (`bayesmeta.hierarchical.fit()`, model ``nested`` with subgroup terms);

and compares each with the published row. Bad input raises
`bayesmeta.errors.InputError` naming the file, the 1-based data row and the column.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from bayesmeta.errors import InputError
from bayesmeta.review.spec import ReviewSpec, _g, arm_cell_type, arm_ref
from bayesmeta.studies import (
    StudyTable,
    check_magnitudes,
    label_column,
    numeric_column,
    read_table,
)

if TYPE_CHECKING:
    from bayesmeta.effects import EffectSizes
    from bayesmeta.results import MetaResult

#: The per-arm columns, in template order.
COLUMNS = (
    "study",
    "ref",
    "disease",
    "cell_type",
    "outcome",
    "n",
    "m_pre",
    "sd_pre",
    "m_post",
    "sd_post",
)
VALUE_COLUMNS = ("n", "m_pre", "sd_pre", "m_post", "sd_post")


def template_frame(spec: ReviewSpec) -> pd.DataFrame:
    """Every (arm, outcome) a published row needs, identifiers filled, values empty."""
    rows = []
    seen = set()
    for a in spec.analyses:
        for arm in a.arms:
            key = (a.disease, a.outcome, arm)
            if key in seen:
                continue
            seen.add(key)
            ref = arm_ref(arm)
            rows.append(
                {
                    "study": spec.references[ref].study,
                    "ref": ref,
                    "disease": a.disease,
                    "cell_type": arm_cell_type(arm),
                    "outcome": a.outcome,
                    **{c: "" for c in VALUE_COLUMNS},
                }
            )
    return pd.DataFrame(rows, columns=list(COLUMNS))


def write_template(path: str | Path, spec: ReviewSpec) -> Path:
    """Write the empty-values template CSV (see `template_frame()`)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    template_frame(spec).to_csv(path, index=False)
    return path


def read_arms(path: str | Path, spec: ReviewSpec) -> pd.DataFrame:
    """Read and validate a per-arm file; InputError at the first bad cell (file, row, column)."""
    name = str(path)
    df = read_table(path)
    if df.shape[0] == 0:
        raise InputError("no data rows (the header alone)", file=name)
    for c in COLUMNS:
        if c not in df.columns:
            raise InputError(
                f"missing required column '{c}' (need {', '.join(COLUMNS)})", file=name, column=c
            )
    out = pd.DataFrame(
        {c: label_column(df, c, file=name) for c in ("study", "disease", "cell_type", "outcome")}
    )
    refs = numeric_column(df, "ref", file=name)
    for i, v in enumerate(refs):
        if v != np.round(v) or int(v) not in spec.references:
            raise InputError(
                f"unknown reference {v:g} (known: {', '.join(map(str, sorted(spec.references)))})",
                file=name,
                row=i + 1,
                column="ref",
            )
    out["ref"] = refs.astype(int)
    n = numeric_column(df, "n", file=name, positive=True)
    for i, v in enumerate(n):
        if v < 2 or v != np.round(v):
            raise InputError(
                f"n must be a whole number >= 2 (got {v:g})", file=name, row=i + 1, column="n"
            )
    out["n"] = n.astype(int)
    for c in ("m_pre", "m_post"):
        out[c] = numeric_column(df, c, file=name)
    for c in ("sd_pre", "sd_post"):
        out[c] = numeric_column(df, c, file=name, positive=True)
    for m, sd in (("m_pre", "sd_pre"), ("m_post", "sd_post")):
        check_magnitudes(out[m].to_numpy(), out[sd].to_numpy(), file=name, ycol=m, vcol=sd,
                         se=True)  # fmt: skip
    seen: dict[tuple[Any, ...], int] = {}
    for i, r in enumerate(out.to_dict("records")):
        row = i + 1
        if r["disease"] not in spec.review["diseases"]:
            raise InputError(
                f"unknown disease '{r['disease']}' (known: {', '.join(spec.review['diseases'])})",
                file=name,
                row=row,
                column="disease",
            )
        if r["outcome"] not in spec.outcomes:
            raise InputError(
                f"unknown outcome '{r['outcome']}' (known: {', '.join(spec.outcomes)})",
                file=name,
                row=row,
                column="outcome",
            )
        arms = spec.references[r["ref"]].arms
        if r["cell_type"] not in arms:
            raise InputError(
                f"reference {r['ref']} has no {r['cell_type']} arm (its arms: {', '.join(arms)})",
                file=name,
                row=row,
                column="cell_type",
            )
        key = (r["disease"], r["outcome"], r["ref"], r["cell_type"])
        if key in seen:
            raise InputError(
                f"duplicate arm {r['ref']}-{r['cell_type']} for {r['disease']} "
                f"{r['outcome']} (also row {seen[key]})",
                file=name,
                row=row,
                column="ref",
            )
        seen[key] = row
    out["arm"] = [f"{r}-{c}" for r, c in zip(out["ref"], out["cell_type"], strict=True)]
    out.attrs["source"] = name
    return out


@dataclass
class StudyLevelResult:
    """Per published row: RevMan-method, paired and PyMC re-analyses next to the published."""

    table: pd.DataFrame  # one row per published analysis
    sensitivity: pd.DataFrame  # overall rows under each r
    pymc: dict[tuple[str, str], Any] = field(default_factory=dict)  # (disease, outcome) -> fit
    pymc_summaries: dict[tuple[str, str], pd.DataFrame] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def _arm_rows(
    arms: pd.DataFrame, disease: str, outcome: str, wanted: tuple[str, ...]
) -> tuple[pd.DataFrame, list[str]]:
    """The rows of ``wanted`` arms (indexed by arm id, in ``wanted`` order) and the missing ids."""
    sel = arms[(arms["disease"] == disease) & (arms["outcome"] == outcome)]
    sel = sel.set_index("arm")
    missing = [a for a in wanted if a not in sel.index]
    return sel.reindex([a for a in wanted if a in sel.index]), missing


def _effects(rows: pd.DataFrame, r: float | None) -> EffectSizes:
    """RevMan before/after effects (``r`` None) or paired mean changes with correlation ``r``."""
    from bayesmeta.effects import before_after, mean_change

    m_pre, sd_pre, m_post, sd_post, n = (
        rows[c].to_numpy(dtype=float) for c in ("m_pre", "sd_pre", "m_post", "sd_post", "n")
    )
    if r is None:
        return before_after(m_pre, sd_pre, n, m_post, sd_post, n)
    return mean_change(m_pre, sd_pre, m_post, sd_post, n, r)


def _table(rows: pd.DataFrame, es: EffectSizes) -> StudyTable:
    return StudyTable.from_frame(
        pd.DataFrame(
            {
                "study": list(rows.index),
                "yi": es.yi,
                "vi": es.vi,
                "cell_type": list(rows["cell_type"]),
            }
        ),
        subgroup="cell_type",
    )


def _pool(table: StudyTable, method: str, level: float) -> MetaResult:
    """RevMan 5 pooling of ``table`` by ``method`` (FE for a single arm)."""
    from bayesmeta.classical import pool

    return pool(table, method=method if table.k > 1 else "FE", preset="revman5", level=level)


def _figure_method(spec: ReviewSpec, table: StudyTable) -> tuple[str, float | None]:
    """The review's rule on all arms of a forest plot: (method, Q p)."""
    from bayesmeta.classical import pool

    if table.k < 2:
        return "FE", None
    q_p = pool(table, method="FE").q_p
    if q_p is None:  # FE pooling of k >= 2 studies always reports Cochran's Q
        raise ValueError("no heterogeneity test for a forest plot with k >= 2 arms")
    return spec.rule.choose(q_p), q_p


def analyse(
    arms: pd.DataFrame,
    spec: ReviewSpec,
    *,
    seed: int,
    mcmc: bool = True,
    progress: Callable[[str], None] | None = None,
    draws: int = 1000,
    tune: int = 1000,
    chains: int = 2,
    cores: int | None = None,
) -> StudyLevelResult:
    """The study-level analysis of every published row (see the module docstring)."""
    say = progress or (lambda _m: None)
    level = spec.level
    r_main = spec.study_level.r
    records: list[dict[str, Any]] = []
    sens: list[dict[str, Any]] = []
    notes: list[str] = []
    result = StudyLevelResult(pd.DataFrame(), pd.DataFrame())
    ss = np.random.SeedSequence(seed)
    groups = spec.groups()
    seeds = ss.spawn(len(groups))
    for gi, (d, o) in enumerate(groups):
        overall = spec.overall(d, o)
        all_rows, missing_all = _arm_rows(arms, d, o, overall.arms)
        if missing_all:
            notes.append(
                f"{d} {o}: arms missing from the file: {', '.join(missing_all)}; the "
                "rows of this outcome are analysed only where all their arms are present"
            )
        fig_method = fig_method_paired = None
        q_p = q_p_paired = None
        if not missing_all:
            fig_method, q_p = _figure_method(spec, _table(all_rows, _effects(all_rows, None)))
            fig_method_paired, q_p_paired = _figure_method(
                spec, _table(all_rows, _effects(all_rows, r_main))
            )
        for a in [overall, *spec.subgroups(d, o)]:
            rows, missing = _arm_rows(arms, d, o, a.arms)
            rec: dict[str, Any] = {
                "analysis": a.key,
                "arms_found": len(rows),
                "arms_missing": " ".join(missing),
            }
            if missing or fig_method is None:
                rec["status"] = "incomplete"
                records.append(rec)
                continue
            p = a.published
            rm = _pool(_table(rows, _effects(rows, None)), fig_method, level)
            pa = _pool(_table(rows, _effects(rows, r_main)), fig_method_paired or "FE", level)
            rec |= {
                "status": "analysed",
                "n_file": int(rows["n"].sum()),
                "revman_method": fig_method if len(rows) > 1 else "single",
                "revman_q_p_figure": q_p,
                "revman_md": rm.estimate,
                "revman_ci_low": rm.ci_low,
                "revman_ci_high": rm.ci_high,
                "revman_q": rm.q,
                "revman_q_p": rm.q_p,
                "revman_tau2": rm.tau2,
                "revman_diff_md": rm.estimate - p.md,
                "revman_diff_ci_low": rm.ci_low - p.ci_low,
                "revman_diff_ci_high": rm.ci_high - p.ci_high,
                "paired_r": r_main,
                "paired_method": (fig_method_paired or "FE") if len(rows) > 1 else "single",
                "paired_q_p_figure": q_p_paired,
                "paired_md": pa.estimate,
                "paired_ci_low": pa.ci_low,
                "paired_ci_high": pa.ci_high,
            }
            records.append(rec)
            if a.is_overall:
                for r in dict.fromkeys((0.0, r_main, *spec.study_level.r_sensitivity)):
                    es_r = _effects(rows, r)
                    meth, qp = _figure_method(spec, _table(rows, es_r))
                    res = _pool(_table(rows, es_r), meth, level)
                    sens.append(
                        {
                            "analysis": a.key,
                            "r": r,
                            "method": meth,
                            "q_p": qp,
                            "md": res.estimate,
                            "ci_low": res.ci_low,
                            "ci_high": res.ci_high,
                        }
                    )
        if mcmc and not missing_all:
            say(f"study level {d} {o}: PyMC nested model ({len(all_rows)} arms)")
            fit, summary = _fit_pymc(
                spec,
                d,
                o,
                all_rows,
                seed=int(seeds[gi].generate_state(1)[0]),
                draws=draws,
                tune=tune,
                chains=chains,
                cores=cores,
            )
            result.pymc[(d, o)] = fit
            result.pymc_summaries[(d, o)] = summary
            for rec in records:
                if not rec["analysis"].startswith(f"{d}/{o}/") or rec.get("status") != "analysed":
                    continue
                sub = rec["analysis"].rsplit("/", 1)[1]
                name = "mu" if sub == "all" else f"mu_subgroup[{sub}]"
                post = fit.idata_["posterior"]
                x = post["mu"] if sub == "all" else post["mu_subgroup"].sel(subgroup=sub)
                x = np.asarray(x.values).reshape(-1)
                rec |= {
                    "pymc_median": float(np.median(x)),
                    "pymc_ci_low": float(summary["ci_low"].loc[name]),
                    "pymc_ci_high": float(summary["ci_high"].loc[name]),
                    "pymc_max_rhat": fit.diagnostics_["max_rhat"],
                    "pymc_divergences": fit.diagnostics_["divergences"],
                }
    result.table = pd.DataFrame(records)
    result.sensitivity = pd.DataFrame(sens)
    result.notes = notes
    return result


def _fit_pymc(
    spec: ReviewSpec,
    disease: str,
    outcome: str,
    rows: pd.DataFrame,
    *,
    seed: int,
    draws: int,
    tune: int,
    chains: int,
    cores: int | None,
) -> tuple[Any, pd.DataFrame]:
    """Nested arms-in-studies model with cell-type means and the paired variance (fixed r)."""
    from bayesmeta.hierarchical import fit as hfit
    from bayesmeta.review.summaries import summarize

    es = _effects(rows, spec.study_level.r)
    mean, sd = spec.effect_prior(spec.cell_type_prior.mu, disease, outcome)
    tau_prior = spec.tau_prior_text(disease, outcome)
    table = pd.DataFrame(
        {
            "study": list(rows.index),
            "yi": es.yi,
            "vi": es.vi,
            "cell_type": list(rows["cell_type"]),
            "cluster": [str(r) for r in rows["ref"]],
        }
    )
    bm = hfit(
        table,
        "nested",
        subgroup="cell_type",
        cluster="cluster",
        subgroups=True,
        mu_prior=f"normal({_g(mean)}, {_g(sd)})",
        tau_prior=tau_prior,
        tau_arm_prior=tau_prior,
        draws=draws,
        tune=tune,
        chains=chains,
        cores=cores,
        seed=seed,
        target_accept=0.95,
        prior_draws=chains * 50,
        level=spec.level,
        warn=False,
    )
    names = [n for n in ("mu", "mu_subgroup", "tau", "tau_arm") if n in bm.idata_["posterior"]]
    summary = summarize(bm.idata_, var_names=names, ci_prob=spec.level)
    return bm, summary
