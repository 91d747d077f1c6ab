"""The sub-command function run_cli (wired into bayesmeta.cli by the lead)."""

from __future__ import annotations

import argparse
import json

import pandas as pd
import pytest

from bayesmeta.cli_args import add_sensitivity_args
from bayesmeta.errors import InputError
from bayesmeta.sensitivity.command import run_cli

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
    add_sensitivity_args(p)
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


def _fake_refit(calls):
    """A stand-in for refit_sweep: records its arguments, returns rows of REFIT_COLUMNS."""
    from bayesmeta.sensitivity.grammar import expand
    from bayesmeta.sensitivity.refit import REFIT_COLUMNS

    def fake(table, tau_priors, mu_prior, **kw):
        calls.append({"tau_priors": tau_priors, "mu_prior": mu_prior, **kw})
        texts = [p.text for g in expand(tau_priors, "tau") for p in g.priors]
        df = pd.DataFrame([{c: 0.5 for c in REFIT_COLUMNS} | {"tau_prior": t} for t in texts])
        df["mu_prior"] = mu_prior
        df.attrs |= {k: kw[k] for k in ("draws", "chains", "seed")}
        return df

    return fake


def test_refit_flag_plumbs_settings_and_adds_exact_medians(write_csv, capsys, monkeypatch):
    """``--refit normal``: settings reach refit_sweep; exact_* columns are the exact engine's
    medians under each prior (NormalNormal, itself checked against R bayesmeta; 1e-12)."""
    import bayesmeta.sensitivity.refit as refit_module
    from bayesmeta.exact import NormalNormal

    calls: list[dict] = []
    monkeypatch.setattr(refit_module, "refit_sweep", _fake_refit(calls))
    path = write_csv(SCHOOLS)
    argv = [str(path), "--refit", "normal", "--tau-prior", "halfnormal(5..10, n=2)"]
    argv += ["--mu-prior", "normal(0, 50)", "--draws", "300", "--chains", "2", "--seed", "9"]
    assert run_cli(_args(*argv)) == 0
    [call] = calls
    assert call["model"] == "normal" and call["mu_prior"] == "normal(0, 50)"
    assert (call["draws"], call["chains"], call["seed"], call["tune"]) == (300, 2, 9, 1000)
    text = capsys.readouterr().out
    assert "exact_mu_median" in text and "PyMC model normal" in text and "2 chains x 300" in text
    assert run_cli(_args(*argv, "--json")) == 0
    rows = json.loads(capsys.readouterr().out)["rows"]
    y = pd.read_csv(path)
    for row, scale in zip(rows, (5.0, 10.0), strict=True):
        nn = NormalNormal(y.yi, y.sei, tau_prior=f"halfnormal({scale:g})", mu_prior="normal(0, 50)")
        assert row["exact_mu_median"] == pytest.approx(nn.mu.median, rel=1e-12)
        assert row["exact_tau_median"] == pytest.approx(nn.tau.median, rel=1e-12)


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--mu-prior", "normal(0, 1..5, n=2)"], "one --mu-prior"),
        (["--mu-prior", "normal(0, 1)", "--mu-prior", "normal(0, 2)"], "one --mu-prior"),
        (["--plots", "figs"], "--plots goes with the exact sweep"),
        (["--prior-predictive"], "--prior-predictive goes with the exact sweep"),
    ],
)
def test_refit_flag_rejects_what_it_cannot_do(write_csv, extra, message):
    path = write_csv(SCHOOLS)
    with pytest.raises(InputError, match=message):
        run_cli(_args(str(path), "--refit", "normal", *extra))


@pytest.mark.slow
def test_refit_from_the_command_line_agrees_with_the_exact_engine(write_csv, capsys):
    """`bayesmeta sensitivity schools.csv --refit normal ...` end to end (nutpie, seeded):
    each sampled median of mu and tau within 4 MCSE of the exact median under that prior."""
    from bayesmeta.cli import main

    path = write_csv(SCHOOLS)
    argv = ["sensitivity", str(path), "--refit", "normal", "--tau-prior", "halfnormal(5..10, n=2)"]
    argv += ["--mu-prior", "normal(0, 50)", "--draws", "1000", "--chains", "2", "--json"]
    assert main(argv) == 0
    rows = json.loads(capsys.readouterr().out)["rows"]
    assert [r["tau_prior"] for r in rows] == ["halfnormal(5)", "halfnormal(10)"]
    assert rows[1]["compiled"] is False  # same family: the first fit's compiled model is reused
    for r in rows:
        for q in ("mu", "tau"):
            assert abs(r[f"{q}_median"] - r[f"exact_{q}_median"]) < 4 * r[f"{q}_mcse_median"]
