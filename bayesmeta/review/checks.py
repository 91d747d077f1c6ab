"""Consistency checks of the review's own numbers, each a `Finding` with a verdict.

Inputs are the validated spec (the published rows as printed) and Table 1 of the review
(``bayesmeta.datasets.load("zhang2020_table1")``: one row per arm with ``arm``, ``n_treated``,
``follow_up_months``). Verdicts: ``consistent``, ``inconsistent``, ``implausible``,
``unverifiable`` (cannot be decided from the text) and ``note``.

The checks: arm n against Table 1 and overall n against its subgroups; what k counts; CI
symmetry; the SD a one-study row implies (independent-groups and paired formulas); "12-month"
labels against Table 1's follow-up; "Mantel-Haenszel" captions for mean differences; the
fixed-effect Q decomposition; what the printed P values are; the model rule.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from bayesmeta.review.published import (
    analysis_stats,
    fe_q_decomposition,
    i2_from_q,
    pool_fixed_from_summaries,
    row_stats,
)
from bayesmeta.review.spec import ReviewSpec, arm_cell_type, arm_ref, p_interval
from bayesmeta.summary_text import and_list

VERDICTS = ("consistent", "inconsistent", "implausible", "unverifiable", "note")
#: An implied SD below this fraction of a sourced typical SD is called implausible.
IMPLAUSIBLE_FRACTION = 0.1
#: The stated tolerance of a reproduction of a 2-dp number (one unit in the last place).
REPRO_TOLERANCE = 0.01


@dataclass
class Finding:
    """One consistency check: an id, a verdict, a one-line summary and the numbers behind it.

    ``verdict`` must be one of ``VERDICTS`` (ValueError otherwise); ``rows`` hold one record
    per checked item, ``values`` any further numbers.

    Examples:
        >>> from bayesmeta.review.checks import Finding
        >>> f = Finding("demo", "A demonstration", "note", "Nothing to see.")
        >>> f.verdict, f.rows
        ('note', [])
        >>> Finding("demo", "A demonstration", "fine", "")
        Traceback (most recent call last):
            ...
        ValueError: unknown verdict 'fine'
    """

    id: str
    title: str
    verdict: str
    summary: str
    rows: list[dict[str, Any]] = field(default_factory=list)
    values: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.verdict not in VERDICTS:
            raise ValueError(f"unknown verdict {self.verdict!r}")


def _arm_table(table1: pd.DataFrame) -> dict[str, dict[Hashable, Any]]:
    """Table 1's rows keyed by arm id (``"<ref>-<cell type>"``)."""
    return {str(r["arm"]): r for r in table1.to_dict("records")}


