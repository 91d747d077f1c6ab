"""How trustworthy is the review's interval method for rows shaped like its own?

A small simulation study (``models/simulate_review.toml``, review-shaped scenarios only, at a
small replicate count, run in-process) of the review's rule (fixed effect if Cochran's Q
p >= 0.10, else DerSimonian-Laird with a Wald z interval) next to FE, DL-Wald and REML-HKSJ.
Chunks are cached as Parquet under ``OUT/simulation/``, so a re-run of ``reproduce`` into the
same folder skips them (`bayesmeta.simulate.run_study()` resumes).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pandas as pd

#: Replicates per scenario: the MCSE of a coverage near 0.95 is sqrt(.95 * .05 / n) ~ 0.022.
TRUST_REPLICATES = 100
TRUST_METHODS = ("FE", "DL-Wald", "REML-HKSJ", "review-rule")


def interval_trust(out: str | Path, replicates: int = TRUST_REPLICATES) -> pd.DataFrame:
    """Coverage (with MCSE) and mean width per review-shaped scenario and method."""
    from bayesmeta._paths import models_dir
    from bayesmeta.simulate.run import run_study
    from bayesmeta.simulate.spec import load_spec

    spec = load_spec(models_dir() / "simulate_review.toml")
    scenarios = tuple(
        replace(s, replicates=replicates, bayes_replicates=0)
        for s in spec.scenarios
        if s.group.startswith(("T1DM/", "T2DM/"))
    )
    small = replace(
        spec,
        name=f"{spec.name}_reproduce",
        scenarios=scenarios,
        bayes=(),
        methods=TRUST_METHODS,
        chunk_size=replicates,
    )
    metrics = run_study(small, Path(out) / "simulation", workers=0, progress=False)
    cols = ["group", "k", "tau_label", "method", "coverage", "coverage_mcse", "width_mean"]
    return metrics[cols].rename(columns={"group": "analysis", "tau_label": "tau"})


def trust_section(trust: pd.DataFrame, level: float = 0.95) -> list[str]:
    """Markdown: coverage of the review's rule and of REML-HKSJ, per row and tau."""
    if trust is None or trust.empty:
        return []
    taus = list(dict.fromkeys(trust["tau"]))
    n_rep = TRUST_REPLICATES
    lines = [
        "## How trustworthy is the review's interval method for rows like its own?",
        "",
        f"A simulation study (`models/simulate_review.toml`, review-shaped scenarios, {n_rep} "
        "replicates each; `interval_trust.csv` has every method): each published row with k >= 2 "
        "becomes k studies with equal standard errors s (the per-study SE its pooled CI implies "
        "under fixed-effect pooling) and true effect |MD|, with true tau = 0, 0.5, 1 and 2 times "
        "s. Cells give the coverage of the nominal "
        f"{round(100 * level)} % interval (MCSE about "
        f"{(level * (1 - level) / n_rep) ** 0.5:.3f}): the review's rule (FE if Q p >= 0.10, "
        "else DL with a Wald z interval) / REML with the Knapp-Hartung (HKSJ) interval.",
        "",
        "| analysis | k | " + " | ".join(f"tau = {t}" for t in taus) + " |",
        "|---|---|" + "---|" * len(taus),
    ]
    for (key, k), g in trust.groupby(["analysis", "k"], sort=False):
        cells = []
        for t in taus:
            cov = g[g["tau"] == t].set_index("method")["coverage"]
            cells.append(f"{cov['review-rule']:.2f} / {cov['REML-HKSJ']:.2f}")
        lines.append(f"| {key} | {k} | " + " | ".join(cells) + " |")
    rule = trust[trust["method"] == "review-rule"]
    worst = rule.iloc[int(rule["coverage"].argmin())]
    het = trust[trust["tau"] != taus[0]].groupby("method")["coverage"].mean()
    means = ", ".join(f"{m} {het[m]:.3f}" for m in TRUST_METHODS if m in het)
    lines += [
        "",
        f"Lowest coverage of the review's rule: {worst['coverage']:.2f} "
        f"({worst['analysis']}, k = {worst['k']}, tau = {worst['tau']}). Mean coverage over the "
        f"scenarios with tau > 0: {means} (nominal {level:g}). With few studies the Q test "
        "often fails to detect real heterogeneity, and the DL Wald interval ignores the "
        "uncertainty in tau.",
        "",
    ]
    return lines
