"""The re-analysis report: Markdown (``report.md``) and a self-contained HTML render of it.

`markdown_to_html()` is a small converter for the Markdown this module writes (headings,
paragraphs, bullet lists, pipe tables, fenced code, images, ``**bold**``, ``code`` and links);
images are embedded as base64 data URIs so ``report.html`` is one file.
"""

from __future__ import annotations

import base64
import html
import math
import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bayesmeta.summary_text import and_list

if TYPE_CHECKING:
    from bayesmeta.review.results import Reanalysis


# --------------------------------------------------------------------------- formatting


def num(x: Any, digits: int = 2) -> str:
    """A number to ``digits`` decimals; an em dash for missing or non-finite."""
    if x is None:
        return "—"
    try:
        v = float(x)
    except (TypeError, ValueError):
        return str(x)
    if not math.isfinite(v):
        return "—"
    out = f"{v:.{digits}f}"
    return "0." + "0" * digits if out == "-0." + "0" * digits else out


def pval(p: float) -> str:
    """A p value to 3 decimals, ``"< 0.001"`` below 0.001, an em dash if not finite."""
    if not math.isfinite(p):
        return "—"
    return "< 0.001" if p < 0.001 else f"{p:.3f}"


def prob(p: float) -> str:
    """A probability to 3 decimals, ``"> 0.999"``/``"< 0.001"`` at the ends, em dash if NaN."""
    if not math.isfinite(p):
        return "—"
    if p > 0.999:
        return "> 0.999"
    if p < 0.001:
        return "< 0.001"
    return f"{p:.3f}"


def _pfmt(p: float) -> str:
    """'= 0.989', '> 0.999' or '< 0.001' (for 'P ...')."""
    text = prob(p)
    return text if text[0] in "<>—" else f"= {text}"


def interval(est: float, lo: float, hi: float, digits: int = 2) -> str:
    """``"est [lo, hi]"`` to ``digits`` decimals; an em dash if any value is not finite."""
    if not all(math.isfinite(float(v)) for v in (est, lo, hi)):
        return "—"
    return f"{num(est, digits)} [{num(lo, digits)}, {num(hi, digits)}]"


def md_table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A pipe table; cells are converted with str() and pipes escaped."""

    def cell(v: Any) -> str:
        return str(v).replace("|", "\\|").replace("\n", " ")

    lines = [
        "| " + " | ".join(cell(h) for h in header) + " |",
        "|" + "|".join("---" for _ in header) + "|",
    ]
    lines += ["| " + " | ".join(cell(v) for v in r) + " |" for r in rows]
    return "\n".join(lines)


# --------------------------------------------------------------------------- sections


def _intro(r: Reanalysis) -> list[str]:
    spec = r.spec
    s = r.settings
    mc = (
        f"PyMC cross-checks with nutpie NUTS, {s['chains']} chains x {s['draws']} draws "
        f"({s['tune']} tuning)"
        if s["mcmc"]
        else "PyMC cross-checks switched off (mcmc=False)"
    )
    return [
        f"# {spec.title}",
        "",
        f"Review: {spec.review['citation']} doi:{spec.review.get('doi', '')}. "
        f"Spec: `{Path(spec.path).name}` ({len(spec.analyses)} published pooled mean "
        f"differences, {_contrast(spec)}). "
        f"Seed {s['seed']}; {mc}; conjugate and exact posteriors summarised from "
        f"{s['iid_draws']} i.i.d. draws each.",
        "",
        "Every published number below is copied from the review's "
        + ("Results section" if spec.references else "text (the spec quotes each)")
        + "; each re-analysed number says how it was obtained. The review's forest plots are "
        "images, so the per-study values are not in its text: what the text alone cannot "
        "determine is reported as such, not estimated.",
        "",
    ]


def _verdict_section(r: Reanalysis) -> list[str]:
    """The answer first: the verdict table and the sentences generated from it."""
    from bayesmeta.review.verdict import verdict_sentences, verdict_table

    v = verdict_table(r)
    lines = [
        "## Verdict: do the published results hold up?",
        "",
        *[f"- {s}" for s in verdict_sentences(v, r.spec.subgroup_label)],
        "",
        "Per result (`verdict.csv`): the published MD [95 % CI]; the posterior median [95 % CrI] "
        "and P(benefit) under the vague and the sceptical prior (section 4) and under the "
        f"hierarchical {r.spec.subgroup_label.replace(' ', '-')} model (section 5); the "
        "sceptical limit SL of the Analysis of "
        "Credibility (Matthews 2018: a sceptical prior whose 95 % interval is [-SL, SL] or "
        "narrower makes the result non-significant) and Held's (2019) p for intrinsic "
        "credibility (credible if below 0.05). *Holds* means the published interval, the "
        "sceptical prior and the hierarchical model all exclude 0.",
        "",
    ]
    rows = []
    for rec in v.to_dict("records"):
        f = {str(k): float(x) for k, x in rec.items() if isinstance(x, (int, float))}

        def cell(prefix: str, f: dict[str, float] = f) -> str:
            med, lo, hi = (f[f"{prefix}_{x}"] for x in ("median", "ci_low", "ci_high"))
            if math.isnan(med):
                return "-"
            return f"{interval(med, lo, hi)}; P {_pfmt(f[prefix + '_p_benefit'])}"

        sl = f["sceptical_limit"]
        rows.append([
            rec["analysis"],
            interval(f["published_md"], f["published_ci_low"], f["published_ci_high"]),
            cell("vague"), cell("sceptical"), cell("hierarchical"),
            num(sl, 3) if not math.isnan(sl) else "-",
            f"{f['p_intrinsic']:.3g}",
            "yes" if rec["holds"] else "no",
        ])  # fmt: skip
    lines.append(
        md_table(
            [
                "result",
                "published",
                "vague prior",
                "sceptical prior",
                "hierarchical model",
                "SL",
                "Held p",
                "holds",
            ],
            rows,
        )  # fmt: skip
    )
    return [*lines, ""]


def _contrast(spec: Any) -> str:
    """The spec's contrast, without a parenthesis (the intro already is one)."""
    text = str(spec.review.get("contrast") or "as the review defines it")
    return text.split(" (")[0]