def check_sample_sizes(spec: ReviewSpec, table1: pd.DataFrame) -> Finding:
    """Printed n of every row against the sum of Table 1's treated n of its arms.

    A row is ``consistent`` if equal, ``inconsistent`` if the text has more patients than
    Table 1 enrolled, ``unverifiable`` if fewer (attrition is possible); overall n is also
    checked against the sum of its subgroups' printed n.

    Examples:
        >>> from bayesmeta import datasets
        >>> from bayesmeta.review.checks import check_sample_sizes
        >>> from bayesmeta.review.spec import load_spec
        >>> f = check_sample_sizes(load_spec(), datasets.load("zhang2020_table1"))
        >>> f.verdict, [(r["analysis"], r["n_text"], r["n_table1"]) for r in f.rows][:2]
        ('inconsistent', [('T1DM/c_peptide/all', 115, 114), ('T1DM/c_peptide/BM-HSC', 105, 105)])
        >>> f.values["internal"]
        ['T2DM/insulin_dose: overall n = 58 but subgroups give 20 + 31 = 51']
    """
    arms = _arm_table(table1)
    rows: list[dict[str, Any]] = []
    for a in spec.analyses:
        n_txt = a.published.n
        if n_txt is None or not a.arms:
            continue
        n_t1 = int(sum(int(arms[x]["n_treated"]) for x in a.arms))
        if n_txt == n_t1:
            verdict = "consistent"
        elif n_txt > n_t1:
            verdict = "inconsistent"  # more patients than Table 1 enrolled
        else:
            verdict = "unverifiable"  # fewer: attrition is possible, not stated
        rows.append(
            {
                "analysis": a.key,
                "arms": " ".join(a.arms),
                "n_text": n_txt,
                "n_table1": n_t1,
                "difference": n_txt - n_t1,
                "verdict": verdict,
            }
        )
    # overall n against the sum of its subgroups' printed n
    internal = []
    for d, o in spec.groups():
        overall = spec.overall(d, o)
        subs = spec.subgroups(d, o)
        ns = [s.published.n for s in subs]
        if overall.published.n is None or any(n is None for n in ns):
            continue
        total = sum(n for n in ns if n is not None)
        if subs and total != overall.published.n:
            internal.append(
                f"{d}/{o}: overall n = {overall.published.n} but subgroups give "
                + " + ".join(str(s.published.n) for s in subs)
                + f" = {total}"
            )
    bad = [r for r in rows if r["difference"] != 0]
    verdict = "consistent" if not bad and not internal else "inconsistent"
    parts = [f"{r['analysis']}: text {r['n_text']}, Table 1 {r['n_table1']}" for r in bad]
    summary = (
        f"{len(bad)} of {len(rows)} rows print an n that differs from Table 1's arms"
        + (": " + "; ".join(parts) if parts else "")
        + (". Internally: " + "; ".join(internal) if internal else "")
        + "."
    )
    return Finding(
        "sample-sizes",
        "Patients per row: text against Table 1, and overall against its subgroups",
        verdict,
        summary,
        rows,
        {"internal": internal},
    )


def check_k_counts(spec: ReviewSpec) -> Finding:
    """What k counts: trials in overall rows, arms in subgroup rows (verdict ``note``).

    Examples:
        >>> from bayesmeta.review.checks import check_k_counts
        >>> from bayesmeta.review.spec import load_spec
        >>> row = check_k_counts(load_spec()).rows[4]
        >>> row["analysis"], row["k_text"], row["trials"], row["arms"]
        ('T2DM/insulin_dose/all', 5, 5, 6)
    """
    rows: list[dict[str, Any]] = []
    for d, o in spec.groups():
        overall = spec.overall(d, o)
        n_arms = len(overall.arms)
        rows.append(
            {
                "analysis": overall.key,
                "k_text": overall.published.k,
                "trials": len(overall.refs),
                "arms": n_arms,
                "subgroup_k_sum": sum(s.published.k or 0 for s in spec.subgroups(d, o)),
            }
        )
    differ = [r for r in rows if r["trials"] != r["arms"]]
    multi: dict[int, list[str]] = {}  # references with more than one arm in an overall row
    for d, o in spec.groups():
        for arm in spec.overall(d, o).arms:
            cells = multi.setdefault(arm_ref(arm), [])
            if arm_cell_type(arm) not in cells:
                cells.append(arm_cell_type(arm))
    multi = {ref: cells for ref, cells in sorted(multi.items()) if len(cells) > 1}
    if not differ:
        summary = (
            "Overall rows count trials (distinct references) and every trial contributes one "
            f"arm, so trials and arms agree in every row ({len(rows)} rows)."
        )
    else:
        who = "; ".join(f"ref {ref}: {and_list(cells)}" for ref, cells in multi.items())
        summary = (
            "Overall rows count trials (distinct references), subgroup rows count arms; they "
            f"differ where a trial contributes more than one arm ({who}): "
            + "; ".join(
                f"{r['analysis']} k = {r['k_text']} trials, {r['arms']} arms" for r in differ
            )
            + ". A forest plot that pools every arm of such a trial has more units than k says."
        )
    return Finding("k-counts", "What k counts", "note", summary, rows)


