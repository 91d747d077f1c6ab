"""Time ``bayesmeta reproduce`` in a fresh process, with and without MCMC, and print where the
time goes (prints figures; not a test).

Usage:  python benchmarks/bench_reproduce.py [--repeat 1]

Each run starts a new interpreter (imports, the nutpie/numba compilation of the cell-type
model, sampling, the coverage simulation, figures and the report all included) and writes to
a fresh temporary folder. The full run is timed twice: with every cache empty, as on a new
machine (a new ``BAYESMETA_CACHE_DIR`` for the compiled models, ``NUMBA_CACHE_DIR``,
PyTensor's ``base_compiledir`` and matplotlib's ``MPLCONFIGDIR`` with its font list), and with
those caches warm (every later run). Printed per run: the wall time against the target (20 s;
8 s with ``--no-mcmc``, on the 2-core machine) and the breakdown ``reproduce`` records
(import = wall time minus the time spent inside ``reproduce``).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

CODE = """
import json, sys, time
t0 = time.perf_counter()
from bayesmeta.review.reanalysis import reproduce
t_import = time.perf_counter() - t0
r = reproduce(sys.argv[1], progress=False, mcmc=sys.argv[2] == "1")
print(json.dumps({"import": t_import, **r.timings}))
"""
TARGETS = {True: 20.0, False: 8.0}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=1, help="runs per setting (default 1)")
    args = ap.parse_args()
    worst_ok = True
    cache = tempfile.TemporaryDirectory()
    env = dict(
        os.environ,
        BAYESMETA_CACHE_DIR=os.path.join(cache.name, "bayesmeta"),
        NUMBA_CACHE_DIR=os.path.join(cache.name, "numba"),
        PYTENSOR_FLAGS=f"base_compiledir={os.path.join(cache.name, 'pytensor')}",
        MPLCONFIGDIR=os.path.join(cache.name, "matplotlib"),
    )
    settings = [(True, "reproduce, every cache empty"), (True, "reproduce, warm caches"),
                (False, "reproduce --no-mcmc")]  # fmt: skip
    for mcmc, label in settings:
        for i in range(args.repeat if "empty" not in label else 1):
            with tempfile.TemporaryDirectory() as tmp:
                t0 = time.perf_counter()
                done = subprocess.run(
                    [sys.executable, "-c", CODE, tmp, "1" if mcmc else "0"],
                    check=True, capture_output=True, text=True, env=env,
                )  # fmt: skip
                wall = time.perf_counter() - t0
            parts = json.loads(done.stdout.strip().splitlines()[-1])
            ok = wall <= TARGETS[mcmc]
            worst_ok &= ok
            print(f"{label} run {i + 1}: {wall:.1f} s wall (target <= {TARGETS[mcmc]:g} s) "
                  f"{'ok' if ok else 'OVER TARGET'}")  # fmt: skip
            for key, val in parts.items():
                print(f"    {key:<34} {val:6.2f} s")
    cache.cleanup()
    return 0 if worst_ok else 1


if __name__ == "__main__":
    sys.exit(main())
