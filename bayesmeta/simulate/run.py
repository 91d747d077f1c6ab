"""Run a simulation study on dask.distributed, chunk by chunk, resumable.

Tasks are chunks of replicates of one scenario (`StudySpec.chunks`). The client writes
each finished chunk to ``OUT/chunks/<scenario key>_<chunk>.parquet`` (write to a temporary
name, then rename), so an interrupted run resumes and skips finished chunks. ``OUT/spec.json``
holds the spec's fingerprint; resuming into a folder made by a different spec is an error.
When every chunk is in, the replicate table, the metrics (Parquet and CSV) and the figures
are written to OUT:

* ``replicates.parquet``: one row per replicate x method (`replicate.COLUMNS`);
* ``metrics.parquet`` / ``metrics.csv``: one row per scenario x method
  (`bayesmeta.simulate.metrics`);
* ``coverage_vs_k.png``, ``width_vs_coverage.png``.

Because every replicate has its own SeedSequence, results do not depend on the worker
count, the chunk size or the order in which chunks finish.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import pandas as pd

from bayesmeta.cluster import dask_client
from bayesmeta.errors import InputError
from bayesmeta.simulate.metrics import summarise
from bayesmeta.simulate.replicate import run_chunk
from bayesmeta.simulate.spec import Chunk, StudySpec, load_spec


def chunk_path(out: Path, spec: StudySpec, c: Chunk) -> Path:
    """Where chunk ``c`` is stored: ``out/chunks/<scenario key, hex>_<start>_<stop>.parquet``.

    Examples:
        >>> from pathlib import Path
        >>> from bayesmeta.simulate import parse_spec
        >>> from bayesmeta.simulate.run import chunk_path
        >>> spec = parse_spec({
        ...     "study": {"name": "null", "seed": 1, "replicates": 40, "chunk_size": 20,
        ...               "methods": ["FE", "DL-Wald"]},
        ...     "scenarios": [{"name": "s", "k": 4, "mu": 0.0, "tau": 0.0,
        ...                    "se": [0.1, 0.2, 0.3, 0.4]}]})
        >>> chunk_path(Path("out"), spec, spec.chunks()[1]).as_posix()
        'out/chunks/c09316c8_0000020_0000040.parquet'
    """
    sc = spec.scenarios[c.scenario]
    return out / "chunks" / f"{sc.key:08x}_{c.start:07d}_{c.stop:07d}.parquet"


def _prepare(out: Path, spec: StudySpec) -> None:
    (out / "chunks").mkdir(parents=True, exist_ok=True)
    meta = out / "spec.json"
    fp = spec.fingerprint()
    if meta.exists():
        old = json.loads(meta.read_text()).get("fingerprint")
        if old != fp:
            raise InputError(
                "output folder holds results of a different spec; use a new --out folder",
                file=str(out),
            )
    else:
        meta.write_text(json.dumps({"name": spec.name, "source": spec.source, "fingerprint": fp}))


def _write(df: pd.DataFrame, path: Path) -> None:
    tmp = path.with_suffix(".tmp")
    df.to_parquet(tmp, index=False)
    os.replace(tmp, path)


def run_study(
    spec: str | Path | StudySpec,
    out: str | Path,
    workers: int | None = None,
    scheduler: str | None = None,
    progress: bool = True,
    processes: bool = True,
) -> pd.DataFrame:
    """Run (or resume) a study; return the metrics table (see module docstring).

    Args:
        spec: a `StudySpec` or the path of a TOML spec.
        out: output folder (created; resuming into a folder of another spec is an error).
        workers: LocalCluster size (default None: the machine's CPU count); ``workers=0``
            runs the chunks in this process without dask.
        scheduler: address of an existing dask scheduler (then ``workers`` is ignored).
        progress: print a chunk counter on stderr. Default True.
        processes: False uses worker threads in this process. Default True.

    Returns:
        The `bayesmeta.simulate.metrics.summarise` table; ``attrs["chunks_run"]`` /
        ``attrs["chunks_skipped"]`` count the tasks run and resumed.

    Examples:
        >>> from bayesmeta.simulate import parse_spec, run_study
        >>> spec = parse_spec({
        ...     "study": {"name": "null", "seed": 1, "replicates": 40, "chunk_size": 20,
        ...               "methods": ["FE", "DL-Wald"]},
        ...     "scenarios": [{"name": "s", "k": 4, "mu": 0.0, "tau": 0.0,
        ...                    "se": [0.1, 0.2, 0.3, 0.4]}]})
        >>> m = run_study(spec, "sim", workers=0, progress=False)
        >>> print(m[["method", "n", "coverage", "bias"]].round(3))
            method   n  coverage   bias
        0       FE  40     0.925  0.017
        1  DL-Wald  40     0.925  0.018
        >>> run_study(spec, "sim", workers=0, progress=False).attrs  # resumed: nothing to run
        {'chunks_run': 0, 'chunks_skipped': 2}
    """
    if workers is not None and workers < 0:
        raise InputError(f"workers must be >= 0 (got {workers})")
    spec = spec if isinstance(spec, StudySpec) else load_spec(spec)
    out = Path(out)
    _prepare(out, spec)
    chunks = spec.chunks()
    todo = [c for c in chunks if not chunk_path(out, spec, c).exists()]
    from bayesmeta.progress import Counter, on_terminal

    bar = Counter(len(todo), "simulate", progress and bool(todo) and on_terminal(), unit="chunks")
    if todo and workers == 0 and not scheduler:
        for c in todo:
            _write(run_chunk(spec, c), chunk_path(out, spec, c))
            bar.step()
    elif todo:
        from dask.distributed import as_completed

        client, cluster = dask_client(workers, scheduler, processes)
        try:
            [spec_f] = client.scatter([spec], broadcast=True)
            futs = {client.submit(run_chunk, spec_f, c, pure=False): c for c in todo}
            for fut in as_completed(futs):
                _write(fut.result(), chunk_path(out, spec, futs[fut]))
                bar.step()
        finally:
            client.close()
            if cluster is not None:
                cluster.close()
    reps = pd.concat([pd.read_parquet(chunk_path(out, spec, c)) for c in chunks], ignore_index=True)
    reps.to_parquet(out / "replicates.parquet", index=False)
    metrics = summarise(reps, spec)
    metrics.to_parquet(out / "metrics.parquet", index=False)
    metrics.to_csv(out / "metrics.csv", index=False)
    from bayesmeta.simulate.figures import write_figures

    write_figures(metrics, out, spec.level, unit=spec.units)
    metrics.attrs["chunks_run"] = len(todo)
    metrics.attrs["chunks_skipped"] = len(chunks) - len(todo)
    return metrics


def replicates(spec: StudySpec) -> pd.DataFrame:
    """Every replicate row of a study, computed in this process (no files, no dask).

    One row per replicate x method (columns `bayesmeta.simulate.replicate.COLUMNS`); the
    same rows `run_study` writes to ``replicates.parquet``.

    Examples:
        >>> from bayesmeta.simulate import parse_spec
        >>> from bayesmeta.simulate.run import replicates
        >>> spec = parse_spec({
        ...     "study": {"name": "null", "seed": 1, "replicates": 40, "chunk_size": 20,
        ...               "methods": ["FE", "DL-Wald"]},
        ...     "scenarios": [{"name": "s", "k": 4, "mu": 0.0, "tau": 0.0,
        ...                    "se": [0.1, 0.2, 0.3, 0.4]}]})
        >>> r = replicates(spec)
        >>> len(r), list(r["method"][:2]), round(float(r["estimate"][0]), 4)
        (80, ['FE', 'DL-Wald'], -0.0332)
    """
    return pd.concat([run_chunk(spec, c) for c in spec.chunks()], ignore_index=True)


def run_cli(args: argparse.Namespace) -> int:
    """``bayesmeta simulate SPEC [--out DIR] [--workers N | --scheduler ADDRESS]``.

    Runs `run_study` with the parsed arguments, prints one summary line and returns 0.

    Examples:
        >>> import argparse
        >>> from pathlib import Path
        >>> from bayesmeta.cli_args import add_simulate_args
        >>> from bayesmeta.simulate import run_cli
        >>> _ = Path("demo.toml").write_text('''
        ... [study]
        ... name = "demo"
        ... seed = 1
        ... replicates = 20
        ... methods = ["FE"]
        ... [[scenarios]]
        ... name = "s"
        ... k = 3
        ... mu = 0.0
        ... tau = 0.0
        ... se = [0.1, 0.2, 0.3]
        ... ''')
        >>> p = argparse.ArgumentParser()
        >>> add_simulate_args(p)
        >>> run_cli(p.parse_args(["demo.toml", "--out", "sim", "--workers", "0", "--no-progress"]))
        1 scenario x method rows (1 chunks run, 0 resumed) -> sim/metrics.csv
        0
    """
    import matplotlib

    from bayesmeta.outputs import check_output_dir

    check_output_dir(
        args.out,
        option="--out",
        inputs=[args.spec],
        writes=["chunks/*", "*.json", "*.parquet", "*.csv", "*.png", "figures/*"],
    )
    matplotlib.use("Agg")
    metrics = run_study(
        args.spec,
        args.out,
        workers=args.workers,
        scheduler=args.scheduler,
        progress=not getattr(args, "no_progress", False),
    )
    print(
        f"{len(metrics)} scenario x method rows ({metrics.attrs['chunks_run']} chunks run, "
        f"{metrics.attrs['chunks_skipped']} resumed) -> {Path(args.out) / 'metrics.csv'}"
    )
    return 0
