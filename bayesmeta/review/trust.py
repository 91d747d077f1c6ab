"""How trustworthy is the review's interval method for rows shaped like its own?

A small simulation study (``models/simulate_review.toml``, review-shaped scenarios only, at a
small replicate count, run in-process) of the review's rule (fixed effect if Cochran's Q
p >= 0.10, else DerSimonian-Laird with a Wald z interval) next to FE, DL-Wald and REML-HKSJ.
Chunks are cached as Parquet under ``OUT/simulation/``, so a re-run of ``reproduce`` into the
same folder skips them (`bayesmeta.simulate.run_study()` resumes).

The study does not depend on ``reproduce``'s seed or input, only on the spec, so its metrics
are also shipped as ``models/simulate_review_trust.csv``, headed by the fingerprint of the
study they come from (`StudySpec.fingerprint`). When the fingerprint matches, `interval_trust`
reads them instead of simulating (``OUT/simulation`` then holds the metrics and figures but no
chunks); otherwise it simulates. A test recomputes the file and requires equality.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

if TYPE_CHECKING:
    from bayesmeta.simulate.spec import StudySpec

#: Replicates per scenario: the MCSE of a coverage near 0.95 is sqrt(.95 * .05 / n) ~ 0.022.
TRUST_REPLICATES = 100
TRUST_METHODS = ("FE", "DL-Wald", "REML-HKSJ", "review-rule")


SHIPPED = "simulate_review_trust.csv"


def trust_study(replicates: int = TRUST_REPLICATES, study: str | Path | None = None) -> StudySpec:
    """The `StudySpec` behind `interval_trust`: the review-shaped scenarios of ``study``
    (default ``models/simulate_review.toml``) with ``replicates`` each and `TRUST_METHODS`."""
    from bayesmeta._paths import models_dir
    from bayesmeta.simulate.spec import load_spec

    spec = load_spec(study if study is not None else models_dir() / "simulate_review.toml")
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
    return small


def write_trust_table(path: str | Path, replicates: int = TRUST_REPLICATES) -> Path:
    """Simulate the trust study in a temporary folder and write its metrics to ``path``,
    headed by ``# fingerprint: <sha256>`` (how ``models/simulate_review_trust.csv`` is made).

    Examples:
        Simulating takes a second or two, so this is not run as a doctest; the test suite
        runs it and compares with the shipped file (tests/review/test_review_trust.py).

        >>> from bayesmeta.review.trust import write_trust_table
        >>> write_trust_table("trust.csv")  # doctest: +SKIP
    """
    import tempfile

    from bayesmeta.simulate.run import run_study

    spec = trust_study(replicates)
    with tempfile.TemporaryDirectory() as tmp:
        metrics = run_study(spec, Path(tmp) / "simulation", workers=0, progress=False)
    path = Path(path)
    with path.open("w", encoding="utf-8", newline="") as f:
        f.write(f"# fingerprint: {spec.fingerprint()}\n")
        f.write("# made by bayesmeta.review.trust.write_trust_table; checked against a fresh "
                "run by tests/review/test_review_trust.py\n")  # fmt: skip
        metrics.to_csv(f, index=False, float_format="%.17g")
    return path


def _shipped(fingerprint: str) -> pd.DataFrame | None:
    from bayesmeta._paths import models_dir

    path = models_dir() / SHIPPED
    if not path.exists():
        return None
    with path.open(encoding="utf-8") as f:
        first = f.readline().strip()
    if first != f"# fingerprint: {fingerprint}":
        return None
    return pd.read_csv(path, comment="#")


def interval_trust(
    out: str | Path, replicates: int = TRUST_REPLICATES, study: str | Path | None = None
) -> pd.DataFrame:
    """Coverage (with MCSE) and mean width per review-shaped scenario and method: the shipped
    metrics when they come from this very study, else a fresh simulation under
    ``out/simulation``. ``study`` is the simulation spec (default
    ``models/simulate_review.toml``)."""
    from bayesmeta.simulate.figures import write_figures
    from bayesmeta.simulate.run import run_study

    spec = trust_study(replicates, study)
    sim = Path(out) / "simulation"
    metrics = _shipped(spec.fingerprint())
    if metrics is None:
        metrics = run_study(spec, sim, workers=0, progress=False)
    else:
        sim.mkdir(parents=True, exist_ok=True)
        metrics.to_csv(sim / "metrics.csv", index=False)
        write_figures(metrics, sim, spec.level, unit=spec.units)
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
