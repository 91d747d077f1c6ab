"""``bayesmeta network``: the JSON contract, the plot, and bad input (one line naming the
file, study or treatment; exit 2)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bayesmeta.cli import main

ARMS = (
    "study,treatment,events,n\n1,A,5,50\n1,B,9,50\n2,B,8,50\n2,C,12,50\n3,A,4,50\n3,C,10,50\n"
    "4,A,6,60\n4,B,10,60\n4,C,14,60\n"
)


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_json_contract_and_plot(tmp_path: Path, capsys) -> None:
    f = tmp_path / "arms.csv"
    f.write_text(ARMS)
    png = tmp_path / "n.png"
    code, out, err = run(
        capsys, "network", f, "--measure", "OR", "--reference", "A", "--json", "--plot", png
    )
    assert code == 0, err
    o = json.loads(out)
    assert o["treatments"] == ["A", "B", "C"]
    cl = o["classical"]
    assert {"method", "reference", "tau2", "effects", "q", "q_df", "league"} <= set(cl)
    assert [e["treatment"] for e in cl["effects"]] == ["B", "C"]
    assert {"estimate", "se", "ci_low", "ci_high"} <= set(cl["effects"][0])
    assert len(cl["league"]["estimate"]) == 3 and png.stat().st_size > 1000
    assert cl["q_df"] == 3 and cl["q_inconsistency_df"] == cl["q_df"] - cl["q_heterogeneity_df"]


@pytest.mark.parametrize(
    ("text", "args", "expected"),
    [
        (
            "study,treatment,events,n\n1,A,5,50\n1,B,9,50\n2,C,8,50\n2,D,12,50\n"
            "3,A,6,40\n3,B,7,40\n4,C,5,30\n4,D,9,30\n",
            [],
            "disconnected: 2 components {A, B}; {C, D}",
        ),
        (
            "study,treatment,events,n\n1,A,5,50\n1,B,9,50\n2,A,8,50\n2,C,12,50\n",
            [],
            "treatment 'B' has one arm",
        ),
        (
            "study,treatment,events,n\n1,A,5,50\n1,B,9,50\n2,A,8,50\n2,B,12,50\n3,A,3,40\n",
            [],
            "study '3' has 1 arm",
        ),
        (
            "study,treatment,events,n\n1,A,5,50\n1,A,9,50\n2,A,8,50\n2,B,12,50\n",
            [],
            "duplicate treatment 'A' in study '1'",
        ),
        (ARMS, ["--reference", "Z"], "unknown treatment 'Z'"),
        (ARMS, ["--measure", "XX"], "option --measure"),
        (ARMS, ["--engine", "stan"], "option --engine"),
        (
            "study,treatment,events,n\n1,A,5,50\n1,B,60,50\n2,A,8,50\n2,B,12,50\n",
            [],
            "events exceed n",
        ),
    ],
)
def test_bad_input(tmp_path: Path, capsys, text: str, args: list, expected: str) -> None:
    f = tmp_path / "bad.csv"
    f.write_text(text)
    measure = [] if "--measure" in args else ["--measure", "OR"]
    code, out, err = run(capsys, "network", f, *measure, *args)
    assert code == 2, (out, err)
    assert err.count("\n") == 1 and "Traceback" not in err and expected in err


def test_single_arm_treatments_can_be_allowed(tmp_path: Path, capsys) -> None:
    f = tmp_path / "a.csv"
    f.write_text(
        "study,treatment,events,n\n1,A,5,50\n1,B,9,50\n2,A,8,50\n2,C,12,50\n3,A,5,40\n3,B,8,40\n"
    )
    code, out, err = run(
        capsys, "network", f, "--measure", "OR", "--allow-single-arm", "--method", "FE", "--json"
    )
    assert code == 0, err
    assert json.loads(out)["classical"]["effects"][1]["treatment"] == "C"
