"""Mantel-Haenszel and Peto against R metafor 3.8.1 `rma.mh` / `rma.peto` (and RevMan-style
DerSimonian-Laird on the study-level estimates, `rma(method = "DL")`) on six real 2x2 data
sets from metadat, three with zero cells and double-zero tables. Fixture:
tests/fixtures/mh_peto.json, made by tests/fixtures/make_mh_fixtures.R. Tolerance 1e-6
relative (1e-10 absolute for values near 0)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bayesmeta.classical import mantel_haenszel, peto
from bayesmeta.errors import InputError
from bayesmeta.io.revman import RevManAnalysis, recompute

FIX = json.loads((Path(__file__).parents[1] / "fixtures" / "mh_peto.json").read_text())
SETS = sorted(FIX["sets"])
REL, ABS = 1e-6, 1e-10


def cells(rec):
    arr = {k: np.asarray(rec[k], dtype=float) for k in ("ai", "bi", "ci", "di")}
    ok = np.all([np.isfinite(v) for v in arr.values()], axis=0)  # metafor omits NA tables
    return [arr[k][ok] for k in ("ai", "bi", "ci", "di")], np.asarray(rec["study"])[ok]


def check(res, ref):
    assert res.estimate == pytest.approx(ref["beta"], rel=REL, abs=ABS)
    assert res.se == pytest.approx(ref["se"], rel=REL)
    assert res.ci_low == pytest.approx(ref["ci_lb"], rel=REL, abs=ABS)
    assert res.ci_high == pytest.approx(ref["ci_ub"], rel=REL, abs=ABS)
    assert res.extra["zval"] == pytest.approx(ref["zval"], rel=REL, abs=ABS)
    assert res.extra["pval"] == pytest.approx(ref["pval"], rel=REL, abs=ABS)
    assert res.q == pytest.approx(ref["QE"], rel=REL, abs=ABS)
    assert res.q_p == pytest.approx(ref["QEp"], rel=REL, abs=ABS)
    assert res.i2 == pytest.approx(ref["I2"], rel=REL, abs=1e-8)
    assert res.h2 == pytest.approx(ref["H2"], rel=REL)
    assert res.k == ref["k"] and res.q_df == ref["k_yi"] - 1
    yi = res.studies["yi"].to_numpy()
    np.testing.assert_allclose(yi[np.isfinite(yi)], ref["yi"], rtol=REL, atol=ABS)
    vi = res.studies["vi"].to_numpy()
    np.testing.assert_allclose(vi[np.isfinite(vi)], ref["vi"], rtol=REL)


@pytest.mark.parametrize("measure", ["OR", "RR", "RD"])
@pytest.mark.parametrize("name", SETS)
def test_mantel_haenszel_matches_metafor(name, measure):
    (a, b, c, d), study = cells(FIX["sets"][name])
    check(mantel_haenszel(a, b, c, d, measure, study=study), FIX["sets"][name][f"mh_{measure}"])


@pytest.mark.parametrize("name", SETS)
def test_peto_matches_metafor(name):
    (a, b, c, d), study = cells(FIX["sets"][name])
    check(peto(a, b, c, d, study=study), FIX["sets"][name]["peto"])


@pytest.mark.parametrize("measure", ["OR", "RR", "RD"])
@pytest.mark.parametrize("name", SETS)
def test_revman_rules_equal_r_meta(name, measure):
    """RevMan 5's rules as R meta 8 reproduces them (`metabin(..., method = "MH", MH.exact =
    FALSE, RR.Cochrane = TRUE, Q.Cochrane = TRUE, method.tau = "DL")`): 1/2 added to every cell
    of a table with a zero for the MH estimate too; Q around the MH estimate; random effects
    DerSimonian-Laird from that Q with inverse-variance weights (``convention="revman"`` and
    `bayesmeta.io.recompute`)."""
    rec = FIX["sets"][name]
    ref = rec[f"revman_{measure}"]
    (a, b, c, d), study = cells(rec)
    mh = mantel_haenszel(a, b, c, d, measure, study=study, convention="revman",
                         rd_variance="greenland-robins")  # fmt: skip
    assert mh.estimate == pytest.approx(ref["te_common"], rel=REL, abs=ABS)
    assert mh.se == pytest.approx(ref["se_common"], rel=REL)
    assert mh.q == pytest.approx(ref["q"], rel=REL, abs=ABS)
    te = np.asarray(ref["te"], float)
    if te.size == mh.k:  # meta drops a table without counts from its study rows
        ok = np.isfinite(te)
        np.testing.assert_allclose(mh.studies["yi"][ok], te[ok], rtol=REL, atol=ABS)
        w = np.asarray(ref["w_common"], float)
        np.testing.assert_allclose(mh.studies["weight"], 100 * w / w.sum(), rtol=REL, atol=ABS)
    studies = pd.DataFrame({"study": study, "events_1": a, "total_1": a + b,
                            "events_2": c, "total_2": c + d})  # fmt: skip
    r = recompute(RevManAnalysis(1, 1, None, name, "dichotomous", "MH", measure, "random",
                                 studies=studies))  # fmt: skip
    assert r["tau2"] == pytest.approx(ref["tau2"], rel=REL, abs=ABS)
    back = math.exp if measure != "RD" else (lambda x: x)
    assert r["estimate"] == pytest.approx(back(ref["te_random"]), rel=REL, abs=ABS)
    z = 1.959963984540054
    assert r["ci_high"] == pytest.approx(back(ref["te_random"] + z * ref["se_random"]), rel=REL)


def test_mh_weights_are_revman_percentages():
    (a, b, c, d), _ = cells(FIX["sets"]["bcg"])
    w = mantel_haenszel(a, b, c, d, "OR").studies["weight"].to_numpy()
    s = b * c / (a + b + c + d)
    np.testing.assert_allclose(w, 100 * s / s.sum(), rtol=1e-12)
    assert w.sum() == pytest.approx(100.0)


def test_rd_variances_agree_in_large_samples_and_are_named():
    """Sato (metafor) and Greenland-Robins (RevMan) RD variances both estimate the same
    variance: with large tables they agree to 1 %; the settings say which one was used."""
    a, b, c, d = (
        np.array(x) * 50.0 for x in ([4, 6, 3], [119, 300, 228], [11, 29, 11], [128, 274, 209])
    )
    sato = mantel_haenszel(a, b, c, d, "RD")
    gr = mantel_haenszel(a, b, c, d, "RD", rd_variance="greenland-robins")
    assert sato.estimate == gr.estimate
    assert gr.se == pytest.approx(sato.se, rel=0.01)
    assert "Sato" in sato.settings["variance"] and "RevMan" in gr.settings["variance"]


def test_bad_tables_are_one_line():
    with pytest.raises(InputError, match="row 2, column 'bi'"):
        mantel_haenszel([1, 2], [3, -1], [1, 1], [2, 2])
    with pytest.raises(InputError, match="undefined"):
        mantel_haenszel([0, 0], [5, 5], [0, 0], [5, 5], "OR")


def test_cli_pools_2x2_counts_with_mh_and_peto(tmp_path, capsys):
    """`bayesmeta pool --method MH|PETO` on raw counts equals the Python call; subgroups get
    the test for subgroup differences; bad counts are one line."""
    from bayesmeta.cli import main

    rec = FIX["sets"]["bcg"]
    f = tmp_path / "bcg.csv"
    rows = ["trial,ev_t,n_t,ev_c,n_c,alloc"]
    for i, (a, b, c, d) in enumerate(zip(rec["ai"], rec["bi"], rec["ci"], rec["di"], strict=True)):
        rows.append(f"T{i},{a},{a + b},{c},{c + d},{'r' if i % 2 else 's'}")
    f.write_text("\n".join(rows) + "\n")
    cols = "ai=ev_t,n1i=n_t,ci=ev_c,n2i=n_c,study=trial"
    assert main(["pool", str(f), "--method", "MH", "--columns", cols, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["estimate"] == pytest.approx(rec["mh_OR"]["beta"], rel=REL)
    assert out["q"] == pytest.approx(rec["mh_OR"]["QE"], rel=REL)
    argv = ["pool", str(f), "--method", "peto", "--columns", cols, "--subgroup", "alloc", "--json"]
    assert main(argv) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["estimate"] == pytest.approx(rec["peto"]["beta"], rel=REL)
    assert set(out["subgroups"]) == {"r", "s"} and out["q_between_df"] == 1
    f.write_text("trial,ev_t,n_t,ev_c,n_c\nA,5,4,1,10\n")
    assert main(["pool", str(f), "--method", "MH", "--columns", cols]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "row 1, column 'ev_t'" in err and "bcg.csv" in err
