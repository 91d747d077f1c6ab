"""`learn_priors`, `load_priors` and ``bayesmeta priors learn`` / ``posterior --priors``:
settings, refusals, held-out scores, the files written, bad input (one line, exit 2)."""

from __future__ import annotations

import json
import math
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bayesmeta.cli import main
from bayesmeta.corpus.sources import Analysis
from bayesmeta.empirical.learn import MIN_ANALYSES, learn_priors, load_priors
from bayesmeta.errors import InputError


def corpus(rng: np.random.Generator, J: int, m: float = -1.5, s: float = 1.0,
           measure: str = "MD", scale: float = 1.0) -> list[Analysis]:  # fmt: skip
    out = []
    for j in range(J):
        k = int(rng.integers(2, 9))
        tau = math.exp(rng.normal(m, s) / 2) * scale
        v = rng.uniform(0.02, 0.3, k) * scale**2
        y = rng.normal(rng.normal(0, 0.3 * scale) + rng.normal(0, tau, k), np.sqrt(v))
        out.append(Analysis("sim", f"a{j}", f"a{j}", "sim", measure, y, v,
                            extra={"field": "F" if j % 2 else "G"}))  # fmt: skip
    return out


def table(path: Path, analyses: list[Analysis], extra: dict | None = None) -> Path:
    rows = [{"analysis": a.analysis, "study": f"s{i}", "yi": y, "vi": v, **a.extra,
             **(extra or {})}
            for a in analyses for i, (y, v) in enumerate(zip(a.yi, a.vi, strict=True))]  # fmt: skip
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def test_settings_refusals_and_heldout() -> None:
    rng = np.random.default_rng(1)
    res = learn_priors(corpus(rng, 40) + corpus(rng, 6, measure="OR"), ["measure"], draws=300)
    ok, few = res.settings["MD"], res.settings["OR"]
    assert few.status == "refused" and "6 analyses" in few.reason and "OR" in few.reason
    assert ok.status == "ok" and ok.n_analyses == 40
    h = ok.heldout
    assert h["n"] == 20 and len(h["pit"]) == 20 and all(0 < p < 1 for p in h["pit"])
    assert h["learned_minus_default"] == pytest.approx(h["lpd_learned"] - h["lpd_default"])
    assert ok.tau_prior.startswith("tau2lognormal(") and ok.mu_prior.startswith("normal(")
    d = res.to_dict()["settings"]
    assert set(d["MD"]) >= {"n_analyses", "log_tau2", "mu", "tau_prior", "mu_prior", "heldout"}
    assert d["OR"] == {"n_analyses": 6, "status": "refused", "reason": few.reason}
    # log_tau2 / mu: the hyperparameters; predictive: the prior for a new analysis, wider
    assert ok.fit is not None
    summ = ok.fit.summary
    assert d["MD"]["log_tau2"] == {"mean": summ.loc["m", "mean"], "sd": summ.loc["s", "mean"]}
    assert d["MD"]["mu"] == {"mean": summ.loc["a", "mean"], "sd": summ.loc["b", "mean"]}
    assert d["MD"]["predictive"]["log_tau2"]["sd"] > d["MD"]["log_tau2"]["sd"] * 0.99
    text = str(res)
    assert "MD: 40 analyses" in text and "OR: 6 analyses: refused" in text


def test_published_priors_are_scored_by_measure() -> None:
    res = learn_priors(corpus(np.random.default_rng(2), 24, measure="OR"), draws=300)
    h = res.settings["all"].heldout
    assert {"lpd_turner", "lpd_bartos"} <= set(h) and "lpd_rhodes" not in h


def test_learned_prior_beats_default_when_heterogeneity_is_large() -> None:
    """tau ~ 0.5-1 on the log-OR scale, far above HN(0.5)'s bulk: the learned prior must
    predict the held-out analyses better (by more than 2 SE)."""
    res = learn_priors(corpus(np.random.default_rng(3), 300, m=-0.5, s=0.6, measure="OR"),
                       draws=600)  # fmt: skip
    h = res.settings["all"].heldout
    assert h["learned_minus_default"] > 2 * h["learned_minus_default_se"] > 0


