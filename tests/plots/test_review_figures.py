"""What each figure kind of the review report draws (not only that a file appears).

The plotting helpers save and close their figure; the tests catch the Figure at `save` and
inspect its artists: legend entries, the zero line, the reference-prior marker, colours that
match the captions, error bars instead of joined lines, tick labels that do not collide, and
150 dpi in the written PNG.
"""

from __future__ import annotations

import importlib

import numpy as np
import pandas as pd
import pytest
from matplotlib.colors import to_rgba

from bayesmeta.plots import Curve, ShrinkagePanel
from bayesmeta.plots._style import DPI
from bayesmeta.sensitivity import sweep
from bayesmeta.simulate import parse_spec, summarise
from bayesmeta.simulate.figures import coverage_vs_k, width_vs_coverage
from bayesmeta.simulate.run import replicates

# the modules (bayesmeta.plots re-exports functions of the same names)
densities_mod = importlib.import_module("bayesmeta.plots.densities")
sensitivity_mod = importlib.import_module("bayesmeta.plots.sensitivity")
shrinkage_mod = importlib.import_module("bayesmeta.plots.shrinkage")


@pytest.fixture
def caught(monkeypatch):
    """Figures passed to `save` by the three plot modules, kept open for inspection."""
    figs = []

    def keep(fig, path):
        figs.append(fig)
        return path

    for mod in (densities_mod, sensitivity_mod, shrinkage_mod):
        monkeypatch.setattr(mod, "save", keep)
    return figs


def legend_texts(ax):
    leg = ax.get_legend()
    return [t.get_text() for t in leg.get_texts()] if leg else []


def test_sensitivity_plot_has_zero_line_reference_marker_and_readable_legend(caught):
    df = pd.DataFrame({"study": list("abcd"), "yi": [0.1, 0.3, -0.2, 0.5],
                       "vi": [0.04, 0.02, 0.05, 0.03]})  # fmt: skip
    res = sweep(df, ["halfnormal(0.1..1, n=6)", "halfcauchy(0.1..1, n=6)"], "normal(0, 1)")
    sensitivity_mod.interval_vs_scale("s.png", res, reference=0.46, unit="log OR")
    (fig,) = caught
    mu_ax, tau_ax = fig.axes
    labels = legend_texts(mu_ax)
    assert labels[:2] == ["half-normal tau prior, scale 0.1 to 1",
                          "half-Cauchy tau prior, scale 0.1 to 1"]  # fmt: skip
    assert "no effect (mu = 0)" in labels and "reference prior" in labels
    zero = [ln for ln in mu_ax.get_lines() if ln.get_label() == "no effect (mu = 0)"]
    assert len(zero) == 1 and set(zero[0].get_ydata()) == {0.0}
    for ax in (mu_ax, tau_ax):
        diamonds = [ln for ln in ax.get_lines() if ln.get_marker() == "D"]
        assert len(diamonds) == 2  # one per tau-prior family, at the reference scale
        assert all(np.allclose(ln.get_xdata(), 0.46) for ln in diamonds)
        assert "log OR" in ax.get_xlabel() and "log OR" in ax.get_ylabel()
    assert mu_ax.get_legend().get_texts()[0].get_fontsize() >= 9


def test_density_marks_are_legend_entries_not_text_over_the_curves(caught):
    x = np.linspace(-3, 3, 200)
    post = {"vague": Curve(x, np.exp(-(x**2) / 2)), "sceptical": Curve(x, np.exp(-(x**2) / 2))}
    densities_mod.densities("d.png", post, marks={"no effect": 0.0, "published MD": -1.25})
    (fig,) = caught
    ax = fig.axes[0]
    assert len(ax.texts) == 0
    assert {"no effect (0)", "published MD (-1.25)"} <= set(legend_texts(ax))
    widths = {ln.get_label(): ln.get_linewidth() for ln in ax.get_lines()}
    assert widths["vague"] > widths["sceptical"]  # a coinciding curve stays visible


def test_shrinkage_points_are_purple_as_the_caption_says(caught):
    p = ShrinkagePanel("demo", ["a", "b"], [(0.5, 0.1, 0.9), (-0.1, -0.6, 0.4)],
                       [(0.3, 0.0, 0.6), (0.1, -0.2, 0.4)], (0.2, -0.1, 0.5))  # fmt: skip
    shrinkage_mod.shrinkage("k.png", [p])
    (fig,) = caught
    shrunk = [ln for ln in fig.axes[0].get_lines() if ln.get_label() == "shrunken (95% CrI)"]
    assert shrunk and to_rgba(shrunk[0].get_color()) == to_rgba("tab:purple")


@pytest.fixture(scope="module")
def metrics():
    spec = parse_spec({
        "study": {"name": "f", "seed": 2, "replicates": 40, "methods": ["FE", "DL-Wald"]},
        "scenarios": [{"name": "a", "k": [3, 6], "mu": 0.0, "tau": [0.0, 0.3],
                       "se": {"dist": "uniform", "low": 0.1, "high": 0.3}},
                      {"name": "b", "k": [10], "mu": 0.5, "tau": [0.0, 0.3],
                       "se": {"dist": "uniform", "low": 0.5, "high": 2.0}}]})  # fmt: skip
    return summarise(replicates(spec), spec)


def test_coverage_points_are_not_joined_across_k(metrics):
    fig = coverage_vs_k(metrics)
    ax = fig.axes[0]
    assert len(ax.containers) == 2  # one error-bar set per method
    for c in ax.containers:
        assert c.lines[0].get_linestyle() == "None"  # points, not a line through k
    assert [int(t) for t in ax.get_xticks()] == [3, 6, 10]


def test_width_axis_labels_do_not_collide_and_say_the_unit(metrics):
    fig = width_vs_coverage(metrics, unit="per-study SE = 1")
    ax = fig.axes[0]
    assert "(per-study SE = 1)" in ax.get_xlabel()
    fig.canvas.draw()
    boxes = [t.get_window_extent() for t in ax.get_xticklabels() if t.get_text()
             and ax.get_xlim()[0] <= t.get_position()[0] <= ax.get_xlim()[1]]  # fmt: skip
    boxes.sort(key=lambda b: b.x0)
    assert all(a.x1 <= b.x0 for a, b in zip(boxes, boxes[1:], strict=False))
    assert not any(t.get_text() for t in ax.xaxis.get_minorticklabels())


def test_figures_are_written_at_150_dpi(tmp_path):
    from PIL import Image

    df = pd.DataFrame({"study": list("abc"), "yi": [0.1, 0.3, -0.2], "vi": [0.04, 0.02, 0.05]})
    res = sweep(df, "halfnormal(0.1..1, n=4)", "normal(0, 1)")
    path = sensitivity_mod.interval_vs_scale(tmp_path / "s.png", res)
    assert DPI >= 150
    assert round(Image.open(path).info["dpi"][0]) == DPI
