"""Small-study-effect tools against R metafor 3.8.1 (regtest, ranktest, trimfill, fsn) and
weighted least squares in R (PET, PEESE) on four real data sets, one with k = 48. Fixture:
tests/fixtures/bias.json, made by tests/fixtures/make_bias_fixtures.R. Tolerance 1e-6
relative unless stated."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from bayesmeta.classical.bias import fsn_rosenthal, pet_peese, ranktest, regtest, trimfill
from bayesmeta.errors import InputError

FIX = json.loads((Path(__file__).parents[1] / "fixtures" / "bias.json").read_text())["sets"]
SETS = sorted(FIX)
REL = 1e-6


def data(name):
    r = FIX[name]
    ni = None if r["ni"][0] is None else np.asarray(r["ni"], float)
    return np.asarray(r["yi"]), np.asarray(r["vi"]), ni


@pytest.mark.parametrize("name", SETS)
def test_regtest_matches_metafor(name):
    y, v, ni = data(name)
    ref = FIX[name]
    r = regtest(y, v)
    assert r.stat == pytest.approx(ref["regtest_sei"]["zval"], rel=REL)
    assert r.pval == pytest.approx(ref["regtest_sei"]["pval"], rel=REL)
    assert r.limit == pytest.approx(ref["regtest_sei"]["est"], rel=REL, abs=1e-9)
    assert r.limit_ci[0] == pytest.approx(ref["regtest_sei"]["ci_lb"], rel=REL)
    assert r.limit_ci[1] == pytest.approx(ref["regtest_sei"]["ci_ub"], rel=REL)
    assert regtest(y, v, predictor="vi").stat == pytest.approx(ref["regtest_vi"]["zval"], rel=REL)
    lm = regtest(y, v, model="lm")
    assert lm.stat == pytest.approx(ref["regtest_lm"]["tval"], rel=REL)
    assert lm.pval == pytest.approx(ref["regtest_lm"]["pval"], rel=REL)
    assert lm.df == ref["regtest_lm"]["dfs"]
    if ni is not None:
        for pred in ("ni", "ninv"):
            got = regtest(y, v, predictor=pred, ni=ni).stat
            assert got == pytest.approx(ref[f"regtest_{pred}"]["zval"], rel=REL)


@pytest.mark.parametrize("name", SETS)
def test_ranktest_matches_metafor(name):
    y, v, _ = data(name)
    tau, p = ranktest(y, v)
    assert tau == pytest.approx(FIX[name]["ranktest"]["tau"], rel=REL)
    assert p == pytest.approx(FIX[name]["ranktest"]["pval"], rel=1e-4)


@pytest.mark.parametrize("name", SETS)
def test_trimfill_matches_metafor(name):
    y, v, _ = data(name)
    ref = FIX[name]["trimfill"]
    tf = trimfill(y, v)
    assert (tf.k0, tf.side) == (ref["k0"], ref["side"])
    assert tf.estimate == pytest.approx(ref["beta"], rel=REL)
    assert tf.ci_low == pytest.approx(ref["ci_lb"], rel=REL)
    assert tf.ci_high == pytest.approx(ref["ci_ub"], rel=REL)
    filled = ref["filled_yi"] if isinstance(ref["filled_yi"], list) else [ref["filled_yi"]]
    np.testing.assert_allclose(np.sort(tf.filled_yi), np.sort(filled), rtol=REL)


@pytest.mark.parametrize("name", SETS)
def test_fsn_and_pet_peese_match_r(name):
    y, v, _ = data(name)
    ref = FIX[name]
    assert fsn_rosenthal(y, v) == pytest.approx(ref["fsn_rosenthal"], rel=REL)
    pp = pet_peese(y, v)
    assert pp["pet"] == pytest.approx(ref["pet"]["est"], rel=REL, abs=1e-9)
    assert pp["pet_se"] == pytest.approx(ref["pet"]["se"], rel=REL)
    assert pp["pet_p"] == pytest.approx(ref["pet"]["p"], rel=REL)
    assert pp["peese"] == pytest.approx(ref["peese"]["est"], rel=REL, abs=1e-9)


def test_small_k_and_degenerate_inputs():
    with pytest.raises(InputError, match="at least 3 studies"):
        regtest([0.1, 0.2], [0.01, 0.02])
    with pytest.raises(InputError, match="same for every study"):
        regtest([0.1, 0.2, 0.3], [0.02, 0.02, 0.02])
    r = regtest([0.1, 0.2, 0.3, 0.2], [0.01, 0.02, 0.03, 0.04])
    assert any("little power" in w for w in r.warnings)
    tf = trimfill([0.2, 0.2, 0.2, 0.2, 0.2], [0.01, 0.02, 0.03, 0.04, 0.05])
    assert tf.k0 == 0 and tf.estimate == pytest.approx(0.2)


def test_cli_bias_keys_match_the_functions(tmp_path, capsys):
    """`bayesmeta bias --json` has the documented keys, with the numbers of the Python
    functions (themselves checked against metafor above); --plot draws the funnel with the
    filled studies and the Egger line; `posterior --average` prints the model averaging."""
    from bayesmeta.cli import main

    r = FIX["bangertdrowns2004"]
    f = tmp_path / "d.csv"
    rows = [f"s{i},{y!r},{v!r}" for i, (y, v) in enumerate(zip(r["yi"], r["vi"], strict=True))]
    f.write_text("study,yi,vi\n" + "\n".join(rows) + "\n")
    assert main(["bias", str(f), "--json", "--plot", str(tmp_path / "f.png")]) == 0
    out = json.loads(capsys.readouterr().out)
    keys = {"egger_z", "egger_p", "egger_limit", "egger_lm_t", "egger_lm_p", "rank_tau",
            "rank_p", "trimfill_k0", "trimfill_side", "trimfill_estimate", "trimfill_ci_low",
            "trimfill_ci_high", "fsn_rosenthal", "pet", "peese", "selection", "bma"}  # fmt: skip
    assert keys <= set(out)
    assert out["egger_z"] == pytest.approx(r["regtest_sei"]["zval"], rel=REL)
    assert out["trimfill_k0"] == r["trimfill"]["k0"] and out["trimfill_side"] == "left"
    assert out["rank_tau"] == pytest.approx(r["ranktest"]["tau"], rel=REL)
    assert set(out["bma"]) >= {"models", "bf_effect", "bf_heterogeneity", "p_effect"}
    assert (tmp_path / "f.png").stat().st_size > 10_000
    assert main(["posterior", str(f), "--average", "--mu-prior", "normal(0, 1)",
                 "--tau-prior", "halfnormal(0.5)", "--json"]) == 0  # fmt: skip
    bma = json.loads(capsys.readouterr().out)
    lm = {m["model"]: m["log_marginal"] for m in bma["models"]}
    assert lm["random, effect"] == pytest.approx(np.log(r["bayesmeta"]["marginal"]), abs=1e-6)