def check_ci_symmetry(spec: ReviewSpec) -> Finding:
    """Wald CIs are symmetric; after 2-dp rounding |hi + lo - 2 md| <= 0.01.

    The rule is derived in `bayesmeta.review.published`.

    Examples:
        >>> from bayesmeta.review.checks import check_ci_symmetry
        >>> from bayesmeta.review.spec import load_spec
        >>> f = check_ci_symmetry(load_spec())
        >>> f.verdict, sum(r["symmetric"] for r in f.rows), len(f.rows)
        ('consistent', 18, 18)
    """
    rows: list[dict[str, Any]] = []
    for a in spec.analyses:
        st = analysis_stats(a, spec.level)
        rows.append({"analysis": a.key, "asymmetry": st.asymmetry, "symmetric": st.symmetric})
    asym = [r for r in rows if not r["symmetric"]]
    largest = max(abs(r["asymmetry"]) for r in rows)
    verdict = "consistent" if not asym else "inconsistent"
    summary = (
        f"Rule: a symmetric CI printed to 2 dp has |hi + lo - 2 MD| <= 0.01. "
        f"{len(rows) - len(asym)} of {len(rows)} rows pass (largest |asymmetry| "
        f"{largest:.2f}); the implied SE = (hi - lo)/(2 x 1.95996) is therefore usable."
    )
    return Finding("ci-symmetry", "Symmetry of the published CIs", verdict, summary, rows)


def implied_sd(se: float, n: float) -> tuple[float, float]:
    """SDs a one-arm before/after SE implies with n patients.

    Independent groups (RevMan, equal pre and post SD s): ``SE = s sqrt(2/n)`` so
    ``s = SE sqrt(n/2)``; paired change: ``SE = s_change / sqrt(n)`` so ``s_change = SE sqrt(n)``.

    Examples:
        The one-study MSC C-peptide row (SE 0.02041 from its CI, n = 10):

        >>> from bayesmeta.review.checks import implied_sd
        >>> print("{:.4f} {:.4f}".format(*implied_sd(0.02041, 10)))
        0.0456 0.0645
    """
    return se * math.sqrt(n / 2.0), se * math.sqrt(n)


def check_one_study_sd(spec: ReviewSpec, table1: pd.DataFrame) -> Finding:
    """The SD each one-study row implies, against a sourced typical SD where the spec has one.

    Uses `implied_sd()` with the text's n and with Table 1's n; a row is ``implausible`` when
    both implied SDs (at the upper end of their rounding range) are below
    ``IMPLAUSIBLE_FRACTION`` (0.1) of the outcome's sourced typical SD and change SD.

    Examples:
        >>> from bayesmeta import datasets
        >>> from bayesmeta.review.checks import check_one_study_sd
        >>> from bayesmeta.review.spec import load_spec
        >>> f = check_one_study_sd(load_spec(), datasets.load("zhang2020_table1"))
        >>> r = f.rows[2]
        >>> r["analysis"], r["n"], round(r["sd_independent"], 4), r["verdict"]
        ('T1DM/hba1c/MSC', 8, 0.051, 'implausible')
    """
    arms = _arm_table(table1)
    rows: list[dict[str, Any]] = []
    verdicts = []
    for a in spec.analyses:
        if a.published.k != 1 or a.published.n is None or not a.arms:
            continue
        st = analysis_stats(a, spec.level)
        outcome = spec.outcomes[a.outcome]
        for n_label, n in (
            ("text", a.published.n),
            ("Table 1", int(arms[a.arms[0]]["n_treated"])),
        ):
            sd_ind, sd_pair = implied_sd(st.se, n)
            lo_ind, lo_pair = implied_sd(st.se_low, n)
            hi_ind, hi_pair = implied_sd(st.se_high, n)
            row = {
                "analysis": a.key,
                "n_source": n_label,
                "n": n,
                "se": st.se,
                "sd_independent": sd_ind,
                "sd_independent_range": (lo_ind, hi_ind),
                "sd_change_paired": sd_pair,
                "sd_change_paired_range": (lo_pair, hi_pair),
                "verdict": "unverifiable",
                "yardstick": "",
            }
            if outcome.typical_sd is not None and outcome.typical_change_sd is not None:
                ts, tc = outcome.typical_sd.value, outcome.typical_change_sd.value
                implausible = (
                    hi_ind < IMPLAUSIBLE_FRACTION * ts and hi_pair < IMPLAUSIBLE_FRACTION * tc
                )
                row["verdict"] = "implausible" if implausible else "consistent"
                row["yardstick"] = (
                    f"typical SD {ts:g} and change SD {tc:g} {outcome.typical_sd.unit}: "
                    f"the implied SDs are {ts / sd_ind:.0f}x and {tc / sd_pair:.0f}x smaller"
                )
            rows.append(row)
            verdicts.append(row["verdict"])
    verdict = (
        "implausible"
        if "implausible" in verdicts
        else ("consistent" if verdicts and all(v == "consistent" for v in verdicts) else "note")
    )
    parts = []
    for r in rows:
        if r["n_source"] != "text":
            continue
        parts.append(
            f"{r['analysis']} (n = {r['n']}): SE {r['se']:.4f} implies SD "
            f"{r['sd_independent']:.3f} "
            f"[{r['sd_independent_range'][0]:.3f}, {r['sd_independent_range'][1]:.3f}] if pre and "
            f"post are independent groups, change SD {r['sd_change_paired']:.3f} "
            f"[{r['sd_change_paired_range'][0]:.3f}, {r['sd_change_paired_range'][1]:.3f}] if "
            f"paired ({r['verdict']}{'; ' + r['yardstick'] if r['yardstick'] else ''})"
        )
    summary = "; ".join(parts) + "."
    return Finding(
        "one-study-sd",
        "The SD a one-study row implies",
        verdict,
        summary,
        rows,
        {"implausible_fraction": IMPLAUSIBLE_FRACTION},
    )


