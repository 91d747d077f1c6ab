"""The command line: JSON contract, one-line errors with exit code 2."""

from __future__ import annotations

import json

import pytest

from bayesmeta import __version__
from bayesmeta.cli import main
from bayesmeta.results import JSON_KEYS

NORMAND_HO = (
    # Normand 1999 with the pooled-SD variance (metafor escalc vtype="HO"), 4 decimals are
    # enough here: this file tests the CLI wiring, tests/classical tests the numbers.
    "study,yi,vi,setting\n"
    "1,-20,33.6053,a\n2,-2,1.1963,a\n3,-55,16.0573,b\n4,-71,159.4250,b\n5,-4,0.8880,a\n"
)


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_version(capsys):
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    assert __version__ in capsys.readouterr().out


def test_pool_json_has_the_contract_keys(write_csv, capsys):
    path = write_csv(NORMAND_HO)
    code, out, _ = run(capsys, "pool", str(path), "--method", "DL", "--json")
    assert code == 0
    obj = json.loads(out)
    assert set(JSON_KEYS) <= set(obj)
    assert obj["k"] == 5 and obj["method"] == "DL" and obj["ci_method"] == "wald"
    assert obj["tau2_ci_low"] is not None and obj["pi_low"] is not None


def test_pool_subgroup_json(write_csv, capsys):
    path = write_csv(NORMAND_HO)
    code, out, _ = run(
        capsys, "pool", str(path), "--preset", "revman5", "--subgroup", "setting", "--json"
    )
    assert code == 0
    obj = json.loads(out)
    assert set(obj["subgroups"]) == {"a", "b"}
    assert obj["subgroups"]["a"]["k"] == 3
    assert obj["q_between_df"] == 1 and 0 <= obj["q_between_p"] <= 1
    assert obj["pi_low"] is None  # revman5: no prediction interval


def test_pool_text_prints_settings(write_csv, capsys):
    code, out, _ = run(capsys, "pool", str(write_csv(NORMAND_HO)), "--ci", "hksj")
    assert code == 0
    assert "REML" in out and "variance: vi as given" in out and "Knapp-Hartung" in out


@pytest.mark.parametrize(
    ("text", "args", "expected"),
    [
        ("study,yi\nA,1\n", (), "column 'vi'"),
        ("study,yi,vi\nA,1,0.1\nB,,0.2\n", (), "row 2, column 'yi': empty cell"),
        ("study,yi,vi\nA,1,0.1\nB,1,-1\n", (), "row 2, column 'vi': must be > 0"),
        ("study,yi,sei\nA,1,0\n", (), "row 1, column 'sei': must be > 0"),
        ("study,yi,vi\n", (), "empty table"),
        ("study,yi,vi\nA,1,0.1\nA,2,0.1\n", (), "duplicate study label 'A'"),
        ("study,yi,vi\nA,1,0.1\nB,2,0.1\n", ("--method", "XYZ"), "unknown method 'XYZ'"),
        ("study,yi,vi\nA,1,0.1\nB,2,0.1\n", ("--subgroup", "cell"), "column 'cell'"),
        ("study,yi,vi\nA,1,1\nB,2,1\n,3,2\n", (), "row 3, column 'study': empty cell"),
        (
            "study,yi,vi,g\nA,1,1,x\nB,2,1,\nC,3,2,y\n",
            ("--subgroup", "g"),
            "row 2, column 'g': empty cell",
        ),
    ],
)
def test_bad_input_one_line_exit_2(write_csv, capsys, text, args, expected):
    path = write_csv(text)
    code, out, err = run(capsys, "pool", str(path), *args)
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1 and expected in err
    assert "Traceback" not in err


def test_k1_and_k2(write_csv, capsys):
    code, out, _ = run(capsys, "pool", str(write_csv("study,yi,vi\nA,1.5,0.04\n")), "--json")
    obj = json.loads(out)
    assert code == 0 and obj["estimate"] == 1.5 and obj["tau2"] is None
    assert any("not estimable" in w for w in obj["warnings"])
    code, out, _ = run(
        capsys, "pool", str(write_csv("study,yi,vi\nA,1,0.04\nB,2,0.09\n")), "--json"
    )
    assert any("barely identified" in w for w in json.loads(out)["warnings"])


def test_datasets_listing_and_unknown(capsys):
    code, out, _ = run(capsys, "datasets")
    assert code == 0 and "normand1999" in out and "zhang2020_table1" in out
    code, out, err = run(capsys, "datasets", "nope")
    assert code == 2 and "unknown data set 'nope'" in err


def test_argparse_errors_are_one_line(capsys):
    with pytest.raises(SystemExit) as info:
        main(["pool"])
    assert info.value.code == 2
    assert capsys.readouterr().err.count("\n") == 1


RUBIN = (
    "study,yi,sei\nA,28.39,14.9\nB,7.94,10.2\nC,-2.75,16.3\nD,6.82,11.0\n"
    "E,-0.64,9.4\nF,0.63,11.4\nG,18.01,10.4\nH,12.16,17.6\n"
)


