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
    assert "REML" in out and "variance=vi as given" in out and "Knapp-Hartung" in out


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