def check_follow_up(spec: ReviewSpec, table1: pd.DataFrame, months: float = 12.0) -> Finding:
    """Rows called "12-month" (Results text or figure caption) against Table 1's follow-up.

    A row is ``inconsistent`` if an arm was followed for less than ``months`` (default 12),
    ``unverifiable`` if an arm was followed longer, else ``consistent``.

    Examples:
        >>> from bayesmeta import datasets
        >>> from bayesmeta.review.checks import check_follow_up
        >>> from bayesmeta.review.spec import load_spec
        >>> f = check_follow_up(load_spec(), datasets.load("zhang2020_table1"))
        >>> r = f.rows[0]
        >>> r["analysis"], r["follow_up_min"], r["follow_up_max"], r["arms_shorter"]
        ('T1DM/c_peptide/all', 7.0, 48.0, '24-BM-HSC')
    """
    arms = _arm_table(table1)
    rows: list[dict[str, Any]] = []
    for a in spec.analyses:
        fig = spec.figure(a.disease, a.outcome)
        label_text = a.timepoint_text.strip()
        label_caption = fig.caption_timepoint if fig is not None else ""
        if not (label_text or f"{months:g} months" in label_caption) or not a.arms:
            continue
        fu = {x: float(arms[x]["follow_up_months"]) for x in a.arms}
        short = sorted(x for x, m in fu.items() if m < months)
        longer = sorted(x for x, m in fu.items() if m > months)
        if short:
            verdict = "inconsistent"
        elif longer:
            verdict = "unverifiable"
        else:
            verdict = "consistent"
        rows.append(
            {
                "analysis": a.key,
                "label": label_text or f"caption: {label_caption}",
                "follow_up_min": min(fu.values()),
                "follow_up_max": max(fu.values()),
                "arms_shorter": " ".join(short),
                "arms_longer": " ".join(longer),
                "verdict": verdict,
            }
        )
    n_bad = sum(r["verdict"] == "inconsistent" for r in rows)
    lo = min(r["follow_up_min"] for r in rows)
    hi = max(r["follow_up_max"] for r in rows)
    summary = (
        f"All figure captions (and {sum(not r['label'].startswith('caption') for r in rows)} "
        f"Results sentences) call the comparison '{months:g} months', but Table 1's mean "
        f"follow-up of the pooled arms runs from {lo:g} to {hi:g} months. {n_bad} of {len(rows)} "
        f"rows pool an arm followed for less than {months:g} months (which cannot supply a "
        f"{months:g}-month value); in the others arms followed longer may have supplied a later "
        "time point. Which time point was extracted is not stated."
    )
    return Finding(
        "follow-up",
        "'12-month' results against Table 1's follow-up",
        "inconsistent" if n_bad else "unverifiable",
        summary,
        rows,
    )


