"""A million studies through the CLI: wall time and peak memory (prints figures; not a test).

    python benchmarks/bench_large.py [--k 1000000] [--repeat 1]

Writes a seeded table of k studies (study, yi, vi; yi ~ N(0.2, 0.1^2 + vi), vi from
U(0.1, 0.5)^2) to a temporary CSV, then runs, each in a fresh process,

* ``bayesmeta pool DATA`` (REML, Q-profile CI, prediction interval), and
* ``bayesmeta posterior DATA`` (exact engine, default priors, all k shrunken effects),

and prints the wall time and the peak resident memory of each (``getrusage`` of the child,
so CSV reading, validation and printing are included), against the targets of 10 s and
1 GB. Every classical quantity is computed in O(k) memory (the k x k projection is never
formed; `bayesmeta.classical.linalg.Projection`), and the exact engine sums over tau
nodes in blocks (`bayesmeta.exact.normal_normal`).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

TARGET_S, TARGET_GB = 10.0, 1.0


def write_table(path: Path, k: int, seed: int = 1) -> None:
    rng = np.random.default_rng(seed)
    se = rng.uniform(0.1, 0.5, k)
    y = rng.normal(0.2, 0.1, k) + rng.normal(0.0, se)
    pd.DataFrame({"study": [f"s{i}" for i in range(k)], "yi": y, "vi": se**2}).to_csv(
        path, index=False
    )


def run(args: list[str]) -> tuple[float, float]:
    """Wall seconds and peak RSS (GB) of one fresh ``bayesmeta`` process."""
    exe = Path(sys.executable).with_name("bayesmeta")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "bayesmeta.cli"]
    t0 = time.perf_counter()
    proc = subprocess.Popen([*cmd, *args], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, rusage = os.wait4(proc.pid, 0)  # the child's own peak memory
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - t0
    err = proc.stderr.read().decode() if proc.stderr else ""
    if proc.returncode not in (0, None):
        raise SystemExit(f"bayesmeta {' '.join(args)} failed: {err.strip()}")
    return wall, rusage.ru_maxrss / 1e6  # ru_maxrss is in KiB on Linux


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--k", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=1)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "large.csv"
        t0 = time.perf_counter()
        write_table(data, a.k)
        print(f"k = {a.k:,}: table written in {time.perf_counter() - t0:.1f} s "
              f"({data.stat().st_size / 1e6:.0f} MB)")  # fmt: skip
        print(f"{'command':<34} {'wall (s)':>9} {'peak (GB)':>10}   target: "
              f"<= {TARGET_S:g} s, <= {TARGET_GB:g} GB")  # fmt: skip
        for label, args in (
            ("pool (REML, Wald, Q-profile)", ["pool", str(data)]),
            ("posterior (exact, default priors)", ["posterior", str(data)]),
        ):
            runs = [run(args) for _ in range(a.repeat)]
            wall = min(r[0] for r in runs)
            peak = max(r[1] for r in runs)
            ok = "ok" if wall <= TARGET_S and peak <= TARGET_GB else "OVER TARGET"
            print(f"{label:<34} {wall:9.2f} {peak:10.2f}   {ok}")


if __name__ == "__main__":
    main()
