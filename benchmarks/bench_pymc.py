"""Benchmark of the PyMC engine across processes and within one, with brms ratios.

    python benchmarks/bench_pymc.py [--repeat 3]

For three models (the eight schools of Rubin 1981; the BCG trials with a subgroup term for
allocation; schools nested in districts, Konstantopoulos 2011), each in a fresh Python
process that imports bayesmeta, builds, compiles and samples once:

* empty cache: a new, empty ``BAYESMETA_CACHE_DIR`` (nothing compiled before; PyTensor's own
  numba cache is warm, as after any earlier run of any model);
* warm cache: the same folder again, so the compiled callbacks are loaded from disk
  (`bayesmeta.hierarchical.compiled`);
* the CLI ``bayesmeta posterior rubin1981 --engine pymc --quiet`` with a warm cache;
* warm refit: the same model with new data in the same process (no compilation), median of
  5 refits.

Targets: fresh process with a warm cache at most 6 s; empty cache at most 15 s; warm refit
at most 0.5 s. The brms ratios divide by brms's own figures for the same models
(``brm()`` = Stan C++ compile + sampling, ``update()`` = refit without recompiling),
recorded by ``benchmarks/anchors/brms_timings.R`` in ``brms_timings.json``.
Priors mu ~ N(0, 5^2), tau ~ half-Cauchy(5); 4 chains x 1000 draws after 1000 tuning steps.
Also printed: divergences of the centred parameterisation against the non-centred default.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

ANCHORS = Path(__file__).with_name("anchors") / "brms_timings.json"
TARGETS = {"warm": 6.0, "empty": 15.0, "refit": 0.5}
RUN = {"draws": 1000, "tune": 1000, "chains": 4, "seed": 20201}
PRIORS = {"mu_prior": "normal(0, 5)", "tau_prior": "halfcauchy(5)"}

FIT = """
import json, sys, time
t0 = time.perf_counter()
import numpy as np
from bayesmeta.hierarchical import BayesianMeta, MetaData
t_import = time.perf_counter() - t0
d = json.loads(sys.argv[1])
data = MetaData(study=np.array(d["study"]), yi=np.array(d["yi"]), sei=np.array(d["sei"]),
                subgroup=None if d.get("subgroup") is None else np.array(d["subgroup"]),
                cluster=None if d.get("cluster") is None else np.array(d["cluster"]))