_NUMBER_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")


def _rows(n: int, what: str) -> str:
    """'3 pooled subgroup rows', '1 random-effects overall row'."""
    return f"{n} {what} row{'' if n == 1 else 's'}"


def _count_word(n: int) -> str:
    return _NUMBER_WORDS[n] if 0 <= n < len(_NUMBER_WORDS) else str(n)


def _key_numbers(r: Reanalysis) -> list[str]:
    spec = r.spec
    lines = ["## Key results", ""]
    rep = [k for k, c in r.classical.items() if c.status == "reproduced"]
    notrep = [k for k, c in r.classical.items() if c.status == "not reproducible"]
    lines.append(
        f"- **Classical re-analysis from the text**: {len(rep)} of {len(r.classical)} "
        f"rows reproduce to +/- 0.01{' (' + ', '.join(rep) + ')' if rep else ''}; {len(notrep)} "
        "random-effects overall rows cannot be rebuilt from subgroup summaries; the "
        "other pooled subgroup rows need the per-study values."
    )
    for key in rep:
        c = r.classical[key]
        a = next(x for x in spec.analyses if x.key == key)
        if a.is_overall:
            p = a.published
            lines.append(
                f"- **{key}** (fixed effect) from its subgroup summaries: "
                f"{num(c.md, 3)} [{num(c.ci_low, 3)}, {num(c.ci_high, 3)}] against the published "
                f"{num(p.md)} [{num(p.ci_low)}, {num(p.ci_high)}] (largest deviation "
                f"{num(c.max_deviation, 4)})."
            )
    for f in r.findings:
        if f.id.startswith("q-decomposition"):
            lines.append(f"- **Heterogeneity p values**: {f.summary}")
    bad = [f for f in r.findings if f.verdict in ("inconsistent", "implausible")]
    unverifiable = [f for f in r.findings if f.verdict == "unverifiable"]
    lines.append(
        f"- **Consistency**: {len(bad)} of {len(r.findings)} checks find the review's "
        "numbers inconsistent or implausible"
        + (": " + "; ".join(f"{f.title} ({f.verdict})" for f in bad) if bad else "")
        + (
            f"; {len(unverifiable)} cannot be checked from the text ("
            + "; ".join(f.title for f in unverifiable)
            + ")"
            if unverifiable and not bad
            else ""
        )
        + "."
    )
    lines.append("")
    return lines


def _published_section(r: Reanalysis) -> list[str]:
    rows = []
    for a in r.spec.analyses:
        p = a.published
        st = r.stats[a.key]
        rows.append(
            [
                a.key,
                "—" if p.k is None else p.k,
                "—" if p.n is None else p.n,
                interval(p.md, p.ci_low, p.ci_high),
                p.model,
                p.heterogeneity_p
                or ("—" if p.heterogeneity_i2 is None else f"I^2 = {p.heterogeneity_i2:g} %"),
                num(st.se, 4),
                num(st.z),
                pval(st.p),
                num(st.asymmetry),
                "yes" if st.symmetric else "no",
            ]
        )
    return [
        "## 1. The published rows and what they imply",
        "",
        "SE = (hi - lo) / (2 x 1.95996) from the 95 % CI; z = MD / SE; p = 2 Phi(-|z|) is the "
        "effect's two-sided p. **Symmetry rule**: a Wald CI is symmetric; printed to 2 decimals "
        "its asymmetry hi + lo - 2 MD can only be -0.01, 0 or 0.01 (proof in "
        "`bayesmeta/review/published.py`), so a row is *symmetric within rounding* iff "
        "|hi + lo - 2 MD| <= 0.01. *P printed* is the P the review prints next to the MD (or "
        "the I^2 it prints); a dash is a number the text does not state.",
        "",
        md_table(
            [
                "analysis",
                "k",
                "n",
                "MD [95% CI]",
                "model",
                "P printed",
                "SE",
                "z",
                "p (effect)",
                "hi+lo-2MD",
                "symmetric",
            ],
            rows,
        ),
        "",
    ]


def _classical_section(r: Reanalysis) -> list[str]:
    rows = []
    for a in r.spec.analyses:
        c = r.classical[a.key]
        p = a.published
        rows.append(
            [
                a.key,
                interval(p.md, p.ci_low, p.ci_high),
                c.status,
                interval(c.md, c.ci_low, c.ci_high, 3),
                num(c.max_deviation, 4),
                c.note,
            ]
        )
    return [
        "## 2. Classical re-analysis from the text",
        "",
        "What the text determines is recomputed with the classical engine (inverse variance, "
        "as RevMan 5 pools mean differences): a one-study row is the study's own MD and Wald CI; "
        "a fixed-effect overall row is exactly the inverse-variance pool of its fixed-effect "
        "subgroup summaries. Tolerance: +/- 0.01 (one unit of the printed last place).",
        "",
        "A **random-effects (DerSimonian-Laird) overall row cannot be rebuilt from its subgroup "
        "summaries**: RevMan estimates the overall tau^2 from Cochran's Q over all studies, "
        "ignoring the subgroups, while each subgroup summary's SE already contains that "
        "subgroup's own tau^2. The subgroup summaries therefore do not determine the overall "
        "tau^2 (nor its weights); any number computed from them would only look like a "
        "reproduction. The pooled subgroup rows themselves need the per-arm values, which are in "
        "the forest-plot images only (see section 6).",
        "",
        md_table(
            ["analysis", "published", "status", "re-analysis", "max |dev|", "how / why not"], rows
        ),
        "",
    ]


