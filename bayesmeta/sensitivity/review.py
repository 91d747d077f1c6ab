"""Prior sensitivity of the review's (Zhang 2020) cell-type models, for ``reproduce``.

The 6 overall rows are the cell-type models (published subgroup summaries, one estimate per
cell type, as `bayesmeta.review.celltype.fit_exact`; k = 2 or 3 units). Each is swept over
halfnormal and halfcauchy tau priors with scales 0.1-2 times the review's tau-prior scale,
with the review's mu prior. A single published summary (k = 1) is not swept: with one unit
tau is not identified, and a tau prior only widens the interval by as much as it allows.
Those rows get the Analysis of Credibility instead (`bayesmeta.credibility`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from bayesmeta.sensitivity.sweep import sweep


def model_key(spec: Any, disease: str, outcome: str) -> str:
    """The ``analysis`` label of a subgroup model's sweep: ``"T2DM/hba1c/cell-type model"``.

    Examples:
        >>> from bayesmeta.review.spec import load_spec
        >>> from bayesmeta.sensitivity.review import model_key
        >>> model_key(load_spec(), "T2DM", "hba1c")
        'T2DM/hba1c/cell-type model'
    """
    return f"{disease}/{outcome}/{spec.subgroup_label.replace(' ', '-')} model"


def review_analyses(
    spec_path: str | Path | None = None,
) -> list[tuple[str, pd.DataFrame, float, str]]:
    """(row key, study table, review tau-prior scale, review mu prior) per cell-type model."""
    from bayesmeta.priors import parse_prior
    from bayesmeta.review.celltype import subgroup_summaries
    from bayesmeta.review.spec import load_spec

    spec = load_spec(spec_path)
    out = []
    for disease, outcome in spec.groups():
        tau_text = spec.tau_prior_text(disease, outcome)
        scale = float(parse_prior(tau_text, "tau").params[-1])
        mu = spec.mu_prior_text(disease, outcome)
        labels, y, se = subgroup_summaries(spec, disease, outcome)
        cells = pd.DataFrame({"study": list(labels), "yi": y, "sei": se})
        out.append((model_key(spec, disease, outcome), cells, scale, mu))
    return out


def review_sweep(n: int = 20, spec_path: str | Path | None = None) -> pd.DataFrame:
    """Every cell-type model swept (``2 n`` tau priors each); column ``analysis`` names it."""
    frames = []
    for key, table, scale, mu in review_analyses(spec_path):
        lo, hi = 0.1 * scale, 2.0 * scale
        res = sweep(
            table,
            [
                f"halfnormal({lo:.12g}..{hi:.12g}, n={n})",
                f"halfcauchy({lo:.12g}..{hi:.12g}, n={n})",
            ],
            mu,
        )
        res.insert(0, "analysis", key)
        frames.append(res)
    out = pd.concat(frames, ignore_index=True)
    out.attrs["level"] = 0.95
    return out


def write_review_sensitivity(out: str | Path, n: int = 20) -> Path:
    """``reproduce`` hook: write ``out/sensitivity.csv`` (`review_sweep`)."""
    path = Path(out) / "sensitivity.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    review_sweep(n).to_csv(path, index=False)
    return path