def check_mantel_haenszel(spec: ReviewSpec) -> Finding:
    """Captions that name the Mantel-Haenszel method for mean differences.

    RevMan 5 offers Mantel-Haenszel only for dichotomous data (Deeks & Higgins 2010); the
    evidence is an inverse-variance pool of a fixed-effect outcome's subgroup summaries.

    Examples:
        >>> from bayesmeta.review.checks import check_mantel_haenszel
        >>> from bayesmeta.review.spec import load_spec
        >>> f = check_mantel_haenszel(load_spec())
        >>> f.verdict, [r["figure"] for r in f.rows]
        ('inconsistent', [2, 3, 4, 5, 6, 7])
    """
    figs = [f for f in spec.figures.values() if "mantel-haenszel" in f.caption_model.lower()]
    evidence = ""
    for d, o in spec.groups():
        overall = spec.overall(d, o)
        subs = spec.subgroups(d, o)
        if overall.published.model == "fixed" and subs:
            st = [analysis_stats(s, spec.level) for s in subs]
            est, _, lo, hi = pool_fixed_from_summaries(
                [x.md for x in st], [x.se for x in st], spec.level
            )
            p = overall.published
            evidence = (
                f" The inverse-variance pool of the {o} subgroup summaries gives {est:.3f} "
                f"[{lo:.3f}, {hi:.3f}] against the printed {p.md:.2f} [{p.ci_low:.2f}, "
                f"{p.ci_high:.2f}]: the numbers are inverse-variance numbers."
            )
    summary = (
        f"Figures {', '.join(str(f.number) for f in figs)} say 'Mantel-Haenszel method', but "
        "their effect measure is a mean difference: RevMan 5 offers Mantel-Haenszel only for "
        "dichotomous outcomes and pools mean differences by inverse variance (Deeks & Higgins "
        "2010, Statistical algorithms in Review Manager 5)." + evidence
    )
    return Finding(
        "mantel-haenszel",
        "'Mantel-Haenszel' in the captions of mean-difference forest plots",
        "inconsistent" if figs else "consistent",
        summary,
        [{"figure": f.number, "caption": f.caption_model} for f in figs],
    )


def check_q_decompositions(spec: ReviewSpec) -> list[Finding]:
    """The FE decomposition Q_total = sum Q_g + Q_between for every all-fixed-effect outcome.

    One `Finding` per outcome whose overall and subgroup rows are all fixed-effect; see
    `bayesmeta.review.published.fe_q_decomposition`.

    Examples:
        >>> from bayesmeta.review.checks import check_q_decompositions
        >>> from bayesmeta.review.spec import load_spec
        >>> [(f.id, f.verdict) for f in check_q_decompositions(load_spec())]
        [('q-decomposition-T2DM-insulin_dose', 'consistent')]
    """
    out = []
    for d, o in spec.groups():
        overall = spec.overall(d, o)
        subs = spec.subgroups(d, o)
        if overall.published.model != "fixed" or not subs:
            continue
        if any(s.published.model != "fixed" for s in subs):
            continue
        if any(x.published.k is None for x in (overall, *subs)):
            continue  # the df of each Q are not known
        dec = fe_q_decomposition(overall, subs, spec.level)
        rows: list[dict[str, Any]] = []
        for s in subs:
            q = dec.q_groups[s.subgroup]
            rows.append(
                {
                    "part": f"{s.subgroup} (p = {s.published.heterogeneity_p}, "
                    f"df = {dec.df_groups[s.subgroup]})",
                    "q_low": q[0],
                    "q_high": q[1],
                }
            )
        rows.append(
            {
                "part": "between subgroups (FE, from the printed MDs and CIs)",
                "q_low": dec.q_between[1],
                "q_high": dec.q_between[2],
            }
        )
        rows.append({"part": "total", "q_low": dec.q_total[0], "q_high": dec.q_total[1]})
        cands = "; ".join(
            f"{name}: df = {c[0]}, p in [{c[1]:.3f}, {c[2]:.3f}] -> "
            + ("fits" if c[3] else "does not fit")
            for name, c in dec.candidates.items()
        )
        i2 = {name: i2_from_q(sum(dec.q_total) / 2, c[0]) for name, c in dec.candidates.items()}
        fits = any(c[3] for c in dec.candidates.values())
        summary = (
            f"{d} {o}: Q backed out of each printed p (interval from 2-dp rounding) and the FE "
            f"Q between subgroups add up to Q_total in [{dec.q_total[0]:.2f}, "
            f"{dec.q_total[1]:.2f}]; printed overall p = {overall.published.heterogeneity_p}. "
            f"{cands}. Verdict: {dec.verdict}."
        )
        out.append(
            Finding(
                f"q-decomposition-{d}-{o}",
                f"Fixed-effect Q decomposition, {d} {o}",
                "consistent" if fits else "inconsistent",
                summary,
                rows,
                {"decomposition": dec, "i2_percent": i2},
            )
        )
    return out


