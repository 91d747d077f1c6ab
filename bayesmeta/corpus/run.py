"""`run`: a whole corpus re-analysed, chunk by chunk, on this machine or on Dask; resumable.

The inputs are hashed, then read one at a time in the order given
(`bayesmeta.corpus.sources`); their analyses are cut into chunks of ``chunk_size`` as they
come, and at most two chunks per worker are in flight, so memory holds a few chunks' study
rows, never the whole corpus's (one long table is read whole). Every chunk is computed
(`bayesmeta.corpus.compute`) in this process (``workers=0``), on a local Dask cluster
(``workers=N``, default one worker per CPU) or on an existing scheduler
(``scheduler=ADDRESS``). Each finished chunk is written
to ``OUT/chunks/chunk_NNNNNN.parquet`` (a temporary name, then a rename), so an interrupted
run (SIGINT or SIGKILL) resumes where it stopped; ``OUT/corpus.json`` holds the fingerprint
of the inputs and settings, and resuming into a folder made by other inputs is an error.
Then the chunks are joined in input order into ``analyses.parquet`` and ``analyses.csv``,
and ``summary.md``, ``summary.html``, figures and ``manifest.json`` are written. Every number
is deterministic, so the files do not depend on the worker count, the scheduler or the
order in which chunks finish.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd

from bayesmeta.corpus.compute import compute_chunk
from bayesmeta.corpus.sources import Analysis, expand, from_revman, from_table, sha256
from bayesmeta.errors import InputError


def _inventory(inputs: list[str | Path]) -> list[dict[str, Any]]:
    """One manifest record per input: path, kind and SHA-256 (read before any analysis, so a
    resumed run can check that its inputs are the same)."""
    return [{"path": str(p), "kind": kind, "sha256": sha256(p)} for p, kind in expand(inputs)]


def _stream(
    records: list[dict[str, Any]], measure: str | None = None, keep_going: bool = False
) -> Iterator[Analysis]:
    """The analyses of every input, one input read at a time; each record gets its
    ``analyses`` count (with ``keep_going``, the error of an unreadable RevMan input)."""
    for rec in records:
        path = Path(rec["path"])
        try:
            got = from_table(path, measure) if rec["kind"] == "table" else from_revman(path)
        except InputError as err:
            if not keep_going or rec["kind"] == "table":
                raise
            rec["error"] = err.oneline()
            continue
        rec["analyses"] = len(got)
        yield from got


def gather(
    inputs: list[str | Path], measure: str | None = None, keep_going: bool = False
) -> tuple[list[Analysis], list[dict[str, Any]]]:
    """All analyses of the inputs at once, and their manifest records (path, kind,
    SHA-256, analyses).

    Examples:
        >>> import pandas as pd
        >>> from bayesmeta.corpus.run import gather
        >>> pd.DataFrame({"analysis": ["a", "b"], "study": ["1", "1"], "yi": [0.1, 0.2],
        ...               "vi": [0.1, 0.1]}).to_csv("t.csv", index=False)
        >>> analyses, records = gather(["t.csv"])
        >>> [a.analysis for a in analyses], records[0]["analyses"], len(records[0]["sha256"])
        (['a', 'b'], 2, 64)
    """
    records = _inventory(inputs)
    return list(_stream(records, measure, keep_going)), records


def _chunks(items: Iterator[Analysis], size: int) -> Iterator[list[Analysis]]:
    chunk: list[Analysis] = []
    for a in items:
        chunk.append(a)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _fingerprint(records: list[dict[str, Any]], settings: dict[str, Any]) -> str:
    """SHA-256 of the inputs' hashes and the settings (what resuming must match)."""
    blob = json.dumps({"inputs": [(r["path"], r["sha256"]) for r in records],
                       "settings": settings}, sort_keys=True)  # fmt: skip
    return hashlib.sha256(blob.encode()).hexdigest()


