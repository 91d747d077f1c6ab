"""run_study: dask execution, identical results for any worker count / chunking, resume, CLI,
tidy outputs and figures."""

from __future__ import annotations

import argparse
import sys

import matplotlib.image as mpimg
import numpy as np
import pandas as pd
import pytest

from bayesmeta.cli_args import add_simulate_args
from bayesmeta.errors import InputError
from bayesmeta.simulate import run_cli, run_study
from bayesmeta.simulate.run import chunk_path
from bayesmeta.simulate.spec import load_spec

SPEC = """
[study]
name = "tiny"
seed = 3
replicates = 30
bayes_replicates = 8
chunk_size = {chunk}
methods = ["FE", "DL-Wald", "REML-HKSJ", "PM-HKSJ", "review-rule"]

[[bayes]]
name = "B"
tau_prior = "halfnormal(1)"
mu_prior = "normal(0, 10)"

[[scenarios]]
name = "g"
k = [2, 4]
mu = 0.5
tau = [0, 1]
tau_unit = "se"
se = {{ dist = "uniform", low = 0.5, high = 2.0 }}
"""


@pytest.fixture
def spec_file(tmp_path):
    def make(chunk: int = 10):
        p = tmp_path / f"spec{chunk}.toml"
        p.write_text(SPEC.format(chunk=chunk))
        return p

    return make


def reps(out) -> pd.DataFrame:
    return (
        pd.read_parquet(out / "replicates.parquet")
        .sort_values(["scenario", "method", "rep"])
        .reset_index(drop=True)
    )


def test_serial_one_and_two_workers_identical(spec_file, tmp_path):
    """In-process (workers=0, chunk 7), a 1-worker and a 2-worker LocalCluster (threads,
    processes=False; chunk 10 and 4) give bit-identical replicate and metric tables."""
    m0 = run_study(spec_file(7), tmp_path / "w0", workers=0, progress=False)
    m1 = run_study(spec_file(10), tmp_path / "w1", workers=1, processes=False, progress=False)
    m2 = run_study(spec_file(4), tmp_path / "w2", workers=2, processes=False, progress=False)
    pd.testing.assert_frame_equal(reps(tmp_path / "w0"), reps(tmp_path / "w1"))
    pd.testing.assert_frame_equal(reps(tmp_path / "w0"), reps(tmp_path / "w2"))
    pd.testing.assert_frame_equal(m0, m1)
    pd.testing.assert_frame_equal(m0, m2)
    assert m2.attrs == {"chunks_run": 4 * 8, "chunks_skipped": 0}
    assert len(m0) == 4 * 6 and (m0["n"] == m0["method"].map(lambda x: 8 if x == "B" else 30)).all()


@pytest.mark.slow
def test_two_worker_processes_identical(spec_file, tmp_path):
    """A real 2-process LocalCluster gives the same replicates as the in-process run."""
    run_study(spec_file(10), tmp_path / "w0", workers=0, progress=False)
    run_study(spec_file(10), tmp_path / "p2", workers=2, processes=True, progress=False)
    pd.testing.assert_frame_equal(reps(tmp_path / "w0"), reps(tmp_path / "p2"))


def test_resume_skips_finished_chunks(spec_file, tmp_path, capsys, monkeypatch):
    p = spec_file(10)
    out = tmp_path / "r"
    run_study(spec_file(10), tmp_path / "quiet", workers=0, progress=True)
    assert capsys.readouterr().err == ""  # stderr is not a terminal: no counter
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    first = run_study(p, out, workers=0, progress=True)
    assert "12/12 chunks" in capsys.readouterr().err
    spec = load_spec(p)
    chunks = spec.chunks()
    gone = chunk_path(out, spec, chunks[5])
    gone.unlink()
    kept = chunk_path(out, spec, chunks[0])
    stamp = kept.stat().st_mtime_ns
    again = run_study(p, out, workers=0, progress=False)
    assert again.attrs == {"chunks_run": 1, "chunks_skipped": 11}
    assert gone.exists() and kept.stat().st_mtime_ns == stamp
    pd.testing.assert_frame_equal(first, again)
    done = run_study(p, out, workers=1, processes=False, progress=False)
    assert done.attrs == {"chunks_run": 0, "chunks_skipped": 12}


