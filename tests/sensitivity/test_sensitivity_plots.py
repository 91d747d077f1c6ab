"""Sensitivity figures render (non-trivial PNGs) and reject unusable input."""

from __future__ import annotations

import pandas as pd
import pytest
from matplotlib import image

from bayesmeta import datasets
from bayesmeta.errors import InputError
from bayesmeta.plots.sensitivity import interval_vs_scale, overlay, tornado
from bayesmeta.sensitivity import sweep
from bayesmeta.sensitivity.curves import posterior_curves


def _rubin() -> pd.DataFrame:
    d = datasets.load("rubin1981")
    return pd.DataFrame({"study": d["school"], "yi": d["effect"], "sei": d["stderr"]})


def _png(path):
    assert path.exists() and path.stat().st_size > 5_000
    img = image.imread(path)
    assert img.shape[0] > 200 and img[..., :3].std() > 0.02  # not blank
    return img


def test_overlay(tmp_path):
    curves = posterior_curves(_rubin(), "halfnormal(2..40, n=5)", "normal(0, 100)", points=100)
    assert len(curves) == 5 and curves[0].mu[0].size == 100
    assert curves[0].tau[0][0] == 0.0
    _png(overlay(tmp_path / "o.png", curves, title="8 schools"))


def test_interval_and_tornado(tmp_path):
    res = sweep(
        _rubin(),
        ["halfnormal(2..40, n=6)", "halfcauchy(2..40, n=6)", "turner"],
        ["normal(0, 100)", "normal(0, 10)"],
    )
    _png(interval_vs_scale(tmp_path / "i.png", res))
    _png(tornado(tmp_path / "t.png", res, baseline=8.0))
    _png(tornado(tmp_path / "t2.png", res, quantity="tau_median"))


def test_errors(tmp_path):
    res = sweep(_rubin(), "turner", "normal(0, 100)")
    with pytest.raises(InputError, match="no swept tau-prior scale"):
        interval_vs_scale(tmp_path / "x.png", res)
    with pytest.raises(InputError, match="no column"):
        tornado(tmp_path / "x.png", res, quantity="nope")
    with pytest.raises(InputError, match="no posterior curves"):
        overlay(tmp_path / "x.png", [])
