"""Figures render: the file exists, is a non-trivial PNG and has the expected pixel size
(figure inches x the package's DPI, 150)."""

from __future__ import annotations

import numpy as np
from matplotlib import image

from bayesmeta.plots import (
    Curve,
    ForestRow,
    Interval,
    ShrinkagePanel,
    densities,
    interval_forest,
    shrinkage,
)
from bayesmeta.plots._style import DPI


def _png(path, width=None):
    assert path.exists() and path.stat().st_size > 10_000
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    img = image.imread(path)
    if width is not None:
        assert img.shape[1] == width
    assert img.shape[0] > 200
    assert img[..., :3].std() > 0.05  # not blank
    return img


def test_forest(tmp_path):
    rows = [
        ForestRow(
            "Overall",
            [
                Interval("published", -1, -2, 0),
                Interval("vague", -1, -2, 0),
                Interval("cell-type model (exact)", -0.8, -3, 1),
            ],
            bold=True,
        ),
        ForestRow(
            "MSC",
            [Interval("published", -1.5, -2.5, -0.5), Interval("sceptical", -0.8, -1.5, -0.1)],
        ),
    ]
    _png(interval_forest(tmp_path / "f.png", rows, title="t", xlabel="x"), width=round(9.0 * DPI))


def test_shrinkage(tmp_path):
    panel = ShrinkagePanel(
        "p", ["A", "B"], [(1, 0, 2), (3, 2, 4)], [(1.5, 0.6, 2.3), (2.7, 1.9, 3.5)], (2, 0, 4)
    )
    img = _png(shrinkage(tmp_path / "s.png", [panel] * 3), width=round(10.4 * DPI))
    assert img.shape[0] == round(4.8 * DPI)  # 2 rows x 2.4 in


def test_densities(tmp_path):
    x = np.linspace(-3, 3, 200)
    y = np.exp(-(x**2) / 2)
    path = densities(
        tmp_path / "d.png",
        {"vague": Curve(x, y, "posterior"), "sceptical": Curve(x, y / 2)},
        priors={"sceptical": Curve(x, y / 3)},
        marks={"zero": 0.0},
    )
    img = _png(path, width=round(10.0 * DPI))
    assert img.shape[0] == round(4.2 * DPI)
