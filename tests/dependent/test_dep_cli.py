"""``bayesmeta pool --cluster``: the JSON contract against metafor/clubSandwich numbers, the
printed summary, the plot, and bad input (one line, exit 2)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bayesmeta.cli import main
from bayesmeta.dependent import multivariate
from bayesmeta.errors import InputError

FIX = json.loads((Path(__file__).parents[1] / "fixtures" / "dependent_metafor.json").read_text())
CASES = {c["name"]: c for c in FIX["cases"]}


def first(x):
    """A fixture number that R wrote as a scalar or as a one-element list."""
    return float(np.atleast_1d(x)[0])


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def csv_of(case: dict, path: Path) -> Path:
    df = pd.DataFrame({"study": [f"e{i}" for i in range(len(case["yi"]))], "yi": case["yi"],
                       "vi": case["vi"], "cluster": case["cluster"]})  # fmt: skip
    if "outcome" in case:
        df["outcome"] = case["outcome"]
    df.to_csv(path, index=False)
    return path


def test_multilevel_json_equals_metafor(tmp_path: Path, capsys) -> None:
    c = CASES["konstantopoulos2011"]
    code, out, err = run(capsys, "pool", csv_of(c, tmp_path / "k.csv"), "--cluster", "cluster",
                         "--robust", "--json")  # fmt: skip
    assert code == 0, err
    o = json.loads(out)
    f, r = c["fit"], c["cr2"]
    assert o["k"] == 56 and o["n_clusters"] == 11
    refs = {
        "estimate": f["beta"],
        "se": f["se"],
        "ci_low": f["ci_lb"],
        "ci_high": f["ci_ub"],
        "pval": f["pval"],
        "q": f["QE"],
    }
    for key, ref in refs.items():
        assert o[key] == pytest.approx(first(ref), rel=1e-6), key
    assert o["q_p"] == pytest.approx(f["QEp"], rel=1e-5, abs=1e-300)
    np.testing.assert_allclose(o["sigma2"], f["sigma2"], rtol=2e-6)
    refs = {
        "se": r["se"],
        "df": r["df"],
        "ci_low": r["ci_lb"],
        "ci_high": r["ci_ub"],
        "pval": r["pval"],
    }
    for key, ref in refs.items():
        assert o["robust"][key] == pytest.approx(first(ref), rel=1e-6), key


def test_multivariate_json_equals_metafor(tmp_path: Path, capsys) -> None:
    c = CASES["kalaian1996-CS"]
    path = csv_of(c, tmp_path / "m.csv")
    code, out, err = run(capsys, "pool", path, "--cluster", "cluster", "--outcome", "outcome",
                         "--rho", "0.66", "--struct", "CS", "--json")  # fmt: skip
    assert code == 0, err
    o = json.loads(out)
    f = c["fit"]
    assert [x["outcome"] for x in o["outcomes"]] == f["outcomes"]
    np.testing.assert_allclose([x["estimate"] for x in o["outcomes"]], f["beta"], rtol=1e-6)
    np.testing.assert_allclose([x["se"] for x in o["outcomes"]], f["se"], rtol=1e-6)
    np.testing.assert_allclose(list(o["tau2"].values()), [f["tau2"]] * 2, rtol=2e-6)
    assert o["rho_between"] == pytest.approx(f["rho"], rel=1e-6)


def test_plain_random_effects_robust_and_plot(tmp_path: Path, capsys) -> None:
    c = CASES["tannersmith2016-re"]
    png = tmp_path / "f.png"
    code, out, err = run(capsys, "pool", csv_of(c, tmp_path / "t.csv"), "--cluster", "cluster",
                         "--cluster-model", "re", "--robust", "CR1", "--plot", png)  # fmt: skip
    assert code == 0, err
    assert "Cluster-robust inference (CR1" in out and png.stat().st_size > 1000
    assert f"{first(c['cr1']['se']):.4f}" in out


def test_printed_summary_is_metafor_like(tmp_path: Path, capsys) -> None:
    c = CASES["assink2016"]
    code, out, _ = run(capsys, "pool", csv_of(c, tmp_path / "a.csv"), "--cluster", "cluster")
    assert code == 0
    assert out.startswith("Multivariate Meta-Analysis Model (k = 100; method: REML)")
    assert "sigma^2.1" in out and "sigma^2.2" in out and "multilevel I^2" in out
    assert f"{first(c['fit']['beta']):.4f}" in out


GOOD = "study,cl,yi,vi,oc\na,1,0.1,0.02,X\nb,1,0.3,0.03,Y\nc,2,0.2,0.02,X\nd,2,0.5,0.04,Y\n"


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--cluster", "cl", "--outcome", "oc", "--rho", "1"], "--rho: must lie in (-1, 1)"),
        (["--cluster", "cl", "--outcome", "oc", "--rho", "-1.2"], "--rho: must lie in (-1, 1)"),
        (["--cluster", "cl", "--outcome", "oc"], "give --rho"),
        (["--cluster", "cl", "--outcome", "one", "--rho", "0.5"], "has one level"),
        (["--cluster", "same", "--robust"], "need at least 2"),
        (["--robust"], "option --robust: give the cluster column"),
        (["--cluster", "cl", "--struct", "AR", "--outcome", "oc", "--rho", "0.2"], "--struct"),
        (["--cluster", "nosuch"], "nosuch"),
        (["--cluster", "cl", "--robust", "CR3"], "option --robust: CR2 or CR1"),
    ],
)
def test_bad_input(tmp_path: Path, capsys, args: list, expected: str) -> None:
    path = tmp_path / "d.csv"
    df = pd.read_csv(pd.io.common.StringIO(GOOD))
    df["one"] = "X"
    df["same"] = "1"
    df.to_csv(path, index=False)
    code, out, err = run(capsys, "pool", path, *args)
    assert code == 2, (out, err)
    assert err.count("\n") == 1 and "Traceback" not in err and expected in err


def test_user_v_not_positive_definite_names_the_cluster() -> None:
    V = np.array([[0.02, 0.05, 0, 0], [0.05, 0.03, 0, 0], [0, 0, 0.02, 0.0], [0, 0, 0.0, 0.04]])
    with pytest.raises(InputError, match="cluster '1' is not positive definite"):
        multivariate([0.1, 0.3, 0.2, 0.5], ["1", "1", "2", "2"], list("XYXY"), V=V)


def test_a_cluster_with_one_effect_is_fine() -> None:
    from bayesmeta.dependent import multilevel

    r = multilevel([0.1, 0.3, 0.2, 0.6, 0.5], [0.02] * 5, ["a", "a", "b", "b", "c"])
    assert r.n_clusters == 3 and np.isfinite(r.estimate)


def test_one_effect_per_cluster_is_the_random_effects_model() -> None:
    """Each cluster one effect: the two levels are not identified separately, but their sum
    is tau^2 of rma() and the estimate is rma()'s (metafor gives the same)."""
    from bayesmeta.classical import rma
    from bayesmeta.dependent import multilevel

    y = np.array([0.1, 0.3, 0.2, 0.6, 0.5, 0.9])
    v = np.array([0.02, 0.03, 0.02, 0.04, 0.02, 0.03])
    r = multilevel(y, v, list("abcdef"), profile=False)
    f = rma(y, v, control={"threshold": 1e-12, "maxiter": 10000})
    assert sum(r.sigma2 or []) == pytest.approx(f.tau2, rel=1e-5)
    assert r.estimate == pytest.approx(float(f.beta[0]), rel=1e-6)


def test_a_fit_that_does_not_converge_says_so_and_prints_no_numbers(
    tmp_path: Path, capsys, monkeypatch
) -> None:
    """The optimiser stops at its start (forced): the command says the fit did not converge,
    with the iteration count, exit 1, and prints no estimate."""
    import types

    from bayesmeta.dependent import fit as fit_mod

    def stuck(fun, x0, **kw):  # noqa: ANN001, ANN003, ANN202
        return types.SimpleNamespace(x=np.asarray(x0), nit=3, success=False, status=1,
                                     message="stopped")  # fmt: skip

    monkeypatch.setattr(fit_mod.optimize, "minimize", stuck)
    monkeypatch.setattr(fit_mod.MvModel, "_newton", staticmethod(lambda f, g, x, steps=20: (x, 0)))
    path = tmp_path / "d.csv"
    path.write_text(GOOD)
    code, out, err = run(capsys, "pool", path, "--cluster", "cl", "--json")
    assert code == 1 and out == ""
    assert "did not converge after 3 iterations" in err and err.count("\n") == 1