def _q_section(r: Reanalysis) -> list[str]:
    lines = [
        "## 3. The heterogeneity p values: Q backed out and the fixed-effect decomposition",
        "",
        "For a fixed-effect row the printed heterogeneity p gives Cochran's Q = chi2.isf(p, df); "
        "a p printed as 0.13 stands for [0.125, 0.135), so Q lies in an interval. For fixed-effect "
        "pooling Q_total = sum of the subgroup Q's + Q_between exactly, with Q_between the "
        "fixed-effect Q of the subgroup estimates (its interval: the extremes over the rounding "
        "box of the printed MDs and CIs). The overall p then tells which df the review used.",
        "",
    ]
    decomposed = False
    for f in r.findings:
        if not f.id.startswith("q-decomposition"):
            continue
        decomposed = True
        lines.append(
            md_table(
                ["part", "Q low", "Q high"],
                [[x["part"], num(x["q_low"], 3), num(x["q_high"], 3)] for x in f.rows],
            )
        )
        lines.append("")
        dec = f.values["decomposition"]
        lines.append(
            md_table(
                ["overall df hypothesis", "df", "p range", "printed p", "fits"],
                [
                    [
                        name,
                        c[0],
                        f"[{c[1]:.4f}, {c[2]:.4f}]",
                        f"[{dec.p_published[0]:.3f}, {dec.p_published[1]:.3f})",
                        "yes" if c[3] else "no",
                    ]
                    for name, c in dec.candidates.items()
                ],
            )
        )
        lines.append("")
        i2 = ", ".join(f"{k}: {v:.0f} %" for k, v in f.values["i2_percent"].items())
        lines.append(f"**Verdict**: {dec.verdict}. Implied overall I^2 = (Q - df)/Q: {i2}.")
        lines.append("")
    if not decomposed:
        printed = sum(a.published.heterogeneity_p is not None for a in r.spec.analyses)
        lines.append(
            "No outcome is fixed-effect throughout with its heterogeneity p and k printed "
            f"({printed} of {len(r.spec.analyses)} rows print a heterogeneity p): nothing to "
            "decompose."
        )
        lines.append("")
    return lines


def _bayes_section(r: Reanalysis) -> list[str]:
    spec = r.spec
    lines = [
        "## 4. Bayesian re-analysis of the published estimates",
        "",
        "Each published MD is one observation, MD ~ N(theta, SE^2) with its implied SE, "
        "combined with a normal prior on theta (conjugate: the posterior is normal, exact). "
        "P(benefit) is the posterior probability of an improvement (" + _benefit_text(spec) + ").",
        "",
        f"**Priors.** {spec.prior_rationale}",
        "",
    ]
    lines.append(
        md_table(
            ["prior set", "mean (x D, towards benefit)", "sd (x D)", "rationale"],
            [
                [p.name, f"{p.mean:g}", f"{p.sd:g}", p.rationale]
                for p in spec.effect_priors.values()
            ],
        )
    )
    lines.append("")
    rows = []
    for d, o in spec.groups():
        dd = spec.reference_difference(d, o)
        rows.append(
            [
                f"{d} {spec.outcomes[o].label}",
                num(dd),
                *[
                    "normal({:.4g}, {:.4g})".format(*spec.effect_prior(n, d, o))
                    for n in spec.effect_priors
                ],
            ]
        )
    lines.append(md_table(["outcome", "D", *[f"{n} prior" for n in spec.effect_priors]], rows))
    lines.append("")
    mc = [o.label for o in spec.outcomes.values() if o.mcid is not None]
    lines.append(
        "**Clinically meaningful differences.** "
        + (
            f"Declared for {', '.join(mc)} (see spec)."
            if mc
            else "None is declared: no accepted value with a source this project could verify was "
            "found for these outcomes, so P(benefit beyond a clinically meaningful difference) "
            "is not reported (the column is empty). The spec accepts one per outcome with its "
            "value, unit and source."
        )
    )
    lines.append("")
    rows = []
    for a in spec.analyses:
        cells = [a.key, interval(a.published.md, a.published.ci_low, a.published.ci_high)]
        for b in r.bayes[a.key]:
            lo, hi = b.posterior.interval(spec.level)
            cells.append(f"{interval(b.posterior.median, lo, hi)}; P {_pfmt(b.p_benefit)}")
        rows.append(cells)
    lines.append(
        md_table(
            [
                "analysis",
                "published",
                *[f"{n}: median [95% CrI]; P(benefit)" for n in spec.effect_priors],
            ],
            rows,
        )
    )
    lines += [
        "",
        "Check: under the vague prior the posterior median and 95 % interval equal "
        "the published MD and CI (to the rounding of the SE).",
        "",
    ]
    return lines


def _benefit_text(spec: Any) -> str:
    """'C-peptide up; HbA1c, FPG and insulin dose down' from the outcomes' directions."""
    parts = []
    for direction, word in (("increase", "up"), ("decrease", "down")):
        labels = [o.short for o in spec.outcomes.values() if o.benefit == direction]
        if labels:
            parts.append(f"{and_list(labels)} {word}")
    return "; ".join(parts)


