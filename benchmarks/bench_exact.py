"""Timing of the exact normal-normal engine (prints figures; not a test).

    python benchmarks/bench_exact.py [--repeat 15] [--no-r]

For each k, one "analysis" is: build NormalNormal (quadrature over tau), then
``to_result()`` (medians, SDs, intervals of mu, tau, theta_new and all k shrunken
theta_i). Reported: the median and minimum wall time over ``--repeat`` runs, for central
and shortest intervals. Targets: <= 10 ms at k = 6 and <= 50 ms at k = 100.

If ``Rscript`` with the bayesmeta package is installed, the same data are analysed by
``bayesmeta()`` at its default accuracy (delta = 0.01, epsilon = 1e-4) in one R
subprocess, timed inside R (``system.time``, R start-up excluded), and the ratio is printed.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

from bayesmeta.exact import NormalNormal

KS = (3, 6, 10, 20, 50, 100, 200)
R_KS = (6, 20)  # R at k = 100 takes ~260 s (measured once); add it with --r-k 100


def data(k: int, seed: int = 2024) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed + k)
    s = rng.uniform(0.1, 0.6, k)
    y = rng.normal(-0.5, 0.3, k) + rng.normal(0.0, s)
    return y, s


def time_python(k: int, interval: str, repeat: int) -> tuple[float, float, int]:
    y, s = data(k)
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fit = NormalNormal(y, s, "halfnormal(0.5)", "normal(0, 4)")
        fit.to_result(interval=interval)
        times.append(time.perf_counter() - t0)
    return statistics.median(times), min(times), int(fit.tau.nodes.size)


R_SCRIPT = r"""
suppressPackageStartupMessages(library(bayesmeta))
args <- commandArgs(trailingOnly = TRUE)
d <- jsonlite::fromJSON(args[1])
out <- list()
for (i in seq_along(d$k)) {
  y <- d$y[[i]]; s <- d$s[[i]]
  t <- system.time(bm <- bayesmeta(y, s, tau.prior = function(t) dhalfnormal(t, scale = 0.5),
                                   mu.prior.mean = 0, mu.prior.sd = 4))[["elapsed"]]
  out[[i]] <- list(k = d$k[i], seconds = t, mu_median = bm$summary["median", "mu"])
}
cat(jsonlite::toJSON(out, auto_unbox = TRUE, digits = NA))
"""


def time_r(r_ks: list[int]) -> list[dict] | None:
    if shutil.which("Rscript") is None:
        return None
    check = subprocess.run(
        ["Rscript", "-e", "cat(requireNamespace('bayesmeta', quietly=TRUE))"],
        capture_output=True,
        text=True,
    )
    if check.stdout.strip() != "TRUE":
        return None
    payload = {"k": list(r_ks), "y": [], "s": []}
    for k in r_ks:
        y, s = data(k)
        payload["y"].append(y.tolist())
        payload["s"].append(s.tolist())
    with tempfile.TemporaryDirectory() as tmp:
        dfile, rfile = Path(tmp) / "d.json", Path(tmp) / "b.R"
        dfile.write_text(json.dumps(payload))
        rfile.write_text(R_SCRIPT)
        res = subprocess.run(["Rscript", str(rfile), str(dfile)], capture_output=True, text=True)
    if res.returncode != 0:
        print("R timing failed:", res.stderr.strip().splitlines()[-1:])
        return None
    return json.loads(res.stdout)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=15)
    ap.add_argument("--no-r", action="store_true")
    ap.add_argument("--r-k", type=int, nargs="*", default=list(R_KS), help="k values for R")
    args = ap.parse_args()
    NormalNormal(*data(6)).to_result()  # warm-up (imports, caches)
    print("exact engine: NormalNormal(...) + to_result(), halfnormal(0.5) / normal(0, 4)")
    print(f"{'k':>5} {'nodes':>6} {'central ms':>18} {'shortest ms':>18}")
    py = {}
    for k in KS:
        c_med, c_min, nodes = time_python(k, "central", args.repeat)
        s_med, s_min, _ = time_python(k, "shortest", args.repeat)
        py[k] = (c_med, s_med)
        print(
            f"{k:>5} {nodes:>6} {1e3 * c_med:>8.2f} (min {1e3 * c_min:5.2f})"
            f" {1e3 * s_med:>8.2f} (min {1e3 * s_min:5.2f})"
        )
    for k, limit in ((6, 10e-3), (100, 50e-3)):
        worst = max(py[k])
        verdict = "OK" if worst <= limit else "OVER"
        print(f"target k = {k}: <= {limit * 1e3:.0f} ms -> {worst * 1e3:.2f} ms {verdict}")
    if args.no_r:
        return
    r = time_r(args.r_k)
    if r is None:
        print("R bayesmeta not available: no ratio")
        return
    print("\nR bayesmeta() (default delta = 0.01, epsilon = 1e-4; shortest intervals, its default)")
    for rec in r:
        k = int(rec["k"])
        if k not in py:
            py[k] = (time_python(k, "central", args.repeat)[0], time_python(k, "shortest", 3)[0])
        y, s = data(k)
        ours = NormalNormal(y, s, "halfnormal(0.5)", "normal(0, 4)").mu.median
        print(
            f"k = {k:>3}: R {rec['seconds']:.3f} s, python (shortest) {py[k][1] * 1e3:.2f} ms,"
            f" ratio R/python = {rec['seconds'] / py[k][1]:.0f}x;"
            f" mu median R {rec['mu_median']:.7f} vs exact {ours:.7f}"
        )


if __name__ == "__main__":
    main()
