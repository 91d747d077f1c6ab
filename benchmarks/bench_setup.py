"""Time the README's two commands on this machine (prints figures; not a test).

    python benchmarks/bench_setup.py [--skip-tests]

In a fresh copy of the checkout (``git archive HEAD``) in a temporary folder:

1. ``python -m venv .venv && .venv/bin/pip install -e .`` then ``bayesmeta reproduce``
   (the main job);
2. ``.venv/bin/pip install -e ".[test]"`` then ``python -m pytest`` (the whole suite, slow
   tests included) and, for comparison, ``pytest -m "not slow"``.

Compiled code is not shared with earlier runs: ``BAYESMETA_CACHE_DIR`` and PyTensor's
``base_compiledir`` point into the temporary folder, so every model and PyTensor function is
compiled as on a fresh machine (the second command then finds what the first compiled, as it
would). Package downloads depend on the network and pip's cache; the figures printed are what
this machine took, and README.md quotes them.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


ENV: dict[str, str] = {}


def timed(label: str, cmd: str, cwd: Path) -> float:
    t0 = time.perf_counter()
    done = subprocess.run(["bash", "-c", cmd], cwd=cwd, capture_output=True, text=True,
                          env={**os.environ, **ENV})  # fmt: skip
    dt = time.perf_counter() - t0
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-15:])
        raise SystemExit(f"{label} failed after {dt:.0f} s:\n{tail}")
    print(f"{label:<46} {dt:7.1f} s ({dt / 60:.1f} min)", flush=True)
    return dt


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--skip-tests", action="store_true")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp) / "bayesmeta"
        work.mkdir()
        ENV["BAYESMETA_CACHE_DIR"] = str(Path(tmp) / "model-cache")
        ENV["PYTENSOR_FLAGS"] = f"base_compiledir={Path(tmp) / 'pytensor'}"
        subprocess.run(f"git -C {ROOT} archive HEAD | tar -x -C {work}", shell=True, check=True)
        py = sys.executable
        t1 = timed("venv + pip install -e .", f"{py} -m venv .venv && .venv/bin/pip install -e .",
                   work)  # fmt: skip
        t2 = timed("bayesmeta reproduce --out results", ".venv/bin/bayesmeta reproduce --out "
                   "results --quiet", work)  # fmt: skip
        print(f"{'main job (the two above)':<46} {t1 + t2:7.1f} s ({(t1 + t2) / 60:.1f} min)")
        if a.skip_tests:
            return
        t3 = timed('pip install -e ".[test]"', '.venv/bin/pip install -e ".[test]"', work)
        t4 = timed("python -m pytest (all tests)", ".venv/bin/python -m pytest -q", work)
        t5 = timed('python -m pytest -m "not slow"', '.venv/bin/python -m pytest -q -m "not slow"',
                   work)  # fmt: skip
        print(f"{'test command (venv, install, all tests)':<46} {t1 + t3 + t4:7.1f} s "
              f"({(t1 + t3 + t4) / 60:.1f} min); fast subset {t5 / 60:.1f} min")  # fmt: skip


if __name__ == "__main__":
    main()