def _celltype_section(r: Reanalysis) -> list[str]:
    spec = r.spec
    cp = spec.cell_type_prior
    label = spec.subgroup_label
    adj = label.replace(" ", "-")
    units = sorted({len(spec.subgroups(d, o)) for d, o in spec.groups()})
    n_units = " or ".join(_count_word(n) for n in units)
    lines = [
        f"## 5. Hierarchical {adj} model on the subgroup summaries",
        "",
        f"Per outcome the {label}s are the units: y_c ~ N(theta_c, SE_c^2) with the published "
        f"subgroup MD and implied SE, theta_c ~ N(mu, tau^2), tau the between-{adj} SD. "
        f"Priors: mu ~ the {cp.mu} prior; tau ~ {cp.tau_family}(scale {cp.tau_scale:g} x D). "
        f"{cp.rationale}",
        "",
        "The **exact engine** (`bayesmeta.exact.NormalNormal`, 1-D integration over tau) gives "
        "the numbers; the **PyMC** model (`bayesmeta.hierarchical`, non-centred, nutpie) is the "
        "cross-check: it is fitted to y/D and SE/D with the priors in units of D (the model is "
        "scale-equivariant), so "
        + (
            f"the {_count_word(len(spec.groups()))} outcomes share one compiled model."
            if len(spec.groups()) > 1
            else "it is compiled once."
        ),
        "",
        f"mu is *not* the review's overall MD: the review pooled studies, this model pools "
        f"{n_units} {adj} summaries with a between-{adj} SD, so its mu is wider and its "
        "theta_c are shrunk towards each other.",
        "",
    ]
    rows = []
    for (d, o), f in r.celltype.items():
        for a in [spec.overall(d, o), *spec.subgroups(d, o)]:
            par = f.param(a.subgroup)
            e = f.exact[par]
            m = f.pymc.get(par)
            rows.append(
                [
                    a.key,
                    par,
                    interval(a.published.md, a.published.ci_low, a.published.ci_high),
                    interval(e.median, e.ci_low, e.ci_high),
                    prob(e.p_benefit),
                    interval(m.median, m.ci_low, m.ci_high) if m else "—",
                ]
            )
        t = f.exact["tau"]
        m = f.pymc.get("tau")
        tp = f.tau_prior_summary
        rows.append(
            [
                f"{d}/{o}",
                "tau",
                f"prior {f.tau_prior}: " + interval(*tp),
                interval(t.median, t.ci_low, t.ci_high),
                "—",
                interval(m.median, m.ci_low, m.ci_high) if m else "—",
            ]
        )
    lines.append(
        md_table(
            [
                "analysis",
                "parameter",
                "published",
                "exact: median [95% CrI]",
                "P(benefit)",
                "PyMC: median [95% CrI]",
            ],
            rows,
        )
    )
    lines.append("")
    diag_rows = []
    for (d, o), f in r.celltype.items():
        if not f.pymc_diagnostics:
            continue
        g = f.pymc_diagnostics
        agree = max(
            abs(f.pymc[k].median - e.median) / e.sd
            for k, e in f.exact.items()
            if k in f.pymc and e.sd > 0
        )
        diag_rows.append(
            [
                f"{d}/{o}",
                num(agree, 3),
                num(g["max_rhat"], 3),
                f"{g['min_ess_bulk']:.0f}",
                f"{g['min_ess_tail']:.0f}",
                g["divergences"],
                num(g["min_bfmi"], 2),
                g["treedepth_hits"],
                f"{f.pymc_time:.1f}",
                f.pymc_settings.get("cache_hit", ""),
                "; ".join(f.pymc_warnings) or "none",
            ]
        )
    if diag_rows:
        lines += [
            "**Sampler diagnostics** (PyMC cross-check; R-hat rank-normalised split, "
            "warn > 1.01; ESS warn < 100 per chain; E-BFMI warn < 0.3). The first column "
            "compares the PyMC posterior medians of mu, tau and theta_c with the exact "
            "engine's, in exact posterior SDs. Where one subgroup's SE is tiny the "
            "non-centred model needs long trajectories (tree-depth hits): an "
            "efficiency, not a validity, warning; the agreement column shows the result.",
            "",
            md_table(
                [
                    "outcome",
                    "max |PyMC - exact| median / exact SD",
                    "max R-hat",
                    "min ESS bulk",
                    "min ESS tail",
                    "divergences",
                    "min E-BFMI",
                    "tree-depth hits",
                    "time (s)",
                    "compiled model reused",
                    "warnings",
                ],
                diag_rows,
            ),
            "",
        ]
        any_f = next(iter(r.celltype.values()))
        lines.append(
            "PyMC settings: "
            + "; ".join(
                f"{k} = {v}"
                for k, v in any_f.pymc_settings.items()
                if k not in ("cache_hit", "standardised")
            )
            + "."
        )
        lines.append("")
    else:
        lines += ["PyMC cross-check not run (mcmc=False).", ""]
    return lines