def run(
    inputs: list[str | Path] | str | Path,
    out: str | Path | None = None,
    *,
    measure: str | None = None,
    tau_prior: str | None = None,
    mu_prior: str | None = None,
    level: float = 0.95,
    workers: int | None = None,
    scheduler: str | None = None,
    chunk_size: int = 5000,
    keep_going: bool = False,
    progress: bool = True,
) -> pd.DataFrame:
    """Re-analyse a corpus (module docstring); returns the table of `analyses.parquet`.

    Args:
        inputs: RevMan 5 files, data packages (ZIP or folder), folders holding them, long
            tables (CSV / Parquet).
        out: output folder (None: compute in this process, write nothing).
        measure: the measure of raw columns in long tables without a ``measure`` column.
        tau_prior: the tau prior of every analysis (default: each analysis's scale-safe
            default).
        mu_prior: the mu prior of every analysis, flat or normal (default flat).
        level: interval level. Default 0.95.
        workers: local Dask workers (default: one per CPU; 0: this process).
        scheduler: address of an existing Dask scheduler (then ``workers`` is ignored).
        chunk_size: analyses per chunk (task). Default 5000.
        keep_going: record an unreadable RevMan input in the manifest and go on.
        progress: a counter with the time left on stderr (on a terminal).

    Examples:
        >>> import pandas as pd
        >>> from bayesmeta.corpus import run
        >>> pd.DataFrame({"analysis": ["a", "a", "b", "b", "b"], "study": list("12345"),
        ...               "yi": [0.1, 0.3, -0.2, 0.0, 0.4], "vi": [0.04, 0.05, 0.1, 0.08, 0.09],
        ...               "setting": ["x", "x", "y", "y", "y"]}).to_csv("c.csv", index=False)
        >>> t = run(["c.csv"], workers=0, progress=False)
        >>> t[["analysis", "k", "status", "setting"]].values.tolist()
        [['a', 2, 'ok', 'x'], ['b', 3, 'ok', 'y']]
    """
    if isinstance(inputs, (str, Path)):
        inputs = [inputs]
    if workers is not None and workers < 0:
        raise InputError(f"workers must be >= 0 (got {workers}) (option --workers)")
    if chunk_size < 1:
        raise InputError(f"chunk size must be >= 1 (got {chunk_size}) (option --chunk-size)")
    records = _inventory(list(inputs))
    settings = {"measure": measure, "tau_prior": tau_prior, "mu_prior": mu_prior,
                "level": level, "chunk_size": chunk_size}  # fmt: skip
    chunks = _chunks(_stream(records, measure, keep_going), chunk_size)
    if out is None:
        return _join([compute_chunk(c, tau_prior, mu_prior, level) for c in chunks])
    folder = Path(out)
    (folder / "chunks").mkdir(parents=True, exist_ok=True)
    fp = _fingerprint(records, settings)
    meta = folder / "corpus.json"
    if meta.exists() and json.loads(meta.read_text()).get("fingerprint") != fp:
        raise InputError("the output folder holds a corpus run of other inputs or settings; "
                         "use a new --out folder", file=str(folder))  # fmt: skip
    meta.write_text(json.dumps({"fingerprint": fp}))
    from bayesmeta.progress import Counter, on_terminal

    bar = Counter(len(records), "corpus", progress and on_terminal(), unit="inputs")
    paths: list[Path] = []
    if workers == 0 and not scheduler:
        for j, chunk in enumerate(chunks):
            paths.append(_chunk_path(folder, j))
            if not paths[-1].exists():
                _write(compute_chunk(chunk, tau_prior, mu_prior, level), paths[-1])
            _progress(bar, records)
    else:
        from dask.distributed import wait

        from bayesmeta.cluster import dask_client

        client, cluster = dask_client(workers, scheduler)
        try:
            busy: dict[Any, Path] = {}
            most = 2 * max(1, len(client.scheduler_info().get("workers", {})))
            for j, chunk in enumerate(chunks):  # at most `most` chunks in flight: memory
                paths.append(_chunk_path(folder, j))  # stays bounded
                if not paths[-1].exists():
                    busy[client.submit(compute_chunk, chunk, tau_prior, mu_prior, level,
                                       pure=False)] = paths[-1]  # fmt: skip
                while len(busy) >= most:
                    _collect(wait(list(busy), return_when="FIRST_COMPLETED").done, busy)
                _progress(bar, records)
            _collect(wait(list(busy)).done, busy)
        finally:
            client.close()
            if cluster is not None:
                cluster.close()
    table = _join([pd.read_parquet(p) for p in paths])
    _write(table, folder / "analyses.parquet")
    _write_csv(table, folder / "analyses.csv")
    from bayesmeta.corpus.report import write_summary

    counts = write_summary(table, folder)
    manifest = {
        "package": "bayesmeta", "version": _version(), "settings": settings,
        "inputs": records, "counts": counts, "fingerprint": fp,
    }  # fmt: skip
    _atomic_text(folder / "manifest.json", json.dumps(manifest, indent=2, default=str) + "\n")
    return table


def _chunk_path(folder: Path, j: int) -> Path:
    return folder / "chunks" / f"chunk_{j:06d}.parquet"


def _collect(done: Any, busy: dict[Any, Path]) -> None:
    for fut in done:
        _write(fut.result(), busy.pop(fut))


def _progress(bar: Any, records: list[dict[str, Any]]) -> None:
    read = sum("analyses" in r or "error" in r for r in records)
    while bar.done < read:
        bar.step()


def _join(parts: list[pd.DataFrame]) -> pd.DataFrame:
    if not parts:
        from bayesmeta.corpus.compute import COLUMNS

        return pd.DataFrame({c: [] for c in COLUMNS})
    return pd.concat(parts, ignore_index=True)


def _version() -> str:
    from bayesmeta import __version__

    return __version__


def _write(df: pd.DataFrame, path: Path) -> None:
    from bayesmeta.outputs import atomic_path

    with atomic_path(path) as tmp:
        df.to_parquet(tmp, index=False)


def _write_csv(df: pd.DataFrame, path: Path) -> None:
    from bayesmeta.outputs import atomic_path

    with atomic_path(path) as tmp:
        df.to_csv(tmp, index=False, lineterminator="\n")


def _atomic_text(path: Path, text: str) -> None:
    from bayesmeta.outputs import atomic_path

    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