bm = BayesianMeta(d["model"], **{run}, **{priors}, warn=False, progress=False).fit(data)
print(json.dumps({{"import": t_import, "sampling": bm.sampling_time_}}))
"""


def datasets() -> dict[str, dict]:
    """The three data sets as plain lists (eight schools from the package, the others as
    R wrote them into the anchors file)."""
    from bayesmeta import datasets as ds

    df = ds.load("rubin1981")
    out = {
        "eight schools": {
            "model": "normal",
            "study": list(df["school"]),
            "yi": list(df["effect"]),
            "sei": list(df["stderr"]),
        }
    }
    anchors = json.loads(ANCHORS.read_text())["data"]
    bcg = anchors["bcg"]
    out["subgroup (BCG, allocation)"] = {
        "model": "subgroup",
        "study": [str(t) for t in bcg["trial"]],
        "yi": bcg["yi"],
        "sei": bcg["sei"],
        "subgroup": bcg["alloc"],
    }
    kon = anchors["konstantopoulos2011"]
    pairs = zip(kon["district"], kon["school"], strict=True)
    out["nested (schools in districts)"] = {
        "model": "nested",
        "study": [f"{d}.{s}" for d, s in pairs],
        "yi": kon["yi"],
        "sei": kon["sei"],
        "cluster": [str(d) for d in kon["district"]],
    }
    return out  # fmt: skip


def fresh(payload: dict, cache: str) -> tuple[float, dict]:
    env = dict(os.environ, BAYESMETA_CACHE_DIR=cache)
    code = FIT.format(run=RUN, priors=PRIORS)
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code, json.dumps(payload)], env=env,
                         capture_output=True, text=True, check=True)  # fmt: skip
    return time.perf_counter() - t0, json.loads(out.stdout.strip().splitlines()[-1])


def cli_wall(cache: str) -> float:
    env = dict(os.environ, BAYESMETA_CACHE_DIR=cache)
    cmd = [sys.executable, "-m", "bayesmeta", "posterior", "rubin1981", "--engine", "pymc",
           "--quiet"]  # fmt: skip
    subprocess.run(cmd, env=env, capture_output=True, check=True)  # warm the cache
    t0 = time.perf_counter()
    subprocess.run(cmd, env=env, capture_output=True, check=True)
    return time.perf_counter() - t0


def refit_wall(payload: dict, repeat: int = 5) -> float:
    """Median wall time of ``repeat`` refits with new data, after one fit that compiles."""
    import numpy as np

    from bayesmeta.hierarchical import BayesianMeta, MetaData

    def data(shift: float) -> MetaData:
        sub, clu = payload.get("subgroup"), payload.get("cluster")
        return MetaData(study=np.array(payload["study"]), yi=np.array(payload["yi"]) + shift,
                        sei=np.array(payload["sei"]),
                        subgroup=None if sub is None else np.array(sub),
                        cluster=None if clu is None else np.array(clu))  # fmt: skip

    opts = dict(RUN, **PRIORS, warn=False, progress=False)
    BayesianMeta(payload["model"], **opts).fit(data(0.0))
    walls = []
    for i in range(repeat):
        t0 = time.perf_counter()
        bm = BayesianMeta(payload["model"], **opts).fit(data(0.1 * (i + 1)))
        walls.append(time.perf_counter() - t0)
        assert bm.cache_hit_
    return statistics.median(walls)


def divergences() -> dict[tuple[bool, float], int]:
    from bayesmeta import datasets as ds
    from bayesmeta.hierarchical import BayesianMeta, MetaData

    df = ds.load("rubin1981")
    data = MetaData.from_arrays(df["effect"], df["stderr"], study=df["school"])
    out = {}
    for centred in (False, True):
        for ta in (0.8, 0.99):
            bm = BayesianMeta(**RUN, **PRIORS, centred=centred, target_accept=ta,
                              warn=False).fit(data)  # fmt: skip
            out[(centred, ta)] = bm.diagnostics_["divergences"]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="fresh processes per figure")
    args = parser.parse_args()
    brms = json.loads(ANCHORS.read_text())
    brms_key = {"eight schools": "eight_schools", "subgroup (BCG, allocation)": "subgroup",
                "nested (schools in districts)": "nested"}  # fmt: skip
    rows: list[tuple[str, str, str, str]] = []
    warnings.simplefilter("ignore")
    for name, payload in datasets().items():
        empty, warm, imports = [], [], []
        for _ in range(args.repeat):
            with tempfile.TemporaryDirectory() as cache:
                wall, info = fresh(payload, cache)
                empty.append(wall)
                wall, info = fresh(payload, cache)
                warm.append(wall)
                imports.append(info["import"])
        refit = refit_wall(payload)
        b = brms[brms_key[name]]
        e, w = statistics.median(empty), statistics.median(warm)
        rows += [
            (f"{name}: fresh process, empty cache", f"{e:.2f}", f"<= {TARGETS['empty']:g}",
             f"{e / b['fit']:.2f} of brms brm() {b['fit']:.1f} s"),
            (f"{name}: fresh process, warm cache", f"{w:.2f}", f"<= {TARGETS['warm']:g}",
             f"{w / b['fit']:.2f} of brms brm() {b['fit']:.1f} s"),
            ("  of which import", f"{statistics.median(imports):.2f}", "", ""),
            (f"{name}: warm refit, same process", f"{refit:.2f}", f"<= {TARGETS['refit']:g}",
             f"{refit / b['refit']:.2f} of brms update() {b['refit']:.2f} s"),
        ]  # fmt: skip
    with tempfile.TemporaryDirectory() as cache:
        cli = cli_wall(cache)
    rows.append(
        (
            "CLI posterior --engine pymc, eight schools, warm cache",
            f"{cli:.2f}",
            f"<= {TARGETS['warm']:g}",
            f"{cli / brms['eight_schools']['fit']:.2f} of brms",
        )
    )
    div = divergences()
    for (centred, ta), n in sorted(div.items()):
        label = "centred" if centred else "non-centred"
        rows.append((f"eight schools, {label}, target_accept {ta}: divergences", str(n), "", ""))
    print(f"PyMC engine (nutpie), {RUN['chains']} chains x {RUN['draws']} draws; median of "
          f"{args.repeat} fresh processes; brms {brms['versions']['brms']}, "
          f"rstan {brms['versions']['rstan']}")  # fmt: skip
    width = max(len(r[0]) for r in rows)
    print(f"{'figure (s)':<{width}}  {'value':>7}  {'target':<7}  ratio to brms")
    for label, value, target, ratio in rows:
        print(f"{label:<{width}}  {value:>7}  {target:<7}  {ratio}")


if __name__ == "__main__":
    main()
