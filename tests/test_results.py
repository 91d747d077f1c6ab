"""The result contract: JSON keys, null for undefined, compare(), printed settings."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd

from bayesmeta.results import JSON_KEYS, MetaResult, compare


def _classical(**kw) -> MetaResult:
    base = dict(
        engine="classical",
        method="REML",
        ci_method="wald",
        k=3,
        estimate=0.5,
        se=0.1,
        ci_low=0.3,
        ci_high=0.7,
        tau2=0.04,
        q=4.0,
        q_df=2,
        q_p=0.135,
        i2=50.0,
        h2=2.0,
        settings={"estimator": "REML", "variance": "vi as given"},
    )
    base.update(kw)
    return MetaResult(**base)


def test_to_dict_has_every_key_and_null_for_undefined():
    d = _classical(pi_low=None, tau2_ci_low=math.nan).to_dict()
    assert list(d)[: len(JSON_KEYS)] == list(JSON_KEYS)
    assert d["pi_low"] is None and d["tau2_ci_low"] is None
    assert d["k"] == 3 and isinstance(d["k"], int)
    json.dumps(d, allow_nan=False)


def test_subgroups_serialise():
    r = _classical(
        subgroups={"a": _classical(k=2)}, q_between=1.5, q_between_df=1, q_between_p=0.22
    )
    d = r.to_dict()
    assert d["subgroups"]["a"]["k"] == 2
    assert d["q_between_df"] == 1


def test_describe_names_settings_and_tau():
    r = _classical()
    line = r.describe()
    assert "method=REML" in line and "variance=vi as given" in line and "level=0.95" in line
    assert math.isclose(r.tau, 0.2, rel_tol=1e-15)
    text = r.format()
    assert "tau^2 (estimated amount of total heterogeneity): 0.0400" in text
    assert "tau (square root of estimated tau^2 value):      0.2000" in text


def test_compare_side_by_side():
    post = pd.DataFrame(
        {
            "mean": [0.5, 0.2, 0.5],
            "sd": [0.1, 0.1, 0.3],
            "median": [0.49, 0.18, 0.5],
            "ci_low": [0.3, 0.01, -0.1],
            "ci_high": [0.7, 0.45, 1.1],
        },
        index=["mu", "tau", "theta_new"],
    )
    bayes = MetaResult(
        engine="exact",
        method="normal-normal",
        ci_method="central",
        k=3,
        estimate=0.49,
        se=0.1,
        ci_low=0.3,
        ci_high=0.7,
        tau2=0.18**2,
        posterior=post,
        studies=pd.DataFrame(
            {
                "study": ["a"],
                "mean": [0.4],
                "sd": [0.1],
                "median": [0.4],
                "ci_low": [0.2],
                "ci_high": [0.6],
            }
        ),
        settings={"mu_prior": "normal(0, 4)", "tau_prior": "halfnormal(0.5)"},
    )
    table = compare([_classical(), bayes])
    assert list(table.index) == ["classical:REML", "exact:normal-normal"]
    assert np.isnan(table.loc["exact:normal-normal", "i2"])
    assert table.loc["classical:REML", "estimate"] == 0.5
    pd_ = bayes.posterior_dict()
    assert pd_["mu"]["median"] == 0.49 and pd_["theta"][0]["study"] == "a"
    assert pd_["priors"] == {"mu_prior": "normal(0, 4)", "tau_prior": "halfnormal(0.5)"}