def _study_section(r: Reanalysis) -> list[str]:
    lines = ["## 6. Study-level re-analysis", ""]
    if r.studylevel is None and not r.spec.references:
        lines += [
            "Not run: it needs per-study values (n, means and SDs per study and outcome), which "
            "the review's text does not give, and the spec does not list the review's studies.",
            "",
        ]
        return lines
    if r.studylevel is None:
        multi = [(ref, len(x.arms)) for ref, x in sorted(r.spec.references.items())
                 if len(x.arms) > 1]  # fmt: skip
        words = {2: "two", 3: "three", 4: "four", 5: "five"}
        nested = (
            " and "
            + ", ".join(f"ref {ref}'s {words.get(n, str(n))} arms" for ref, n in multi)
            + " nested in one study"
            if multi
            else ""
        )
        lines += [
            "Not run: it needs the per-arm values of the forest plots (n, baseline and "
            "follow-up mean and SD per arm and outcome), which are images in the review. Enter "
            f"them in `docs/templates/{r.spec.review['id']}_forest_arms_template.csv` "
            "(identifiers filled, values empty) and run `bayesmeta reproduce --studies FILE`: "
            "every published row is then re-analysed with the review's RevMan method "
            "(before/after as independent groups, FE or DL by its Q rule), with the paired "
            "variance (pre/post correlation r) and with a PyMC model with study random effects, "
            f"{r.spec.subgroup_label.replace(' ', '-')} terms{nested}.",
            "",
        ]
        return lines
    sl = r.studylevel
    spec = r.spec
    lines += [
        f"Per-arm values from `{r.settings['studies']}`. RevMan method: MD = m_post - m_pre, "
        "vi = sd_pre^2/n + sd_post^2/n (independent groups), FE or DL by the review's rule "
        "decided once per forest plot on all its arms. Paired: vi = (sd_pre^2 + sd_post^2 - "
        f"2 r sd_pre sd_post)/n with r = {spec.study_level.r:g} ({spec.study_level.rationale}). "
        "PyMC: arms nested in studies, a mean per cell type, the paired variance.",
        "",
    ]
    lines += [f"- {n}" for n in sl.notes] + ([""] if sl.notes else [])
    rows = []
    t = sl.table
    for rec in t.to_dict("records"):
        a = next(x for x in spec.analyses if x.key == rec["analysis"])
        p = a.published
        if rec.get("status") != "analysed":
            rows.append(
                [rec["analysis"], interval(p.md, p.ci_low, p.ci_high), "incomplete", "—", "—", "—"]
            )
            continue
        pym = (
            interval(rec["pymc_median"], rec["pymc_ci_low"], rec["pymc_ci_high"])
            if "pymc_median" in rec and rec["pymc_median"] == rec["pymc_median"]
            else "—"
        )
        rows.append(
            [
                rec["analysis"],
                interval(p.md, p.ci_low, p.ci_high),
                f"{rec['revman_method']}: "
                + interval(rec["revman_md"], rec["revman_ci_low"], rec["revman_ci_high"]),
                num(rec["revman_diff_md"], 3),
                interval(rec["paired_md"], rec["paired_ci_low"], rec["paired_ci_high"]),
                pym,
            ]
        )
    lines.append(
        md_table(
            [
                "analysis",
                "published",
                "RevMan method",
                "MD - published",
                f"paired (r = {spec.study_level.r:g})",
                "PyMC nested",
            ],
            rows,
        )
    )
    lines.append("")
    if not sl.sensitivity.empty:
        lines.append("Overall rows under each pre/post correlation r (r = 0 is RevMan's variance):")
        lines.append("")
        lines.append(
            md_table(
                ["analysis", "r", "method", "MD [95% CI]"],
                [
                    [
                        s["analysis"],
                        f"{s['r']:g}",
                        s["method"],
                        interval(s["md"], s["ci_low"], s["ci_high"]),
                    ]
                    for s in sl.sensitivity.to_dict("records")
                ],
            )
        )
        lines.append("")
    if sl.pymc:
        rows = []
        for (d, o), bm in sl.pymc.items():
            g = bm.diagnostics_
            rows.append(
                [
                    f"{d}/{o}",
                    num(g["max_rhat"], 3),
                    f"{g['min_ess_bulk']:.0f}",
                    f"{g['min_ess_tail']:.0f}",
                    g["divergences"],
                    num(g["min_bfmi"], 2),
                    "; ".join(bm.warnings_) or "none",
                ]
            )
        lines += [
            "**Sampler diagnostics** (study-level nested model):",
            "",
            md_table(
                [
                    "outcome",
                    "max R-hat",
                    "min ESS bulk",
                    "min ESS tail",
                    "divergences",
                    "min E-BFMI",
                    "warnings",
                ],
                rows,
            ),
            "",
        ]
    return lines


def _sd_cell(value: float, rng: tuple[float, float]) -> str:
    return f"{num(value, 3)} [{num(rng[0], 3)}, {num(rng[1], 3)}]"


def _findings_section(r: Reanalysis) -> list[str]:
    lines = ["## 7. Consistency of the review's own numbers", ""]
    for f in r.findings:
        lines.append(f"### {f.title} — **{f.verdict}**")
        lines.append("")
        lines.append(f.summary)
        lines.append("")
        if f.id == "sample-sizes":
            bad = [x for x in f.rows if x["difference"] != 0]
            lines.append(
                md_table(
                    ["analysis", "arms", "n text", "n Table 1", "verdict"],
                    [
                        [x["analysis"], x["arms"], x["n_text"], x["n_table1"], x["verdict"]]
                        for x in bad
                    ],
                )
            )
            lines.append("")
        elif f.id == "one-study-sd":
            lines.append(
                md_table(
                    [
                        "analysis",
                        "n (source)",
                        "SE",
                        "SD, independent groups [rounding range]",
                        "change SD, paired [rounding range]",
                        "verdict",
                    ],
                    [
                        [
                            x["analysis"],
                            f"{x['n']} ({x['n_source']})",
                            num(x["se"], 4),
                            _sd_cell(x["sd_independent"], x["sd_independent_range"]),
                            _sd_cell(x["sd_change_paired"], x["sd_change_paired_range"]),
                            x["verdict"],
                        ]
                        for x in f.rows
                    ],
                )
            )
            lines.append("")
            for o in r.spec.outcomes.values():
                # the yardstick of check_one_study_sd: both SDs must be declared
                if o.typical_sd is not None and o.typical_change_sd is not None:
                    lines.append(
                        f"Yardstick for {o.label}: typical SD {o.typical_sd.value:g} "
                        f"({o.typical_sd.source}); typical change SD "
                        f"{o.typical_change_sd.value:g} ({o.typical_change_sd.source}). "
                        f"Verdict 'implausible' when both implied SDs (upper rounding "
                        f"bound) are below {f.values['implausible_fraction']:g} x the "
                        "yardstick. The unit is not stated; in mmol/mol the implied "
                        "SD would be still less plausible."
                    )
                    lines.append("")
        elif f.id == "follow-up":
            lines.append(
                md_table(
                    ["analysis", "label", "Table 1 follow-up (months)", "arms < 12 m", "verdict"],
                    [
                        [
                            x["analysis"],
                            x["label"],
                            f"{x['follow_up_min']:g}-{x['follow_up_max']:g}",
                            x["arms_shorter"] or "—",
                            x["verdict"],
                        ]
                        for x in f.rows
                    ],
                )
            )
            lines.append("")
        elif f.id == "printed-p":
            lines.append(
                md_table(
                    [
                        "analysis",
                        "P printed",
                        "effect p from CI",
                        "CI includes 0",
                        "could be the effect's p",
                    ],
                    [
                        [
                            x["analysis"],
                            x["p_printed"],
                            pval(x["p_effect_from_ci"]),
                            "yes" if x["ci_includes_0"] else "no",
                            "yes" if x["effect_p_compatible"] else "no",
                        ]
                        for x in f.rows
                    ],
                )
            )
            lines.append("")
    return lines


