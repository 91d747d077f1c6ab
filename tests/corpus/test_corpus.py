"""`bayesmeta corpus`: every batched number equals the single-analysis engines (classical
`pool`, exact `NormalNormal`, `model_average`) to 1e-8; inputs of every kind are read and
checked; the output is the same whatever the chunking or the workers; a run resumes."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bayesmeta.classical import pool
from bayesmeta.cli import main
from bayesmeta.corpus import COLUMNS, run
from bayesmeta.corpus.sources import from_table
from bayesmeta.errors import ConvergenceError, InputError
from bayesmeta.exact import NormalNormal
from bayesmeta.exact.averaging import model_average
from bayesmeta.studies import StudyTable

FIX = Path(__file__).resolve().parents[1] / "fixtures"
REL, ABS = 1e-8, 1e-12


def long_table(rng, n, kmax=12, measure=None):
    rows = []
    for a in range(n):
        k = int(rng.integers(1, kmax + 1))
        s = rng.uniform(0.1, 0.6, k)
        y = rng.normal(rng.normal(0, 0.5), rng.choice([0.0, 0.2, 0.6]), k) + rng.normal(0, s)
        if a % 17 == 0:
            y = np.full(k, y[0])
        for i in range(k):
            rows.append({"analysis": f"A{a:04d}", "study": f"S{i}", "yi": y[i], "vi": s[i] ** 2,
                         "ni": float(rng.integers(20, 400)), "field": f"F{a % 3}"})  # fmt: skip
    df = pd.DataFrame(rows)
    if measure:
        df["measure"] = measure
    return df


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    rng = np.random.default_rng(21)
    df = long_table(rng, 120)
    path = tmp_path_factory.mktemp("c") / "long.csv"
    df.to_csv(path, index=False)
    return df, path, run([path], workers=0, progress=False)


def tables(df):
    for a, g in df.groupby("analysis", sort=False):
        yield a, StudyTable.from_arrays(g["yi"], g["vi"], ni=g["ni"], study=g["study"])


def test_classical_columns_equal_pool(corpus):
    df, _, out = corpus
    out = out.set_index("analysis")
    for a, t in tables(df):
        row = out.loc[a]
        dl = pool(t, method="DL")
        assert row["classical_estimate"] == pytest.approx(dl.estimate, rel=REL, abs=ABS)
        assert row["classical_ci_high"] == pytest.approx(dl.ci_high, rel=REL, abs=ABS)
        if t.k == 1:
            assert row["reml_estimate"] == t.yi[0] and np.isnan(row["reml_tau2"])
            continue
        try:
            r = pool(t, method="REML", ci="hksj")
        except ConvergenceError:  # metafor stops too; the corpus row says so with NaN
            assert np.isnan(row["reml_tau2"]) and np.isnan(row["hksj_ci_low"])
            continue
        assert row["reml_estimate"] == pytest.approx(r.estimate, rel=REL, abs=ABS)
        assert row["reml_tau2"] == pytest.approx(r.tau2, rel=REL, abs=ABS)
        assert (row["hksj_ci_low"], row["hksj_ci_high"]) == pytest.approx(
            (r.ci_low, r.ci_high), rel=REL, abs=ABS)  # fmt: skip
        assert (row["pi_low"], row["pi_high"]) == pytest.approx((r.pi_low, r.pi_high), rel=REL,
                                                                abs=ABS)  # fmt: skip
        assert row["i2"] == pytest.approx(r.i2, rel=REL, abs=1e-9)


def test_bayesian_columns_equal_the_exact_engine(corpus):
    df, _, out = corpus
    out = out.set_index("analysis")
    for a, t in list(tables(df))[:60]:
        row = out.loc[a]
        fit = NormalNormal.from_table(t)
        assert row["tau_prior"] == fit.tau_prior.text and row["mu_prior"] == "flat"
        assert row["bayes_mu_median"] == pytest.approx(fit.mu.median, rel=REL, abs=ABS)
        assert row["bayes_mu_low"] == pytest.approx(fit.mu.quantile(0.025), rel=REL, abs=ABS)
        assert row["bayes_tau_median"] == pytest.approx(fit.tau.median, rel=REL, abs=ABS)
        assert row["bayes_tau_high"] == pytest.approx(fit.tau.quantile(0.975), rel=REL)
        assert row["p_mu_above_0"] == pytest.approx(1 - fit.mu.cdf(0.0), rel=REL, abs=ABS)
        ma = model_average(t.yi, t.sei, n=t.ni, tau_prior=fit.tau_prior.text)
        assert row["bf_effect"] == pytest.approx(ma.bf_effect, rel=REL)
        assert row["bma_p_effect"] == pytest.approx(ma.p_effect, rel=REL, abs=ABS)


def test_columns_and_carried_values(corpus):
    df, _, out = corpus
    assert tuple(out.columns[: len(COLUMNS)]) == COLUMNS and "field" in out.columns
    assert out["analysis"].tolist() == list(dict.fromkeys(df["analysis"]))
    assert (out["status"] == "ok").all() and out["measure"].eq("").all()
    first = df.groupby("analysis", sort=False)["field"].first()
    assert out["field"].tolist() == first.tolist()


def test_given_priors_and_ratio_measures(tmp_path):
    rng = np.random.default_rng(22)
    df = long_table(rng, 10, measure="OR")
    path = tmp_path / "or.csv"
    df.to_csv(path, index=False)
    out = run([path], workers=0, progress=False, tau_prior="halfcauchy(0.3)",
              mu_prior="normal(0, 2)")  # fmt: skip
    assert set(out["measure"]) == {"log OR"}
    assert set(out["tau_prior"]) == {"halfcauchy(0.3)"} and set(out["mu_prior"]) == {
        "normal(0, 2)"}  # fmt: skip
    a, t = next(tables(df))
    fit = NormalNormal.from_table(t, "halfcauchy(0.3)", "normal(0, 2)")
    assert out.iloc[0]["bayes_mu_median"] == pytest.approx(fit.mu.median, rel=REL)
    ma = model_average(t.yi, t.sei, mu_prior="normal(0, 2)", tau_prior="halfcauchy(0.3)")
    assert out.iloc[0]["bf_effect"] == pytest.approx(ma.bf_effect, rel=REL)


def test_raw_columns_with_a_measure(tmp_path):
    raw = pd.DataFrame({"analysis": ["x", "x", "y", "y"], "study": ["a", "b", "a", "b"],
                        "ai": [4, 6, 2, 0], "n1i": [123, 306, 40, 50], "ci": [11, 29, 5, 0],
                        "n2i": [139, 303, 41, 52]})  # fmt: skip
    path = tmp_path / "raw.csv"
    raw.to_csv(path, index=False)
    got = from_table(path, "OR")
    # escalc("OR", ai = 4, n1i = 123, ci = 11, n2i = 139): yi = log(4 * 128 / (119 * 11))
    assert got[0].yi[0] == pytest.approx(np.log(4 * 128 / (119 * 11)), rel=1e-12)
    assert got[1].k == 2  # escalc's default (drop00 = FALSE) keeps a double-zero table
    assert got[0].measure == "OR"


@pytest.mark.parametrize(
    ("text", "fragment", "row", "column"),
    [
        ("analysis,study,yi,vi\nA,1,0.1,0.1\nA,1,0.2,0.1\n", "duplicate study '1'", 2, "study"),
        (
            "analysis,study,yi,vi,measure\nA,1,0.1,0.1,OR\nA,2,0.2,0.1,RR\n",
            "mixes measures",
            2,
            "measure",
        ),
        ("study,yi,vi\n1,0.1,0.1\n", "missing required column 'analysis'", None, "analysis"),
        ("analysis,study,yi,vi\nA,1,0.1,-1\n", "must be > 0", 1, "vi"),
    ],
)
def test_bad_long_tables(tmp_path, capsys, text, fragment, row, column):
    path = tmp_path / "bad.csv"
    path.write_text(text)
    with pytest.raises(InputError) as info:
        from_table(path)
    assert fragment in info.value.message
    assert (info.value.row, info.value.column) == (row, column)
    assert main(["corpus", str(path), "--out", str(tmp_path / "o"), "--workers", "0"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and fragment in err and "bad.csv" in err


def test_revman_inputs_and_reasons(tmp_path):
    out = run([FIX / "datapackages", FIX / "not_estimable.rm5"], workers=0, progress=False)
    pk = out[out["source"].str.contains("CD900001")]
    assert pk["analysis"].tolist() == ["1.1", "1.2", "1.3", "2.1", "2.2"]
    assert (pk["stored_estimate"] - pk["classical_estimate"]).abs().max() < 1e-9
    assert pk.iloc[0]["stored_method"] == "IV, REML, HKSJ" and pk.iloc[0]["measure"] == "log RR"
    ne = out[out["source"].str.endswith("not_estimable.rm5")].set_index("analysis")
    assert ne.loc["1.1", "status"] == "not estimable: no study data"
    assert np.isnan(ne.loc["1.1", "bayes_mu_median"]) and ne.loc["1.4", "status"] == "ok"


def test_outputs_resume_and_chunking(tmp_path, corpus):
    _, path, table = corpus
    out = tmp_path / "run"
    t1 = run([path], out, workers=0, progress=False, chunk_size=25)
    files = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    assert {"analyses.parquet", "analyses.csv", "summary.md", "summary.html", "manifest.json",
            "conclusions.png", "tau_by_measure.png"} <= set(files)  # fmt: skip
    manifest = json.loads(files["manifest.json"])
    assert manifest["counts"]["analyses"] == len(t1) == 120
    assert manifest["inputs"][0]["sha256"] and manifest["settings"]["chunk_size"] == 25
    pd.testing.assert_frame_equal(t1, table)  # chunk size does not change a number
    (out / "chunks" / "chunk_000002.parquet").unlink()  # as if killed before this chunk
    (out / "analyses.csv").unlink()
    run([path], out, workers=0, progress=False, chunk_size=25)
    assert (out / "analyses.csv").read_bytes() == files["analyses.csv"]
    assert (out / "analyses.parquet").read_bytes() == files["analyses.parquet"]
    with pytest.raises(InputError, match="other inputs or settings"):
        run([path], out, workers=0, progress=False, chunk_size=10)


@pytest.mark.slow
def test_local_dask_cluster_equals_this_process(tmp_path, corpus):
    _, path, _ = corpus
    run([path], tmp_path / "a", workers=0, progress=False, chunk_size=30)
    run([path], tmp_path / "b", workers=2, progress=False, chunk_size=30)
    for name in ("analyses.csv", "analyses.parquet", "summary.md"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


def test_cli_options_are_checked(tmp_path, capsys):
    path = tmp_path / "t.csv"
    path.write_text("analysis,study,yi,vi\nA,1,0.1,0.1\nA,2,0.3,0.2\n")
    for args, fragment in (
        (["--workers", "-1"], "workers must be >= 0"),
        (["--tau-prior", "halfnormal(-1)"], "tau prior"),
        (["--mu-prior", "halfnormal(1)"], "mu prior"),
        (["--level", "1.5"], "level must lie in (0, 1)"),
    ):
        assert main(["corpus", str(path), "--out", str(tmp_path / "o"), *args]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and fragment in err, err
    assert main(["corpus", str(tmp_path / "nope.csv"), "--out", str(tmp_path / "o")]) == 2
    assert "file not found" in capsys.readouterr().err


@pytest.mark.slow
def test_a_cluster_started_with_dasks_own_commands_gives_the_same_files(tmp_path, corpus):
    """A scheduler and two workers started by ``dask scheduler`` / ``dask worker`` on this
    machine (loopback): the files equal the in-process run's byte for byte."""
    import socket
    import subprocess
    import sys
    import time

    _, path, _ = corpus
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    addr = f"tcp://127.0.0.1:{port}"
    dask = str(Path(sys.executable).parent / "dask")
    procs = [subprocess.Popen([dask, "scheduler", "--host", "127.0.0.1", "--port", str(port),
                               "--no-dashboard"], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)]  # fmt: skip
    try:
        from dask.distributed import Client

        for _ in range(100):
            try:
                Client(addr, timeout="1s").close()
                break
            except OSError:
                time.sleep(0.2)
        procs += [subprocess.Popen([dask, "worker", addr, "--nthreads", "1", "--no-dashboard"],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                  for _ in range(2)]  # fmt: skip
        with Client(addr, timeout="10s") as client:
            client.wait_for_workers(2, timeout=60)
        run([path], tmp_path / "dist", scheduler=addr, progress=False, chunk_size=20)
    finally:
        for p in procs[::-1]:
            p.terminate()
        for p in procs:
            p.wait(timeout=30)
    run([path], tmp_path / "local", workers=0, progress=False, chunk_size=20)
    for name in ("analyses.csv", "analyses.parquet"):
        assert (tmp_path / "dist" / name).read_bytes() == (tmp_path / "local" / name).read_bytes()


@pytest.mark.slow
def test_sigkill_then_rerun_gives_the_uninterrupted_files(tmp_path):
    import signal
    import subprocess
    import sys
    import time

    rng = np.random.default_rng(23)
    path = tmp_path / "big.csv"
    long_table(rng, 1500, kmax=20).to_csv(path, index=False)
    cmd = [sys.executable, "-m", "bayesmeta.cli", "corpus", str(path), "--workers", "0",
           "--chunk-size", "50", "--quiet", "--out"]  # fmt: skip
    subprocess.run([*cmd, str(tmp_path / "whole")], check=True, capture_output=True)
    part = tmp_path / "killed"
    proc = subprocess.Popen([*cmd, str(part)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)  # fmt: skip
    deadline = time.time() + 120
    while time.time() < deadline and len(list((part / "chunks").glob("*.parquet"))) < 3:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done = len(list((part / "chunks").glob("chunk_*.parquet")))
    assert 3 <= done < 30 and not (part / "analyses.csv").exists()
    subprocess.run([*cmd, str(part)], check=True, capture_output=True)
    for name in ("analyses.csv", "analyses.parquet"):
        assert (part / name).read_bytes() == (tmp_path / "whole" / name).read_bytes()


@pytest.mark.slow
def test_batched_classical_on_a_thousand_analyses_up_to_k_200(tmp_path):
    """REML, HKSJ, the prediction interval, I^2 and DL of 1,000 random analyses (k from 1 to
    200, tau at 0 and identical effects included) against `pool`, analysis by analysis."""
    rng = np.random.default_rng(24)
    df = long_table(rng, 1000, kmax=200)
    path = tmp_path / "big.parquet"
    df.to_parquet(path, index=False)
    out = run([path], workers=0, progress=False).set_index("analysis")
    checked = 0
    for a, t in tables(df):
        row = out.loc[a]
        assert row["classical_estimate"] == pytest.approx(pool(t, method="DL").estimate,
                                                          rel=REL, abs=ABS)  # fmt: skip
        if t.k == 1:
            continue
        try:
            r = pool(t, method="REML", ci="hksj", tau2_ci=False)
        except ConvergenceError:
            assert np.isnan(row["reml_tau2"])
            continue
        assert row["reml_tau2"] == pytest.approx(r.tau2, rel=REL, abs=ABS)
        assert row["hksj_ci_high"] == pytest.approx(r.ci_high, rel=REL, abs=ABS)
        assert row["pi_low"] == pytest.approx(r.pi_low, rel=REL, abs=ABS)
        assert row["i2"] == pytest.approx(r.i2, rel=REL, abs=1e-9)
        checked += 1
    assert checked > 900