def test_other_spec_in_same_folder_is_refused(spec_file, tmp_path):
    out = tmp_path / "x"
    run_study(spec_file(10), out, workers=0, progress=False)
    other = tmp_path / "other.toml"
    other.write_text(SPEC.format(chunk=10).replace("seed = 3", "seed = 4"))
    with pytest.raises(InputError, match="different spec"):
        run_study(other, out, workers=0, progress=False)
    with pytest.raises(InputError, match="workers"):
        run_study(other, tmp_path / "y", workers=-1)


@pytest.mark.slow
def test_unreachable_scheduler_is_an_input_error(spec_file, tmp_path):
    with pytest.raises(InputError, match="cannot reach the dask scheduler"):
        run_study(spec_file(10), tmp_path / "u", scheduler="tcp://127.0.0.1:9", progress=False)


def test_outputs_and_figures(spec_file, tmp_path):
    out = tmp_path / "o"
    m = run_study(spec_file(10), out, workers=0, progress=False)
    csv = pd.read_csv(out / "metrics.csv")
    assert list(csv.columns) == list(m.columns)
    assert len(pd.read_parquet(out / "metrics.parquet")) == len(m)
    for col in ("coverage", "coverage_mcse", "width_mean", "width_median", "bias", "rmse",
                "excl0", "bias_mcse", "rmse_mcse", "width_median_mcse", "excl0_mcse"):  # fmt: skip
        assert m[col].notna().all(), col
    for name in ("coverage_vs_k.png", "width_vs_coverage.png"):
        img = mpimg.imread(out / name)
        assert img.shape[0] > 200 and img.shape[1] > 300
        assert img[..., :3].std() > 0.01  # not blank


def test_coverage_figure_has_nominal_line_and_panels(spec_file, tmp_path):
    import matplotlib.pyplot as plt

    from bayesmeta.simulate.figures import coverage_vs_k, pooled_coverage

    m = run_study(spec_file(10), tmp_path / "f", workers=0, progress=False)
    fig = coverage_vs_k(m, 0.95)
    visible = [ax for ax in fig.axes if ax.get_visible()]
    assert [ax.get_title() for ax in visible] == ["tau = 0se", "tau = 1se"]
    assert any(list(ln.get_ydata()) == [0.95, 0.95] for ln in visible[0].lines)
    plt.close(fig)
    g = pooled_coverage(m)
    row = g[(g["tau_label"] == "1se") & (g["k"] == 4) & (g["method"] == "FE")].iloc[0]
    src = m[(m["tau_label"] == "1se") & (m["k"] == 4) & (m["method"] == "FE")].iloc[0]
    assert row["coverage"] == pytest.approx(src["coverage"]) and row["n"] == 30


def test_cli_entry(spec_file, tmp_path, capsys):
    parser = argparse.ArgumentParser()
    add_simulate_args(parser)
    args = parser.parse_args([str(spec_file(10)), "--out", str(tmp_path / "c"), "--workers", "0",
                              "--no-progress"])  # fmt: skip
    assert run_cli(args) == 0
    assert "12 chunks run" in capsys.readouterr().out
    assert (tmp_path / "c" / "metrics.csv").exists()
    with pytest.raises(SystemExit):
        parser.parse_args(["s.toml", "--workers", "2", "--scheduler", "tcp://x:8786"])


def test_batch_engine_equals_rma_row_by_row():
    """FE, DL-Wald, REML-HKSJ and the review rule over a chunk at once equal
    `bayesmeta.classical.rma` replicate by replicate (itself checked against metafor) to
    1e-10 relative, on 12 review-shaped scenarios (true tau 0 to 2 SEs)."""
    from dataclasses import replace as dc_replace

    from bayesmeta._paths import models_dir
    from bayesmeta.simulate import replicate as R
    from bayesmeta.simulate.spec import load_spec as load

    spec = load(models_dir() / "simulate_review.toml")
    spec = dc_replace(spec, methods=("FE", "DL-Wald", "REML-HKSJ", "review-rule"), bayes=())
    chunks = [c for c in spec.chunks() if c.start == 0][:12]
    reml_rows = 0
    for c in chunks:
        got = R.run_chunk(spec, c)
        sc = spec.scenarios[c.scenario]
        for row in got.itertuples():
            _, _, y, s = R.draw(spec, sc, int(row.rep))
            ref = R.classical(str(row.method), y, s**2, spec.level)
            np.testing.assert_allclose([row.estimate, row.ci_low, row.ci_high], ref, rtol=1e-10)
        reml_rows += int((got["method"] == "REML-HKSJ").sum())
    assert reml_rows > 100