def check_printed_p(spec: ReviewSpec) -> Finding:
    """Is the P printed next to each MD the effect's? Compare with the p its CI implies.

    The effect's p is ``2 Phi(-|MD| / SE)`` with the SE the CI implies (`row_stats()`); it is
    compatible when it lies in the interval the printed P stands for.

    Examples:
        >>> from bayesmeta.review.checks import check_printed_p
        >>> from bayesmeta.review.spec import load_spec
        >>> f = check_printed_p(load_spec())
        >>> r = next(r for r in f.rows if r["analysis"] == "T2DM/hba1c/BM-MNC")
        >>> r["p_printed"], round(r["p_effect_from_ci"], 4), r["effect_p_compatible"]
        ('<0.001', 0.1069, False)
    """
    rows: list[dict[str, Any]] = []
    for a in spec.analyses:
        interval = a.published.p_interval()
        if interval is None:
            continue
        st = analysis_stats(a, spec.level)
        compatible = interval[0] <= st.p <= interval[1]
        rows.append(
            {
                "analysis": a.key,
                "p_printed": a.published.heterogeneity_p,
                "p_effect_from_ci": st.p,
                "ci_includes_0": a.published.ci_low <= 0 <= a.published.ci_high,
                "effect_p_compatible": compatible,
            }
        )
    bad = [r for r in rows if not r["effect_p_compatible"]]
    examples = [r for r in bad if r["ci_includes_0"]][:3]
    # rows whose CI excludes 0 yet print a P above 0.05: an effect test cannot give those
    large = [
        r["p_printed"]
        for r in bad
        if not r["ci_includes_0"] and p_interval(r["p_printed"])[0] >= 0.05
    ]
    if not bad:
        summary = (
            f"In all {len(rows)} pooled rows the printed P is compatible with the p the CI "
            "implies for the effect."
        )
    else:
        summary = (
            f"In {len(bad)} of {len(rows)} pooled rows the printed P cannot be the effect's p (the "
            "CI implies another), e.g. "
            + "; ".join(
                f"{r['analysis']} prints P {r['p_printed']} while its CI includes 0 (effect p = "
                f"{r['p_effect_from_ci']:.2f})"
                for r in examples
            )
            + ". The printed P is the heterogeneity (Cochran Q) test's"
            + (
                f", which also explains why rows whose CI excludes 0 print P = {and_list(large)}"
                if large
                else ""
            )
            + "."
        )
    return Finding(
        "printed-p",
        "The P values printed next to the pooled MDs",
        "inconsistent" if bad else "consistent",
        summary,
        rows,
    )


