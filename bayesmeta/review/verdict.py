"""The answer first: do the published pooled results hold up under a Bayesian re-analysis?

One row per published result (`verdict_table`, written as ``verdict.csv``):

* the published MD and CI, and whether the CI excludes 0;
* the conjugate posterior median, 95 % CrI and P(benefit) under the vague and the sceptical
  effect priors (`bayesmeta.review.reanalysis.bayes_rows`);
* the hierarchical cell-type model's posterior for the same quantity (mu for an overall row,
  theta of the cell type for a subgroup row; `bayesmeta.review.celltype`);
* the Analysis of Credibility of the published interval (`bayesmeta.credibility`): the
  sceptical limit and Held's intrinsic credibility;
* ``holds``: the published CI, the sceptical-prior CrI and the cell-type model's CrI all
  exclude 0 (on the side the review claims).

`verdict_sentences` turns the table into three to six plain sentences; every number in them
is counted from the table, never typed in.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import pandas as pd

from bayesmeta.credibility import credibility

if TYPE_CHECKING:
    from bayesmeta.review.results import Reanalysis

VERDICT_COLUMNS = (
    "analysis", "published_md", "published_ci_low", "published_ci_high", "published_excludes_0",
    "vague_median", "vague_ci_low", "vague_ci_high", "vague_p_benefit",
    "sceptical_median", "sceptical_ci_low", "sceptical_ci_high", "sceptical_p_benefit",
    "hierarchical_median", "hierarchical_ci_low", "hierarchical_ci_high",
    "hierarchical_p_benefit", "sceptical_limit", "p_intrinsic", "intrinsically_credible",
    "holds",
)  # fmt: skip


def _excludes_0(lo: float, hi: float) -> bool:
    return bool(lo > 0 or hi < 0)


def verdict_table(r: Reanalysis) -> pd.DataFrame:
    """One row per published result (module docstring), in the spec's order.

    Examples:
        >>> import numpy as np
        >>> from bayesmeta import datasets
        >>> from bayesmeta.review.published import analysis_stats
        >>> from bayesmeta.review.reanalysis import Reanalysis, bayes_rows, classical_rows
        >>> from bayesmeta.review.spec import load_spec
        >>> from bayesmeta.review.verdict import verdict_table
        >>> spec = load_spec()
        >>> stats = {a.key: analysis_stats(a) for a in spec.analyses}
        >>> bayes, summary = bayes_rows(spec, stats, np.random.default_rng(1))
        >>> r = Reanalysis(spec, datasets.load("zhang2020_table1"), stats,
        ...                classical_rows(spec, stats), bayes, summary, {}, [])
        >>> v = verdict_table(r)
        >>> len(v), int(v["published_excludes_0"].sum())
        (18, 11)
    """
    rows = []
    level = r.spec.level
    for a in r.spec.analyses:
        p = a.published
        row: dict[str, Any] = {
            "analysis": a.key,
            "published_md": p.md,
            "published_ci_low": p.ci_low,
            "published_ci_high": p.ci_high,
            "published_excludes_0": _excludes_0(p.ci_low, p.ci_high),
        }
        for b in r.bayes.get(a.key, []):
            if b.prior in ("vague", "sceptical"):
                lo, hi = b.posterior.interval(level)
                row.update({
                    f"{b.prior}_median": b.posterior.median, f"{b.prior}_ci_low": lo,
                    f"{b.prior}_ci_high": hi, f"{b.prior}_p_benefit": b.p_benefit,
                })  # fmt: skip
        fit = r.celltype.get((a.disease, a.outcome))
        summ = fit.exact.get(fit.param(a.subgroup)) if fit is not None else None
        if summ is not None:
            row.update(
                hierarchical_median=summ.median, hierarchical_ci_low=summ.ci_low,
                hierarchical_ci_high=summ.ci_high, hierarchical_p_benefit=summ.p_benefit,
            )  # fmt: skip
        c = credibility(p.ci_low, p.ci_high, level=level)
        row.update(
            sceptical_limit=c.sceptical_limit if c.significant else math.nan,
            p_intrinsic=c.p_intrinsic, intrinsically_credible=c.intrinsically_credible,
        )  # fmt: skip
        checks = [row["published_excludes_0"]]
        if "sceptical_ci_low" in row:
            checks.append(_excludes_0(row["sceptical_ci_low"], row["sceptical_ci_high"]))
        if "hierarchical_ci_low" in row:
            checks.append(_excludes_0(row["hierarchical_ci_low"], row["hierarchical_ci_high"]))
        row["holds"] = all(checks)
        rows.append(row)
    return pd.DataFrame(rows).reindex(columns=list(VERDICT_COLUMNS))


def _keys(v: pd.DataFrame, mask: pd.Series) -> str:
    keys = v.loc[mask, "analysis"].tolist()
    return ", ".join(keys) if keys else "none"


def verdict_sentences(v: pd.DataFrame, subgroup_label: str = "cell type") -> list[str]:
    """Three to six quotable sentences, every number counted from ``v`` (`verdict_table`);
    ``subgroup_label`` names what the subgroups are (`ReviewSpec.subgroup_label`).

    Examples:
        >>> import pandas as pd
        >>> from bayesmeta.review.verdict import verdict_sentences
        >>> v = pd.DataFrame({"analysis": ["a", "b"], "published_excludes_0": [True, False],
        ...     "vague_ci_low": [0.1, -0.2], "vague_ci_high": [0.9, 0.4],
        ...     "sceptical_ci_low": [-0.1, -0.3], "sceptical_ci_high": [0.7, 0.3],
        ...     "hierarchical_ci_low": [float("nan")] * 2,
        ...     "hierarchical_ci_high": [float("nan")] * 2,
        ...     "intrinsically_credible": [False, False], "holds": [False, False]})
        >>> print(verdict_sentences(v)[0])
        1 of the 2 published pooled mean differences has a 95 % confidence interval that excludes 0.
    """
    n = len(v)
    sig = v["published_excludes_0"].astype(bool)
    n_sig = int(sig.sum())

    def excl(prefix: str) -> pd.Series:
        lo, hi = v[f"{prefix}_ci_low"], v[f"{prefix}_ci_high"]
        return (lo > 0) | (hi < 0)

    verb = "has" if n_sig == 1 else "have"
    out = [
        f"{n_sig} of the {n} published pooled mean differences {verb} a 95 % confidence "
        "interval that excludes 0."
    ]
    vague = int((excl("vague") & sig).sum())
    scep = excl("sceptical") & sig
    out.append(
        f"Under a vague prior {vague} of these {n_sig} keep a 95 % credible interval that "
        f"excludes 0; under a sceptical prior centred on no effect {int(scep.sum())} do "
        f"({_keys(v, scep)})."
    )
    hier = v["hierarchical_ci_low"].notna()
    adj = subgroup_label.replace(" ", "-")
    if hier.any():
        h_ex = excl("hierarchical") & hier
        over = hier & v["analysis"].str.endswith("/all")
        h_over = h_ex & over
        out.append(
            f"The hierarchical {adj} model, which pools the {adj} summaries with a "
            f"between-{adj} SD, gives a 95 % credible interval for the overall effect that "
            f"excludes 0 for {int(h_over.sum())} of {int(over.sum())} outcomes"
            + (f" ({_keys(v, h_over)})." if h_over.any() else ".")
        )
    cred = v["intrinsically_credible"].astype(bool) & sig
    out.append(
        f"By the Analysis of Credibility, {int(cred.sum())} of the {n_sig} significant results "
        "are intrinsically credible (Held 2019: the sceptical prior that would overturn them "
        "is itself contradicted by the data)" + (f": {_keys(v, cred)}." if cred.any() else ".")
    )
    holds = v["holds"].astype(bool)
    out.append(
        f"In all, {int(holds.sum())} of the {n} published results hold up under the published "
        "interval, the sceptical prior and the hierarchical model together"
        + (f" ({_keys(v, holds)})." if holds.any() else ".")
    )
    return out
