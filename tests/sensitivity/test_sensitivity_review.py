"""The review hook: the 6 cell-type models swept (k = 1 rows are not: tau is not identified);
the review's own prior reproduces fit_exact."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bayesmeta.exact import NormalNormal
from bayesmeta.sensitivity.review import review_analyses, review_sweep, write_review_sensitivity


def test_review_sweep_rows(tmp_path):
    res = review_sweep(n=2)
    assert res["analysis"].nunique() == 6 and len(res) == 6 * 4
    assert res["analysis"].str.endswith("cell-type model").all() and set(res["k"]) == {2}
    path = write_review_sensitivity(tmp_path, n=2)
    assert len(pd.read_csv(path)) == len(res)


def test_grid_contains_the_review_prior():
    """With n = 20 the scales 0.1, 0.2, ..., 2 x the review's include the review prior
    itself; that row equals the exact fit with the review's priors (rel. 1e-12)."""
    key, table, scale, mu = review_analyses()[0]
    res = review_sweep(n=20)
    res = res[res["analysis"] == key]
    row = res[
        np.isclose(res["tau_value"], scale, rtol=1e-12) & (res["tau_family"] == "halfnormal")
    ].iloc[0]
    fit = NormalNormal(table["yi"], table["sei"], f"halfnormal({scale})", mu)
    assert row["mu_median"] == pytest.approx(fit.mu.median, rel=1e-12)
    assert row["tau_median"] == pytest.approx(fit.tau.median, rel=1e-12)