def test_the_prior_file_round_trips(tmp_path: Path) -> None:
    res = learn_priors(corpus(np.random.default_rng(4), 30), ["field"], draws=300)
    toml = res.write(tmp_path)
    doc = tomllib.loads(toml.read_text())
    assert set(doc["settings"]) == {"F", "G"}
    assert doc["provenance"]["seed"] == 20201
    tau, mu = load_priors(toml, "F")
    assert tau.text == res.settings["F"].tau_prior and mu.text == res.settings["F"].mu_prior
    assert tau.note.startswith("learned: priors.toml, setting F")
    with pytest.raises(InputError, match="no setting 'H'"):
        load_priors(toml, "H")


@pytest.mark.parametrize("holdout", [0.0, 0.95, -1])
def test_holdout_range(holdout: float) -> None:
    with pytest.raises(InputError, match="holdout"):
        learn_priors(corpus(np.random.default_rng(1), 12), holdout=holdout)


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_learn_then_posterior(tmp_path: Path, capsys) -> None:
    src = table(tmp_path / "corpus.csv", corpus(np.random.default_rng(6), 24))
    out = tmp_path / "out"
    code, stdout, err = run(capsys, "priors", "learn", src, "--by", "field", "--out", out,
                            "--json", "--draws", "300")  # fmt: skip
    assert code == 0, err
    obj = json.loads(stdout)
    s = obj["settings"]["F"]
    assert s["n_analyses"] == 12 and s["heldout"]["n"] == 6
    assert {"mean", "sd"} == set(s["log_tau2"]) == set(s["mu"])
    assert (out / "priors.toml").exists() and list(out.glob("tau_prior_*.png"))
    data = tmp_path / "d.csv"
    data.write_text("study,yi,vi\nA,0.1,0.04\nB,0.3,0.05\nC,-0.2,0.03\n")
    code, stdout, err = run(capsys, "posterior", data, "--priors", out / "priors.toml",
                            "--setting", "G")  # fmt: skip
    assert code == 0, err
    assert "prior_source: learned: priors.toml, setting G" in stdout
    assert s["tau_prior"] != "" and "tau2lognormal" in stdout


def test_cli_published(capsys) -> None:
    code, out, _ = run(capsys, "priors", "published", "--type", "RD", "--json")
    rows = json.loads(out)
    assert code == 0 and {r["type"] for r in rows} == {"RD"}
    assert any(r["prior"] == "halfnormal(0.119)" for r in rows)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--holdout", "0.95"], "option --holdout: must lie in (0, 0.9]"),
        (["--by", "nosuch"], "no column 'nosuch' for --by"),
        (["--by", "field"], "--by column 'field' is not constant within analysis 'a0'"),
    ],
)
def test_cli_bad_input(tmp_path: Path, capsys, args: list, expected: str) -> None:
    analyses = corpus(np.random.default_rng(7), 12)
    src = table(tmp_path / "c.csv", analyses)
    if "field" in args:  # make 'field' vary within analysis a0
        df = pd.read_csv(src)
        df.loc[1, "field"] = "other"
        df.to_csv(src, index=False)
    code, out, err = run(capsys, "priors", "learn", src, "--out", tmp_path / "o", *args)
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err
    assert expected in err


def test_cli_priors_and_setting_go_together(tmp_path: Path, capsys) -> None:
    data = tmp_path / "d.csv"
    data.write_text("study,yi,vi\nA,0.1,0.04\nB,0.3,0.05\n")
    code, _, err = run(capsys, "posterior", data, "--setting", "x")
    assert code == 2 and "--priors and --setting go together" in err


def test_ten_analyses_are_enough_and_nine_are_not() -> None:
    rng = np.random.default_rng(8)
    res = learn_priors(corpus(rng, MIN_ANALYSES) + corpus(rng, MIN_ANALYSES - 1, measure="OR"),
                       ["measure"], draws=200)  # fmt: skip
    assert res.settings["MD"].status == "ok" and res.settings["OR"].status == "refused"