def test_posterior_exact_json_rubin(write_csv, capsys):
    """Rubin 1981 eight schools, tau ~ half-Cauchy(25), flat mu: R bayesmeta's documented
    example, published in shared/datasets/README.md (tau median 4.76877, mu median 8.03827,
    mu mean 8.06757). bayesmeta's printed mu figures come from its DIRECT mixture (about 1e-3
    accurate), so mu is compared at 2e-3 relative; tau is exact there, compared at 1e-5.
    """
    path = write_csv(RUBIN)
    code, out, _ = run(
        capsys,
        "posterior",
        str(path),
        "--tau-prior",
        "halfcauchy(25)",
        "--mu-prior",
        "flat",
        "--json",
    )
    assert code == 0
    obj = json.loads(out)
    assert obj["engine"] == "exact"
    assert obj["tau"]["median"] == pytest.approx(4.76877, rel=1e-5)
    assert obj["mu"]["median"] == pytest.approx(8.03827, rel=2e-3)
    assert obj["mu"]["mean"] == pytest.approx(8.06757, rel=2e-3)
    assert [t["study"] for t in obj["theta"]] == list("ABCDEFGH")
    assert set(obj["theta_new"]) == {"mean", "sd", "median", "ci_low", "ci_high"}
    assert obj["priors"] == {"mu_prior": "flat", "tau_prior": "halfcauchy(25)"}


def test_posterior_exact_subgroups(write_csv, capsys):
    text = RUBIN.replace("study,yi,sei\n", "study,yi,sei,g\n")
    lines = text.strip().split("\n")
    lines = [lines[0]] + [f"{ln},{'x' if i < 4 else 'y'}" for i, ln in enumerate(lines[1:])]
    code, out, _ = run(
        capsys, "posterior", str(write_csv("\n".join(lines) + "\n")), "--subgroup", "g", "--json"
    )
    assert code == 0
    obj = json.loads(out)
    assert len(obj["theta"]) == 8 and obj["mu"]["sd"] > 0


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("--tau-prior", "halfnormal(-1)"), "halfnormal"),
        (("--mu-prior", "banana"), "banana"),
        (("--engine", "stan"), "unknown engine 'stan'"),
        (("--interval", "hdi"), "unknown interval 'hdi'"),
    ],
)
def test_posterior_bad_options_exit_2(write_csv, capsys, args, expected):
    code, out, err = run(capsys, "posterior", str(write_csv(RUBIN)), *args)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and expected in err


@pytest.mark.slow
def test_posterior_pymc_json_has_diagnostics(write_csv, capsys):
    """PyMC engine through the CLI: diagnostics present and clean, mu near the exact median
    (8 schools, mu ~ N(0, 5^2), tau ~ half-Cauchy(5); the 3-MCSE agreement itself is tested in
    tests/hierarchical)."""
    path = write_csv(RUBIN)
    base = ("posterior", str(path), "--tau-prior", "halfcauchy(5)", "--mu-prior", "normal(0, 5)")
    code, out, _ = run(capsys, *base, "--engine", "pymc", "--draws", "500", "--json")
    assert code == 0
    obj = json.loads(out)
    code, out, _ = run(capsys, *base, "--json")
    exact = json.loads(out)
    d = obj["diagnostics"]
    assert d["divergences"] == 0 and d["max_rhat"] < 1.01 and d["min_ess_bulk"] > 400
    assert obj["mu"]["median"] == pytest.approx(exact["mu"]["median"], abs=0.5)


def test_sensitivity_json_rows_match_exact_fits(write_csv, capsys):
    """Each sweep row equals a direct exact fit under that prior (1e-10)."""
    from bayesmeta.exact import NormalNormal

    path = write_csv(RUBIN)
    code, out, _ = run(
        capsys,
        "sensitivity",
        str(path),
        "--tau-prior",
        "halfnormal(1..20, n=3)",
        "--mu-prior",
        "normal(0, 50)",
        "--json",
    )
    assert code == 0
    rows = json.loads(out)
    rows = rows["rows"] if isinstance(rows, dict) else rows
    assert len(rows) == 3
    t = [float(x) for x in RUBIN.split()[1:] for x in [x.split(",")[1]]]
    s = [float(x.split(",")[2]) for x in RUBIN.split()[1:]]
    fit = NormalNormal(t, s, rows[1]["tau_prior"], "normal(0, 50)")
    assert rows[1]["mu_median"] == pytest.approx(fit.mu.median, rel=1e-10)


def test_simulate_bad_spec_exit_2(write_csv, capsys):
    path = write_csv("[study]\nbogus = 1\n", name="spec.toml")
    code, out, err = run(capsys, "simulate", str(path), "--workers", "1")
    assert code == 2 and err.count("\n") == 1


def test_pymc_progress_only_on_a_terminal(monkeypatch, capsys):
    """`posterior --engine pymc` asks the sampler for progress bars only when stderr is a
    terminal and --quiet is not given; --json output is never mixed with it."""
    import sys

    import bayesmeta.hierarchical.bayesian_meta as bm

    seen = []

    def fake(*args, **kwargs):
        seen.append(kwargs["progress"])
        raise KeyboardInterrupt  # stop before sampling; main prints one line

    monkeypatch.setattr(bm, "sample_posterior", fake)
    assert main(["posterior", "rubin1981", "--engine", "pymc", "--json"]) == 130
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    assert main(["posterior", "rubin1981", "--engine", "pymc", "--json"]) == 130
    assert main(["posterior", "rubin1981", "--engine", "pymc", "--quiet"]) == 130
    assert seen == [False, True, False]
    out, err = capsys.readouterr()
    assert out == "" and err.count("interrupted") == 3