def _sensitivity_section(r: Reanalysis) -> list[str]:
    """How much each row's Bayesian answer moves with the between-study (tau) prior."""
    df = r.sensitivity
    if df is None or df.empty:
        return []
    n_priors = int(df.groupby("analysis", sort=False).size().iloc[0])
    adj = r.spec.subgroup_label.replace(" ", "-")
    lines = [
        "## Prior sensitivity (exact engine)",
        "",
        f"Every row re-fitted under {n_priors} tau priors: half-normal and half-Cauchy with "
        f"scales from 0.1 to 2 times the {adj} model's tau-prior scale, with that model's "
        f"mu prior (`sensitivity.csv` has every fit). The {adj} models use the published "
        "subgroup summaries as units: with 2 or 3 units the data say little about tau, so the "
        "tau prior shapes its posterior and the width of the interval for mu. A single "
        "published summary (k = 1) is not swept at all, since tau is not identified there; "
        "the verdict's Analysis of Credibility asks the question that fits it. "
        "*P(benefit)* is the posterior probability that mu lies on the side of 0 "
        "the outcome calls a benefit. Verdict: whether the 95 % central interval of mu "
        "excludes 0 under all, some or none of the priors.",
        "",
        "| analysis | k | mu median (range) | lowest 2.5 % | highest 97.5 % | P(benefit) range "
        "| interval excludes 0 |",
        "|---|---|---|---|---|---|---|",
    ]
    for key, g in df.groupby("analysis", sort=False):
        outcome = str(key).split("/")[1]
        sign = r.spec.outcomes[outcome].sign
        p_benefit = g["p_mu_below"] if sign < 0 else 1.0 - g["p_mu_below"]
        excludes = ((g["mu_ci_low"] > 0) | (g["mu_ci_high"] < 0)).sum()
        total = len(g)
        verdict = (
            f"all {total}"
            if excludes == total
            else "none"
            if excludes == 0
            else f"{excludes} of {total}: depends on the tau prior"
        )
        lines.append(
            f"| {key} | {int(g['k'].iloc[0])} | {g['mu_median'].min():.3g} to "
            f"{g['mu_median'].max():.3g} | {g['mu_ci_low'].min():.3g} | "
            f"{g['mu_ci_high'].max():.3g} | {p_benefit.min():.3f} to {p_benefit.max():.3f} "
            f"| {verdict} |"
        )
    return lines + [""]


def _safety_section(r: Reanalysis) -> list[str]:
    """The review's adverse events per cell type, with exact and Bayesian intervals."""
    t = r.safety
    if t is None or t.empty:
        return []

    def pc(x: float) -> str:
        return f"{100 * x:.2f}"

    rows = []
    for rec in t.to_dict("records"):
        r3 = (
            ""
            if math.isnan(rec["rule_of_three"])
            else f"; rule of three <= {pc(rec['rule_of_three'])}"
        )
        rows.append([
            f"{rec['disease']} {rec['cell_type']}", str(rec["event"]),
            f"{rec['events']}/{rec['n']} ({pc(rec['rate'])})",
            f"[{pc(rec['cp_low'])}, {pc(rec['cp_high'])}]{r3}",
            f"[{pc(rec['wilson_low'])}, {pc(rec['wilson_high'])}]",
            f"{pc(rec['post_median'])} [{pc(rec['cri_low'])}, {pc(rec['cri_high'])}]",
            f"{rec['p_rate_above_1pct']:.3f}", f"{rec['p_rate_above_5pct']:.3f}",
        ])  # fmt: skip
    lines = [
        "## Safety: adverse events per cell type",
        "",
        "The review's title promises safety as well as efficacy; its Results report adverse "
        "events as counts per cell type (`safety.csv`, from `data/zhang2020_adverse.csv`). "
        "Rates in percent: the exact (Clopper-Pearson) and Wilson 95 % intervals, and the "
        "posterior median and 95 % credible interval under the Jeffreys prior Beta(1/2, 1/2), "
        "with the posterior probabilities that the rate exceeds 1 % and 5 %.",
        "",
        md_table(
            [
                "cell type",
                "event",
                "events/n (%)",
                "exact 95 % CI",
                "Wilson 95 % CI",
                "Jeffreys median [95 % CrI]",
                "P(> 1 %)",
                "P(> 5 %)",
            ],
            rows,
        ),  # fmt: skip
        "",
        "What these counts cannot show: they are summed over the studies of each cell type (the "
        "review gives no per-study counts), so between-study differences cannot be seen; there "
        "is no comparison arm, so no event can be attributed to the cells rather than to the "
        "disease, the conditioning or the procedure; and 'no obvious adverse reaction' in the "
        "24 T1DM patients given MSC is not a count of zero events of any one kind (the 0/24 row "
        "bounds the rate of a reported reaction, nothing more). The mild side effects the text "
        "mentions for HSC (nausea, vomiting, fever, alopecia) are not counted there. No event "
        "is reported in the same words for more than one cell type (nausea and vomiting for "
        "BM-MNC; nausea, vomiting and headache for MSC), so no hierarchical model pools rates "
        "across cell types: it would pool different events.",
        "",
    ]
    return lines


