"""What a review re-analysis produced, as plain data: `ClassicalRow`, `BayesRow` and the
`Reanalysis` that collects them with the tables behind the report.

The report (`bayesmeta.review.report`), the figures (`bayesmeta.review.figures`) and the
verdict (`bayesmeta.review.verdict`) read these; only `bayesmeta.review.reanalysis` makes
them, so the modules that show results never import the one that computes them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from bayesmeta.review.conjugate import NormalPosterior
from bayesmeta.review.published import RowStats
from bayesmeta.review.spec import ReviewSpec

if TYPE_CHECKING:
    from bayesmeta.review.celltype import CellTypeFit
    from bayesmeta.review.checks import Finding


@dataclass(frozen=True)
class ClassicalRow:
    """The classical re-analysis of one published row from the text alone.

    ``status`` is ``"reproduced"`` (within 0.01 of every printed number), ``"not
    reproduced"``, ``"not reproducible"`` or ``"needs study-level data"``; the numbers are NaN
    when there is no re-analysis, and ``note`` says how it was done or why not.

    Examples:
        >>> from bayesmeta.review.results import ClassicalRow
        >>> row = ClassicalRow("needs study-level data", note="per-arm values not in the text")
        >>> row.status, row.md
        ('needs study-level data', nan)
    """

    status: str  # "reproduced", "not reproduced", "not reproducible", "needs study-level data"
    md: float = float("nan")
    ci_low: float = float("nan")
    ci_high: float = float("nan")
    max_deviation: float = float("nan")
    note: str = ""


@dataclass(frozen=True)
class BayesRow:
    """The conjugate re-analysis of one published row under one effect prior (outcome units).

    ``p_benefit`` is P(sign x theta > 0), ``p_beyond_mcid`` P(sign x theta > MCID) or NaN
    without a declared MCID (`bayesmeta.review.conjugate.NormalPosterior.prob_benefit`).

    Examples:
        >>> from bayesmeta.review.conjugate import normal_update
        >>> from bayesmeta.review.results import BayesRow
        >>> post = normal_update(-0.87, 0.2551, 0.0, 0.5289)
        >>> row = BayesRow("sceptical", 0.0, 0.5289, post, post.prob_benefit(-1), float("nan"))
        >>> print(f"{row.posterior.median:.4f} {row.p_benefit:.4f}")
        -0.7058 0.9989
    """

    prior: str  # name of the prior set
    prior_mean: float
    prior_sd: float
    posterior: NormalPosterior
    p_benefit: float
    p_beyond_mcid: float  # NaN if the outcome has no declared MCID


@dataclass
class Reanalysis:
    """Everything `reproduce()` computed (what the report and the CSV files show).

    The first eight fields are required; the cell-type fits may be empty (``{}``) and the
    findings an empty list, which is enough for `comparison_table()`.

    Examples:
        >>> import numpy as np
        >>> from bayesmeta import datasets
        >>> from bayesmeta.review.published import analysis_stats
        >>> from bayesmeta.review.reanalysis import bayes_rows, classical_rows
        >>> from bayesmeta.review.results import Reanalysis
        >>> from bayesmeta.review.spec import load_spec
        >>> spec = load_spec()
        >>> stats = {a.key: analysis_stats(a) for a in spec.analyses}
        >>> bayes, summary = bayes_rows(spec, stats, np.random.default_rng(1))
        >>> r = Reanalysis(spec, datasets.load("zhang2020_table1"), stats,
        ...                classical_rows(spec, stats), bayes, summary, {}, [])
        >>> r.classical["T2DM/insulin_dose/all"].status
        'reproduced'
    """

    spec: ReviewSpec
    table1: pd.DataFrame | None
    stats: dict[str, RowStats]
    classical: dict[str, ClassicalRow]
    bayes: dict[str, list[BayesRow]]
    bayes_summary: pd.DataFrame
    celltype: dict[tuple[str, str], CellTypeFit]
    findings: list[Finding]
    comparison: pd.DataFrame = field(default_factory=pd.DataFrame)
    arviz_summary: pd.DataFrame = field(default_factory=pd.DataFrame)
    studylevel: Any = None
    sensitivity: pd.DataFrame = field(default_factory=pd.DataFrame)
    trust: pd.DataFrame = field(default_factory=pd.DataFrame)
    safety: pd.DataFrame = field(default_factory=pd.DataFrame)
    figures: list[tuple[str, str]] = field(default_factory=list)
    settings: dict[str, Any] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    out: Path | None = None
