"""Start-up of the everyday commands in a fresh process (prints figures; not a test).

    python benchmarks/bench_startup.py [--repeat 7]

Each command runs ``--repeat`` times in a fresh process after one warm-up run (so the file
cache is warm, as for a user who ran it before); printed: the median and minimum wall time
against the target of 1 s. Heavy modules (scipy.stats, PyMC, matplotlib, Dask) are imported
only where a command needs them, which is what keeps these short.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

TARGET_S = 1.0
COMMANDS = (
    ["--help"],
    ["datasets"],
    ["pool", "rubin1981"],
    ["posterior", "rubin1981"],
    ["posterior", "crins2014", "--json"],
)


def wall(cmd: list[str]) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=7)
    a = ap.parse_args()
    exe = Path(sys.executable).with_name("bayesmeta")
    base = [str(exe)] if exe.exists() else [sys.executable, "-m", "bayesmeta.cli"]
    print(f"{'bayesmeta ...':<34} {'median (s)':>10} {'min (s)':>8}   target <= {TARGET_S:g} s")
    for args in COMMANDS:
        cmd = [*base, *args]
        wall(cmd)  # warm the file cache
        times = [wall(cmd) for _ in range(a.repeat)]
        med = statistics.median(times)
        ok = "ok" if med <= TARGET_S else "OVER TARGET"
        print(f"{' '.join(args):<34} {med:10.2f} {min(times):8.2f}   {ok}")


if __name__ == "__main__":
    main()