def _trust_section(r: Reanalysis) -> list[str]:
    from bayesmeta.review.trust import trust_section

    return trust_section(r.trust, r.spec.level)


def _figures_section(r: Reanalysis) -> list[str]:
    if not r.figures:
        return []
    lines = ["## 8. Figures", ""]
    for caption, path in r.figures:
        lines += [f"![{caption}]({path})", ""]
    return lines


def _limits_section(r: Reanalysis) -> list[str]:
    spec = r.spec
    pooled_subgroups = [a for a in spec.analyses if not a.is_overall and a.published.k != 1]
    random_overall = [a for a in spec.analyses if a.is_overall and a.published.model == "random"]
    where = (
        "are drawn in the forest-plot images, not printed in the text"
        if spec.references
        else "are not in the text"
    )
    lines = [
        "## 9. What cannot be reproduced without study-level data, and why",
        "",
        f"- The {_rows(len(pooled_subgroups), 'pooled subgroup')}: their inputs (per-arm n, "
        f"means and SDs before and after) {where}.",
    ]
    if random_overall:
        lines.append(
            f"- The {_rows(len(random_overall), 'random-effects overall')}: the DerSimonian-Laird "
            "tau^2 comes from Q over all studies; the subgroup summaries fix neither Q nor the "
            "study weights."
        )
    by_id = {f.id: f for f in r.findings}
    fu = by_id.get("follow-up")
    if fu is not None and fu.rows:
        lo = min(x["follow_up_min"] for x in fu.rows)
        hi = max(x["follow_up_max"] for x in fu.rows)
        lines.append(
            "- Which follow-up time point each study contributed (the text says 12 months; "
            f"Table 1's mean follow-ups run from {lo:g} to {hi:g} months)."
        )
    sd = by_id.get("one-study-sd")
    low = (
        [x for x in sd.rows if x["verdict"] == "implausible" and x["n_source"] == "text"]
        if sd
        else []
    )
    if low:
        x = low[0]
        label = spec.outcomes[x["analysis"].split("/")[1]].label
        lines.append(
            f"- Whether the review's SDs are SDs (the one-study {label} row implies an SD of "
            f"about {x['sd_independent']:.2f}) and which n entered each arm where the text and "
            "Table 1 differ."
        )
    if "study-lists" in by_id:
        lines.append(
            "- Which studies each row pools, and so its patients, k and follow-up: the text "
            "does not say."
        )
    lines.append("")
    return lines


def _appendix(r: Reanalysis) -> list[str]:
    lines = [
        "## Appendix: ArviZ summaries behind the Bayesian numbers",
        "",
        "`az.summary(..., ci_prob=0.95)` (ArviZ 1.x: equal-tailed interval). For the conjugate "
        "and exact posteriors the draws are i.i.d. draws from the exact posterior (normal draws; "
        "inverse-CDF draws from each exact marginal), so their R-hat and ESS only confirm the "
        "draws are independent; the MCMC rows are the PyMC sampler's own. All of them are in "
        "`arviz_summary.csv`.",
        "",
    ]
    t = r.arviz_summary
    for source, g in t.groupby("source", sort=False):
        lines.append(f"**{source}** ({g['draws'].iloc[0]})")
        lines.append("")
        lines.append(
            md_table(
                ["param", "mean", "sd", "2.5%", "97.5%", "ess_bulk", "ess_tail", "r_hat"],
                [
                    [
                        x["param"],
                        num(x["mean"], 4),
                        num(x["sd"], 4),
                        num(x["ci_low"], 4),
                        num(x["ci_high"], 4),
                        f"{x['ess_bulk']:.0f}",
                        f"{x['ess_tail']:.0f}",
                        num(x["r_hat"], 3),
                    ]
                    for x in g.to_dict("records")
                ],
            )
        )
        lines.append("")
    tm = "; ".join(f"{k} {v:.1f} s" for k, v in r.timings.items())
    lines += [f"Run time: {tm}.", ""]
    return lines


def build_markdown(r: Reanalysis) -> str:
    """The text of ``report.md``: every section of the report in order."""
    parts: list[str] = []
    for section in (
        _intro,
        _verdict_section,
        _key_numbers,
        _published_section,
        _classical_section,
        _q_section,
        _bayes_section,
        _celltype_section,
        _sensitivity_section,
        _trust_section,
        _safety_section,
        _study_section,
        _findings_section,
        _figures_section,
        _limits_section,
        _appendix,
    ):
        parts += section(r)
    return "\n".join(_number_sections(parts)).rstrip() + "\n"


#: Sections that stand outside the numbering (the answer first, the summary, the appendix).
_UNNUMBERED = ("Verdict", "Key results", "Appendix")


