"""``summary.md`` / ``summary.html`` and figures of a corpus run.

* conclusions: how many analyses' intervals exclude the null (0 on the analysis scale: log
  ratios, differences) under the stored result, the recomputation as stored, HKSJ, the
  prediction interval and the Bayesian posterior, by measure and by source, and how many
  change against the stored conclusion;
* heterogeneity: the distribution of tau (posterior median, and the REML estimate) by
  measure, with a figure;
* agreement of the recomputation with the stored estimates (1e-6 relative, or 1e-6 absolute
  near 0, on the analysis scale);
* the analyses that were skipped, by reason.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

METHODS = (
    ("stored", "stored_ci_low", "stored_ci_high"),
    ("recomputed as stored", "classical_ci_low", "classical_ci_high"),
    ("REML + HKSJ", "hksj_ci_low", "hksj_ci_high"),
    ("prediction interval", "pi_low", "pi_high"),
    ("Bayesian (exact)", "bayes_mu_low", "bayes_mu_high"),
)


def excludes_null(table: pd.DataFrame, lo: str, hi: str) -> pd.Series:
    """True where the interval [lo, hi] excludes 0; NA where it is missing.

    Examples:
        >>> import pandas as pd
        >>> from bayesmeta.corpus.report import excludes_null
        >>> t = pd.DataFrame({"a": [0.1, -1.0, None], "b": [0.5, 1.0, 2.0]})
        >>> excludes_null(t, "a", "b").tolist()
        [True, False, <NA>]
    """
    a, b = table[lo].astype(float), table[hi].astype(float)
    out = ((a > 0) | (b < 0)).astype("boolean")
    return out.where(a.notna() & b.notna(), pd.NA)


def _conclusions(table: pd.DataFrame, by: str) -> pd.DataFrame:
    """Per group of ``by``: analyses, and how many intervals exclude the null per method."""
    ok = table[table["status"] == "ok"]
    rows = []
    for key, g in ok.groupby(by, sort=True):
        row: dict[str, Any] = {by: key or "(none)", "analyses": len(g)}
        for name, lo, hi in METHODS:
            row[name] = int(excludes_null(g, lo, hi).fillna(False).sum())
        rows.append(row)
    return pd.DataFrame(rows)


def _changes(table: pd.DataFrame) -> pd.DataFrame:
    """Against the stored conclusion (analyses with a stored interval): how many change
    (excluded -> includes the null, or the reverse) under each other method."""
    ok = table[table["status"] == "ok"]
    base = excludes_null(ok, "stored_ci_low", "stored_ci_high")
    have = base.notna()
    rows = []
    for name, lo, hi in METHODS[1:]:
        other = excludes_null(ok, lo, hi)
        both = have & other.notna()
        lost = int((base[both] & ~other[both]).sum())
        gained = int((~base[both] & other[both]).sum())
        rows.append({"method": name, "compared": int(both.sum()),
                     "no longer excludes": lost, "now excludes": gained})  # fmt: skip
    return pd.DataFrame(rows)


def _tau_by_measure(table: pd.DataFrame) -> pd.DataFrame:
    """Quartiles of the posterior median of tau and of the REML tau, by measure."""
    ok = table[table["status"] == "ok"]
    rows = []
    for m, g in ok.groupby("measure", sort=True):
        bt = g["bayes_tau_median"].astype(float).dropna()
        rt = g["reml_tau2"].astype(float).dropna() ** 0.5
        rows.append({"measure": m or "(none)", "analyses": len(g),
                     "tau (posterior median): q25": bt.quantile(0.25), "median": bt.median(),
                     "q75": bt.quantile(0.75), "tau (REML): median": rt.median()})  # fmt: skip
    return pd.DataFrame(rows)


def _agreement(table: pd.DataFrame) -> dict[str, int]:
    """How many stored estimates the recomputation reproduces (1e-6 relative or absolute)."""
    t = table[(table["status"] == "ok") & table["stored_estimate"].notna()]
    a, b = t["classical_estimate"].astype(float), t["stored_estimate"].astype(float)
    same = (a - b).abs() <= 1e-6 * np.maximum(1.0, b.abs())
    return {"with stored estimate": len(t), "reproduced": int(same.sum())}


def write_summary(table: pd.DataFrame, folder: Path) -> dict[str, Any]:
    """Write summary.md, summary.html and the figures; return the counts for the manifest.

    Examples:
        >>> from pathlib import Path
        >>> import pandas as pd
        >>> from bayesmeta.corpus import run
        >>> from bayesmeta.corpus.report import write_summary
        >>> pd.DataFrame({"analysis": ["a", "a"], "study": ["1", "2"], "yi": [0.1, 0.3],
        ...               "vi": [0.04, 0.05]}).to_csv("c.csv", index=False)
        >>> counts = write_summary(run(["c.csv"], workers=0, progress=False), Path("."))
        >>> counts["analyses"], Path("summary.md").exists()
        (1, True)
    """
    from bayesmeta.review.report import markdown_to_html

    ok = table["status"] == "ok"
    skipped = table.loc[~ok, "status"].value_counts()
    counts = {"analyses": len(table), "ok": int(ok.sum()), "skipped": int((~ok).sum()),
              "sources": int(table["source"].nunique())}  # fmt: skip
    agree = _agreement(table)
    lines = [
        "# Corpus re-analysis", "",
        f"{counts['analyses']} analyses from {counts['sources']} sources: {counts['ok']} "
        f"re-analysed, {counts['skipped']} skipped (reasons below). Intervals are 95 % "
        "unless set otherwise; the null is 0 on the analysis scale (log ratios, differences).",
        "", "## Conclusions: intervals that exclude the null", "", "### By measure", "",
        _md(_conclusions(table, "measure")), "", "### By source", "",
        _md(_conclusions(table, "source")), "",
        "### Against the stored conclusion", "", _md(_changes(table)), "",
        "![Conclusions by method and measure](conclusions.png)", "",
        "## Heterogeneity by measure", "", _md(_tau_by_measure(table)), "",
        "![tau by measure](tau_by_measure.png)", "",
        "## Stored and recomputed estimates", "",
        f"The recomputation with the source's own method reproduces {agree['reproduced']} of "
        f"the {agree['with stored estimate']} stored estimates (1e-6 relative).", "",
        "## Skipped", "",
        _md(pd.DataFrame({"reason": skipped.index, "analyses": skipped.to_numpy()}))
        if len(skipped) else "None.", "",
    ]  # fmt: skip
    _figures(table, folder)
    md = folder / "summary.md"
    md.write_text("\n".join(lines), encoding="utf-8")
    html = markdown_to_html(md.read_text(encoding="utf-8"), base=folder,
                            title="Corpus re-analysis")  # fmt: skip
    (folder / "summary.html").write_text(html, encoding="utf-8")
    counts.update({f"stored estimates {k}": v for k, v in agree.items()})
    return counts


def _md(df: pd.DataFrame) -> str:
    from bayesmeta.review.report import md_table

    if df.empty:
        return "None."
    return md_table(list(map(str, df.columns)),
                    [[_cell(v) for v in row] for row in df.itertuples(index=False)])  # fmt: skip


def _cell(v: Any) -> Any:
    if isinstance(v, float):
        return "NA" if np.isnan(v) else f"{v:.3g}"
    return v


def _figures(table: pd.DataFrame, folder: Path) -> None:
    from bayesmeta.plots._style import pyplot

    plt = pyplot()
    ok = table[table["status"] == "ok"]
    conc = _conclusions(table, "measure")
    fig, ax = plt.subplots(figsize=(7.5, 3.6))
    if not conc.empty:
        names = [m for m, _, _ in METHODS]
        x = np.arange(len(conc))
        for j, name in enumerate(names):
            share = conc[name] / conc["analyses"].where(conc["analyses"] > 0)
            ax.bar(x + (j - 2) * 0.16, share, width=0.16, label=name)
        ax.set_xticks(x, conc["measure"].astype(str))
        ax.set_ylim(0, 1)
        ax.legend(fontsize=7, ncol=2)
    ax.set_ylabel("share excluding the null")
    fig.tight_layout()
    fig.savefig(folder / "conclusions.png", dpi=120)
    plt.close(fig)
    fig, ax = plt.subplots(figsize=(7.5, 3.6))
    groups = [(m or "(none)", g["bayes_tau_median"].astype(float).dropna())
              for m, g in ok.groupby("measure", sort=True)]  # fmt: skip
    groups = [(m, g[g > 0]) for m, g in groups if (g > 0).any()]
    if groups:
        ax.boxplot([g.to_numpy() for _, g in groups], tick_labels=[m for m, _ in groups])
        ax.set_yscale("log")
    ax.set_ylabel("tau (posterior median, analysis scale)")
    fig.tight_layout()
    fig.savefig(folder / "tau_by_measure.png", dpi=120)
    plt.close(fig)
