"""The sub-command function run_cli (wired into bayesmeta.cli by the lead)."""

from __future__ import annotations

import argparse
import json

import pandas as pd
import pytest

from bayesmeta.errors import InputError
from bayesmeta.sensitivity.command import add_arguments, run_cli

SCHOOLS = """study,yi,sei
A,28.39,14.9
B,7.94,10.2
C,-2.75,16.3
D,6.82,11
E,-0.64,9.4
F,0.63,11.4
G,18.01,10.4
H,12.16,17.6
"""


def _args(*argv: str) -> argparse.Namespace:
    p = argparse.ArgumentParser()
    add_arguments(p)
    return p.parse_args(list(argv))


def test_json_csv_plots(write_csv, tmp_path, capsys):
    path = write_csv(SCHOOLS)
    out = tmp_path / "out.csv"
    assert (
        run_cli(
            _args(
                str(path),
                "--tau-prior",
                "halfnormal(2..20, n=3)",
                "--tau-prior",
                "turner",
                "--mu-prior",
                "normal(0, 100)",
                "--prior-predictive",
                "--json",
                "--csv",
                str(out),
                "--plots",
                str(tmp_path / "fig"),
            )
        )
        == 0
    )
    obj = json.loads(capsys.readouterr().out)
    assert len(obj["rows"]) == 4 and obj["rows"][0]["tau_prior"] == "halfnormal(2)"
    assert obj["rows"][0]["prior_delta_half_width"] > 0
    df = pd.read_csv(out)
    assert len(df) == 4 and "prior_i2_median" in df.columns
    for name in ("interval", "tornado", "posteriors"):
        assert (tmp_path / "fig" / f"sensitivity_{name}.png").stat().st_size > 5_000


def test_text_output_and_subgroup(write_csv, capsys):
    text = SCHOOLS.replace("study,yi,sei", "study,yi,sei,g")
    lines = text.strip().split("\n")
    text = (
        "\n".join([lines[0]] + [ln + (",x" if i % 2 else ",y") for i, ln in enumerate(lines[1:])])
        + "\n"
    )
    path = write_csv(text)
    assert (
        run_cli(
            _args(
                str(path),
                "--subgroup",
                "g",
                "--tau-prior",
                "halfnormal(5)",
                "--mu-prior",
                "normal(0, 100)",
                "--threshold",
                "1",
            )
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "subgroup" in out and "P(mu < 1)" in out and out.count("halfnormal(5)") == 2


def test_bad_sweep_is_input_error(write_csv):
    path = write_csv(SCHOOLS)
    with pytest.raises(InputError, match="lower < upper"):
        run_cli(_args(str(path), "--tau-prior", "halfnormal(2..1)"))