def _number_sections(lines: list[str]) -> list[str]:
    """Number the ``## `` sections 1, 2, ... in order (any number they carried is replaced)."""
    out, n = [], 0
    for line in lines:
        if line.startswith("## "):
            title = re.sub(r"^\d+\.\s*", "", line[3:])
            if not title.startswith(_UNNUMBERED):
                n += 1
                title = f"{n}. {title}"
            line = "## " + title
        out.append(line)
    return out


def write_report(r: Reanalysis, out: Path) -> tuple[Path, Path]:
    """Write ``report.md`` and ``report.html`` (figures embedded) into ``out``."""
    text = build_markdown(r)
    md_path = out / "report.md"
    md_path.write_text(text, encoding="utf-8")
    html_path = out / "report.html"
    html_path.write_text(
        markdown_to_html(text, base=out, title=f"bayesmeta: {r.spec.short_name} re-analysis"),
        encoding="utf-8",
    )
    return md_path, html_path


# --------------------------------------------------------------------------- Markdown -> HTML

_CSS = (
    "body{font-family:system-ui,sans-serif;max-width:72rem;margin:2rem auto;padding:0 1rem;"
    "line-height:1.45;color:#222}table{border-collapse:collapse;margin:.5rem 0;font-size:.85rem}"
    "th,td{border:1px solid #ccc;padding:.2rem .45rem;text-align:left;vertical-align:top}"
    "th{background:#f2f2f2}code{background:#f5f5f5;padding:0 .2rem}pre{background:#f5f5f5;"
    "padding:.6rem;overflow:auto}img{max-width:100%}figure{margin:1rem 0}"
    "figcaption{font-size:.85rem;color:#555}"
)


def _inline(text: str) -> str:
    """Escape HTML, then render `code`, **bold**, *emphasis* and [text](url)."""
    parts = re.split(r"(`[^`]*`)", text)
    out = []
    for p in parts:
        if len(p) >= 2 and p.startswith("`") and p.endswith("`"):
            out.append(f"<code>{html.escape(p[1:-1])}</code>")
            continue
        s = html.escape(p, quote=False)
        s = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", s)
        s = re.sub(r"(?<![\w*])\*(?!\s)([^*\n]+?)(?<!\s)\*(?![\w*])", r"<em>\1</em>", s)
        s = re.sub(r"\[([^\]]+)\]\(([^)\s]+)\)", r'<a href="\2">\1</a>', s)
        out.append(s)
    return "".join(out)


def _split_row(line: str) -> list[str]:
    body = line.strip()
    body = body[1:] if body.startswith("|") else body
    body = body[:-1] if body.endswith("|") and not body.endswith("\\|") else body
    cells = re.split(r"(?<!\\)\|", body)
    return [c.strip().replace("\\|", "|") for c in cells]


def _image(src: str, base: Path | None) -> str:
    if base is not None and not re.match(r"^[a-z]+:", src):
        path = base / src
        if path.exists():
            data = base64.b64encode(path.read_bytes()).decode("ascii")
            return f"data:image/png;base64,{data}"
    return src


def markdown_to_html(text: str, base: Path | None = None, title: str = "report") -> str:
    """Render the Markdown subset described in the module docstring as a standalone page."""
    lines = text.splitlines()
    out: list[str] = []
    para: list[str] = []
    i = 0

    def flush() -> None:
        if para:
            out.append(f"<p>{_inline(' '.join(para))}</p>")
            para.clear()

    while i < len(lines):
        line = lines[i]
        stripped = line.strip()
        if stripped.startswith("```"):
            flush()
            j = i + 1
            block = []
            while j < len(lines) and not lines[j].strip().startswith("```"):
                block.append(lines[j])
                j += 1
            out.append(f"<pre><code>{html.escape(chr(10).join(block))}</code></pre>")
            i = j + 1
            continue
        m = re.match(r"^(#{1,6})\s+(.*)$", stripped)
        if m:
            flush()
            n = len(m.group(1))
            out.append(f"<h{n}>{_inline(m.group(2))}</h{n}>")
            i += 1
            continue
        m = re.match(r"^!\[(.*)\]\(([^)\s]+)\)$", stripped)
        if m:
            flush()
            out.append(
                f'<figure><img src="{_image(m.group(2), base)}" '
                f'alt="{html.escape(m.group(1))}"><figcaption>{_inline(m.group(1))}'
                "</figcaption></figure>"
            )
            i += 1
            continue
        if stripped.startswith("|"):
            flush()
            rows = []
            while i < len(lines) and lines[i].strip().startswith("|"):
                rows.append(lines[i])
                i += 1
            header = _split_row(rows[0])
            body_rows = [r for r in rows[1:] if not re.match(r"^\|[\s:|-]+\|$", r.strip())]
            h = "".join(f"<th>{_inline(c)}</th>" for c in header)
            b = "".join(
                "<tr>" + "".join(f"<td>{_inline(c)}</td>" for c in _split_row(r)) + "</tr>"
                for r in body_rows
            )
            out.append(f"<table><thead><tr>{h}</tr></thead><tbody>{b}</tbody></table>")
            continue
        if stripped.startswith("- "):
            flush()
            items = []
            while i < len(lines) and lines[i].strip().startswith("- "):
                items.append(lines[i].strip()[2:])
                i += 1
            out.append("<ul>" + "".join(f"<li>{_inline(x)}</li>" for x in items) + "</ul>")
            continue
        if not stripped:
            flush()
        else:
            para.append(stripped)
        i += 1
    flush()
    body = "\n".join(out)
    return (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title><style>{_CSS}</style></head>\n<body>\n{body}\n"
        "</body></html>\n"
    )