def check_model_rule(spec: ReviewSpec) -> Finding:
    """Does each pooled row's model follow the review's rule on its printed heterogeneity p?

    The rule (`bayesmeta.review.spec.ModelRule`) is applied at both ends of the interval the
    printed p stands for; a row follows it if its model is among the results.

    Examples:
        >>> from bayesmeta.review.checks import check_model_rule
        >>> from bayesmeta.review.spec import load_spec
        >>> f = check_model_rule(load_spec())
        >>> f.verdict
        'consistent'
        >>> print(f.summary)
        Rule: DL when Cochran's Q p < 0.1, else FE. 16 of 16 pooled rows follow it.
    """
    if spec.rule.test == "none":
        return _check_one_method(spec)
    rows: list[dict[str, Any]] = []
    for a in spec.analyses:
        interval = a.published.p_interval()
        if interval is None:
            continue
        expected = {
            spec.rule.choose(interval[0]),
            spec.rule.choose(max(interval[1] - 1e-12, 0.0)),
        }
        model = {"fixed": "FE", "random": "DL"}[a.published.model]
        rows.append(
            {
                "analysis": a.key,
                "p_printed": a.published.heterogeneity_p,
                "model": a.published.model,
                "rule_gives": "/".join(sorted(expected)),
                "follows_rule": model in expected,
            }
        )
    rule = (
        f"Rule: {spec.rule.if_significant} when Cochran's Q p < {spec.rule.alpha:g}, else "
        f"{spec.rule.otherwise}."
    )
    return _rule_finding(rows, rule, "follow it")


def _check_one_method(spec: ReviewSpec) -> Finding:
    """A review that pools every row with one method: does every pooled row say so?"""
    want = {"DL": "random", "FE": "fixed"}[spec.rule.otherwise]
    rows: list[dict[str, Any]] = [
        {"analysis": a.key, "model": a.published.model, "follows_rule": a.published.model == want}
        for a in spec.analyses
        if a.published.model != "single"
    ]
    rule = f"The review pools every row with one model ({want} effects, no heterogeneity test)."
    return _rule_finding(rows, rule, "say so")


def _rule_finding(rows: list[dict[str, Any]], rule: str, verb: str) -> Finding:
    bad = [r for r in rows if not r["follows_rule"]]
    summary = (
        f"{rule} {len(rows) - len(bad)} of {len(rows)} pooled rows {verb}"
        + (": exceptions " + ", ".join(r["analysis"] for r in bad) if bad else "")
        + "."
    )
    return Finding(
        "model-rule",
        "Model choice against the review's rule",
        "consistent" if not bad else "inconsistent",
        summary,
        rows,
    )


def check_study_lists(spec: ReviewSpec, table1: pd.DataFrame | None) -> Finding:
    """What cannot be checked when the text does not list each analysis's studies (or the
    spec names no Table 1): patient counts, what k counts, follow-up, one-study SDs.

    Examples:
        >>> from bayesmeta._paths import models_dir
        >>> from bayesmeta.review.checks import check_study_lists
        >>> from bayesmeta.review.spec import load_spec
        >>> f = check_study_lists(load_spec(models_dir() / "umpierre2011.toml"), None)
        >>> f.verdict, len(f.rows)
        ('unverifiable', 4)
    """
    rows: list[dict[str, Any]] = [
        {
            "analysis": a.key,
            "arms_listed": bool(a.arms),
            "k_stated": a.published.k is not None,
            "n_stated": a.published.n is not None,
        }
        for a in spec.analyses
    ]
    missing = [r["analysis"] for r in rows if not r["arms_listed"]]
    why = (
        f"the text does not say which studies {len(missing)} of {len(rows)} rows pool"
        if missing
        else "the spec names no Table 1"
    )
    if table1 is None and missing:
        why += ", and the spec names no Table 1"
    summary = (
        f"Not checkable: {why}. Patient counts against Table 1, what k counts, the follow-up "
        "of the pooled studies and the SD a one-study row implies need both. Rows stating k: "
        f"{sum(r['k_stated'] for r in rows)}; stating n: {sum(r['n_stated'] for r in rows)}."
    )
    return Finding("study-lists", "Which studies each row pools", "unverifiable", summary, rows)


