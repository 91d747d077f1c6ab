"""What the small-study-effect figures draw: the funnel's Egger, PET and PEESE lines are the
fitted lines (checked against the summary's coefficients at two SEs, 1e-12), the trim-and-fill
studies are open markers at the filled values, and the model-probability bars have the
heights of `model_average`'s probabilities (1e-12)."""

from __future__ import annotations

import numpy as np
import pytest

from bayesmeta.classical import pool
from bayesmeta.classical.bias import small_study_summary
from bayesmeta.exact.averaging import model_average
from bayesmeta.inputs import load_studies
from bayesmeta.plots.meta import bias_funnel, model_probability_plot


@pytest.fixture(scope="module")
def crins():
    t = load_studies("crins2014")
    return t, small_study_summary(t.yi, t.vi)


def test_funnel_lines_are_the_fitted_lines(crins):
    t, s = crins
    fig = bias_funnel(pool(t, "REML"), s)  # log odds ratios: drawn on the odds-ratio axis
    assert fig.axes[0].get_xscale() == "log"
    assert fig.axes[0].get_xlabel() == "Odds ratio (log scale)"
    lines = {ln.get_label(): ln for ln in fig.axes[0].get_lines()}
    chosen = f"{s['pet_peese_choice']} (chosen)"
    assert {"Egger line", chosen} <= set(lines)
    for label, b0, b1, power in (
        ("Egger line", s["egger_limit"], s["egger_slope"], 1),
        ("PET (chosen)" if s["pet_peese_choice"] == "PET" else "PET", s["pet"], s["pet_slope"], 1),
        ("PEESE (chosen)" if s["pet_peese_choice"] == "PEESE" else "PEESE", s["peese"],
         s["peese_slope"], 2),
    ):  # fmt: skip
        x, se = lines[label].get_data()
        np.testing.assert_allclose(x, np.exp(b0 + b1 * np.asarray(se) ** power), rtol=1e-12)
    assert lines[chosen].get_linestyle() == "-"


def test_trimfill_studies_are_open_markers(crins):
    t, s = crins
    assert s["trimfill_k0"] == 1
    fig = bias_funnel(pool(t, "REML"), s)
    filled = [c for c in fig.axes[0].collections if str(c.get_label()).startswith("filled")]
    (pts,) = filled
    np.testing.assert_allclose(pts.get_offsets()[:, 0], np.exp(s["trimfill_filled_yi"]),
                               rtol=1e-12)  # fmt: skip
    assert tuple(pts.get_facecolors()[0][:3]) == (1.0, 1.0, 1.0)
    t2 = load_studies("normand1999")  # nothing filled: no open markers
    s2 = small_study_summary(t2.yi, t2.vi)
    assert s2["trimfill_k0"] == 0
    assert not [c for c in bias_funnel(pool(t2, "REML"), s2).axes[0].collections
                if str(c.get_label()).startswith("filled")]  # fmt: skip


def test_model_probability_bars_are_the_probabilities():
    ma = model_average([0.1, 0.3, 0.5, 0.25], [0.1, 0.2, 0.15, 0.12], mu_prior="normal(0, 1)",
                       tau_prior="halfnormal(0.5)", prior_probs=(0.1, 0.4, 0.1, 0.4))  # fmt: skip
    fig = model_probability_plot(ma)
    ax = fig.axes[0]
    heights = [p.get_height() for p in ax.patches]
    np.testing.assert_allclose(heights[:4], ma.table["prior"], rtol=1e-12)
    np.testing.assert_allclose(heights[4:], ma.table["posterior"], rtol=1e-12)
    assert "heterogeneity" in ax.get_title()
