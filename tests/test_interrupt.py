"""Ctrl-C during the long commands: one line on stderr, exit code 130, no traceback (also
none from dask workers or the figure worker), and the finished work stays usable.

Each command runs as its own process; SIGINT is sent to its whole process group, as a
terminal's Ctrl-C is, once it is well into its work.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.skipif(os.name != "posix", reason="POSIX signals")]

SPEC = """
[study]
name = "interrupt"
seed = 1
replicates = 1000
chunk_size = 100
methods = ["FE", "DL-Wald", "REML-HKSJ", "PM-HKSJ"]

[[scenarios]]
name = "g"
k = [3, 5, 10, 20]
mu = [0.0, 0.5]
tau = [0.0, 0.3]
se = { dist = "uniform", low = 0.1, high = 0.5 }
"""


def interrupt(
    args: list[str], after: float, cwd: Path, ready=None
) -> subprocess.CompletedProcess[str]:
    """Run ``bayesmeta args`` and send SIGINT ``after`` seconds, or as soon as ``ready()``
    (checked every 0.1 s, at most 120 s)."""
    exe = Path(sys.executable).with_name("bayesmeta")
    proc = subprocess.Popen([str(exe), *args], cwd=cwd, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)  # fmt: skip
    if ready is None:
        time.sleep(after)
    else:
        start = time.monotonic()
        while not ready() and proc.poll() is None and time.monotonic() - start < 120:
            time.sleep(0.1)
    assert proc.poll() is None, "the command finished before it could be interrupted"
    os.killpg(proc.pid, signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def test_ctrl_c_in_simulate_is_one_line_and_resumable(tmp_path):
    spec = tmp_path / "s.toml"
    spec.write_text(SPEC, encoding="utf-8")
    out = tmp_path / "sim"
    chunks = out / "chunks"

    def started() -> bool:  # well into its work: the first chunks are written
        return chunks.exists() and len(list(chunks.glob("*.parquet"))) >= 2

    args = ["simulate", str(spec), "--out", str(out), "--workers", "2"]
    done = interrupt(args, 0.0, tmp_path, ready=started)
    assert done.returncode == 130, done.stderr
    assert done.stderr.strip() == "bayesmeta simulate: interrupted"
    kept = list((out / "chunks").glob("*.parquet")) if (out / "chunks").exists() else []
    again = subprocess.run([str(Path(sys.executable).with_name("bayesmeta")), "simulate",
                            str(spec), "--out", str(out), "--workers", "2"],
                           capture_output=True, text=True, timeout=600)  # fmt: skip
    assert again.returncode == 0, again.stderr
    assert (out / "metrics.csv").exists()
    assert len(kept) < len(list((out / "chunks").glob("*.parquet")))  # stopped part way


def test_ctrl_c_in_reproduce_is_one_line(tmp_path):
    done = interrupt(["reproduce", "--out", str(tmp_path / "r"), "--no-mcmc"], 3.5, tmp_path)
    assert done.returncode == 130, done.stderr
    assert done.stderr.strip() == "bayesmeta reproduce: interrupted"
