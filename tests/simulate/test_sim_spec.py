"""Spec validation: every problem is one InputError line naming the file and the key."""

from __future__ import annotations

import math

import pytest

from bayesmeta._paths import models_dir
from bayesmeta.errors import InputError
from bayesmeta.simulate.spec import load_spec, parse_spec

BASE = """
[study]
name = "t"
seed = 1
replicates = 10
methods = ["FE", "DL-Wald"]
{extra_study}
{extra}
[[scenarios]]
name = "g"
k = [2, 3]
mu = [0.0, 1.0]
tau = [0.0, 0.5]
tau_unit = "se"
se = {{ dist = "uniform", low = 0.2, high = 0.6 }}
{extra_scen}
"""


def write(tmp_path, extra_study="", extra="", extra_scen="", text=None):
    p = tmp_path / "spec.toml"
    p.write_text(text if text is not None else BASE.format(
        extra_study=extra_study, extra=extra, extra_scen=extra_scen))  # fmt: skip
    return p


def test_grid_expands_and_tau_in_se_units(tmp_path):
    s = load_spec(write(tmp_path))
    assert len(s.scenarios) == 8
    sc = s.scenarios[-1]
    assert (sc.k, sc.mu, sc.tau_label) == (3, 1.0, "0.5se")
    assert sc.tau == pytest.approx(0.5 * 0.4, abs=1e-15)  # typical SE = midpoint 0.4
    assert [c.stop - c.start for c in s.chunks()] == [10] * 8  # default chunk_size 100
    assert len({x.key for x in s.scenarios}) == 8


def test_typical_se_of_fixed_and_loguniform():
    doc = {
        "study": {"name": "t", "seed": 0, "replicates": 5, "methods": ["FE"], "chunk_size": 2},
        "scenarios": [
            {"name": "a", "k": 3, "mu": 0, "tau": 1, "tau_unit": "se", "se": [1.0, 4.0, 2.0]},
            {"name": "b", "k": 3, "mu": 0, "tau": 1, "tau_unit": "se",
             "se": {"dist": "loguniform", "low": 1.0, "high": 4.0}},
        ],
    }  # fmt: skip
    s = parse_spec(doc)
    assert s.scenarios[0].tau == 2.0  # median
    assert s.scenarios[1].tau == pytest.approx(2.0, rel=1e-15)  # geometric midpoint
    assert [(c.start, c.stop) for c in s.chunks()[:3]] == [(0, 2), (2, 4), (4, 5)]


def test_shipped_spec_is_valid_and_review_shaped():
    s = load_spec(models_dir() / "simulate_review.toml")
    review = [sc for sc in s.scenarios if "/" in sc.group]
    assert sorted({sc.k for sc in review}) == [2, 3, 4, 5, 6, 7, 8, 9]
    assert all(sc.se.values == (1.0,) * sc.k for sc in review)
    assert any(sc.from_prior for sc in s.scenarios)
    assert s.truth_mu_prior == s.bayes[0].mu_prior and s.truth_tau_prior == s.bayes[0].tau_prior
    # T2DM insulin MSC: k = 2, CI [-35.47, -16.43] -> s = 4.8572 sqrt(2), mu/s = 25.95/6.8692
    row = next(sc for sc in review if sc.group == "T2DM/insulin_dose/MSC")
    s_i = (35.47 - 16.43) / (2 * 1.959964) * math.sqrt(2)
    assert row.mu == pytest.approx(25.95 / s_i, abs=5e-4)


@pytest.mark.parametrize(
    ("kw", "key"),
    [
        ({"extra": "[bogus]\nx = 1"}, "key 'bogus'"),
        ({"extra_study": "colour = 1"}, "key 'study.colour'"),
        ({"extra_scen": "nonsense = 2"}, "key 'scenarios[0].nonsense'"),
        ({"extra_study": "level = 1.5"}, "key 'study.level'"),
        ({"extra_study": "chunk_size = 0"}, "key 'study.chunk_size'"),
        ({"extra": '[[bayes]]\nname = "B"\ntau_prior = "halfnormal(-1)"\nmu_prior = "flat"'},
         "key 'bayes[0].tau_prior'"),
        ({"extra": '[truth_prior]\nmu = "flat"\ntau = "halfnormal(1)"'}, "key 'truth_prior.mu'"),
        ({"extra": '[[bayes]]\nname = "FE"\ntau_prior = "halfnormal(1)"\nmu_prior = "flat"'},
         "key 'bayes[0].name'"),
        ({"extra_scen": '[[scenarios]]\nname = "g"\nk = 2\nmu = 0.0\ntau = 0.0\n'
                        'tau_unit = "se"\nse = { dist = "uniform", low = 0.2, high = 0.6 }'},
         "key 'scenarios[1]'"),
    ],
)  # fmt: skip
def test_bad_keys_name_file_and_key(tmp_path, kw, key):
    p = write(tmp_path, **kw)
    with pytest.raises(InputError) as e:
        load_spec(p)
    msg = str(e.value)
    assert "\n" not in msg and msg.startswith(str(p)) and key in msg


@pytest.mark.parametrize(
    ("old", "new", "key"),
    [
        ('["FE", "DL-Wald"]', '["FE", "HKSJ"]', "study.methods[1]"),
        ("k = [2, 3]", "k = [1, 3]", "scenarios[0].k"),
        ("tau = [0.0, 0.5]", "tau = [-1.0]", "scenarios[0].tau"),
        ('se = { dist = "uniform", low = 0.2, high = 0.6 }', "se = [1.0, 2.0]", "scenarios[0].se"),
        ('dist = "uniform"', 'dist = "gamma"', "scenarios[0].se.dist"),
        ("high = 0.6", "high = 0.1", "scenarios[0].se.high"),
        ("mu = [0.0, 1.0]\ntau = [0.0, 0.5]", 'mu = "prior"\ntau = "prior"', "scenarios[0].mu"),
        ("mu = [0.0, 1.0]", 'mu = "prior"', "scenarios[0].tau"),
        ('tau_unit = "se"', 'tau_unit = "sd"', "scenarios[0].tau_unit"),
        ("seed = 1", 'seed = "x"', "study.seed"),
    ],
)
def test_bad_values(tmp_path, old, new, key):
    text = BASE.format(extra_study="", extra="", extra_scen="")
    assert old in text
    p = write(tmp_path, text=text.replace(old, new))
    with pytest.raises(InputError, match=rf"{p}: key '{key.replace('[', r'\[')}'"):
        load_spec(p)


def test_unreadable_files(tmp_path):
    with pytest.raises(InputError, match="not found"):
        load_spec(tmp_path / "missing.toml")
    p = write(tmp_path, text="[study\n")
    with pytest.raises(InputError, match="not valid TOML"):
        load_spec(p)


def test_fingerprint_ignores_chunk_size_only(tmp_path):
    a = load_spec(write(tmp_path))
    b = load_spec(write(tmp_path, extra_study="chunk_size = 3"))
    c = load_spec(write(tmp_path, extra_study="level = 0.9"))
    assert a.fingerprint() == b.fingerprint() != c.fingerprint()