def check_single_rows(spec: ReviewSpec) -> Finding:
    """One-study rows re-derived: the study's own MD and Wald CI (must match to +/- 0.01).

    Examples:
        >>> from bayesmeta.review.checks import check_single_rows
        >>> from bayesmeta.review.spec import load_spec
        >>> f = check_single_rows(load_spec())
        >>> [(r["analysis"], round(r["ci_low"], 4), r["reproduced"]) for r in f.rows]
        [('T1DM/c_peptide/MSC', -0.01, True), ('T1DM/hba1c/MSC', -0.09, True)]
    """
    rows: list[dict[str, Any]] = []
    for a in spec.analyses:
        if a.published.k != 1:
            continue
        st = analysis_stats(a, spec.level)
        est, _, lo, hi = pool_fixed_from_summaries([st.md], [st.se], spec.level)
        p = a.published
        dev = max(abs(est - p.md), abs(lo - p.ci_low), abs(hi - p.ci_high))
        rows.append(
            {
                "analysis": a.key,
                "md": est,
                "ci_low": lo,
                "ci_high": hi,
                "max_deviation": dev,
                "reproduced": dev <= REPRO_TOLERANCE + 1e-9,
            }
        )
    ok = all(r["reproduced"] for r in rows)
    return Finding(
        "one-study-rows",
        "One-study rows re-derived",
        "consistent" if ok else "inconsistent",
        f"{sum(r['reproduced'] for r in rows)} of {len(rows)} one-study rows reproduce to "
        f"+/- {REPRO_TOLERANCE:g} (a one-study 'pool' is the study's MD with MD +/- 1.96 SE).",
        rows,
    )


def run_checks(spec: ReviewSpec, table1: pd.DataFrame | None) -> list[Finding]:
    """All consistency checks that the spec's data allow, in report order.

    The checks against Table 1 (patients, k, follow-up, one-study SDs) need a Table 1 and every
    row's list of arms; without them one ``study-lists`` finding says what is not checkable.
    One-study rows, figure captions and printed p values are checked where the spec has them.

    Args:
        spec: the validated review spec (`bayesmeta.review.spec.load_spec`).
        table1: the review's Table 1, ``bayesmeta.datasets.load("zhang2020_table1")``, or None.

    Examples:
        >>> from bayesmeta import datasets
        >>> from bayesmeta.review.checks import run_checks
        >>> from bayesmeta.review.spec import load_spec
        >>> findings = run_checks(load_spec(), datasets.load("zhang2020_table1"))
        >>> [(f.id, f.verdict) for f in findings][:4]
        [('sample-sizes', 'inconsistent'), ('k-counts', 'note'),
         ('ci-symmetry', 'consistent'), ('one-study-rows', 'consistent')]
        >>> len(findings)
        10
    """
    listed = table1 is not None and all(a.arms for a in spec.analyses)
    out = (
        [check_sample_sizes(spec, table1), check_k_counts(spec)]
        if listed and table1 is not None
        else [check_study_lists(spec, table1)]
    )
    out.append(check_ci_symmetry(spec))
    if any(a.published.k == 1 for a in spec.analyses):
        out.append(check_single_rows(spec))
    if listed and table1 is not None:
        out += [check_one_study_sd(spec, table1), check_follow_up(spec, table1)]
    if spec.figures:
        out.append(check_mantel_haenszel(spec))
    out += check_q_decompositions(spec)
    if any(a.published.heterogeneity_p is not None for a in spec.analyses):
        out.append(check_printed_p(spec))
    out.append(check_model_rule(spec))
    return out


def findings_frame(findings: Sequence[Finding]) -> pd.DataFrame:
    """One row per finding with ``id``, ``verdict``, ``title`` and ``summary`` (findings.csv).

    Examples:
        >>> from bayesmeta.review.checks import Finding, findings_frame
        >>> df = findings_frame([Finding("demo", "A demonstration", "note", "Nothing to see.")])
        >>> list(df.columns), df.loc[0, "verdict"]
        (['id', 'verdict', 'title', 'summary'], 'note')
    """
    return pd.DataFrame(
        [
            {"id": f.id, "verdict": f.verdict, "title": f.title, "summary": f.summary}
            for f in findings
        ]
    )


__all__ = ["Finding", "run_checks", "findings_frame", "implied_sd", "row_stats"]
