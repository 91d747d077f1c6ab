"""The analyses of a corpus: RevMan 5 files, Cochrane data packages, folders of them, and long
tables (CSV or Parquet), each analysis as one `Analysis` record.

* ``.rm5`` files and data packages (ZIP or folder) are read by `bayesmeta.io.read_revman`;
  each outcome (not its subgroups) is one analysis, with RevMan's stored result, the
  recomputation with the file's own method (`bayesmeta.io.compare_all`), and the study
  estimates RevMan's inverse-variance methods use (ratio measures on the log scale).
  Analyses RevMan shows as not estimable, or that the package cannot recompute, keep their
  reason as ``status``.
* A folder is searched recursively for ``.rm5`` files, data-package ZIPs and unpacked
  data-package folders.
* A long table has an ``analysis`` column, ``study``, and ``yi`` with ``vi`` or ``sei``, or
  raw columns (metafor ``escalc`` names) with ``measure`` (the option, or a per-row
  ``measure`` column); ``ni`` is optional; any other column is carried into the output (its
  first value within each analysis). A duplicate (analysis, study) pair or an analysis with
  mixed measures is an `InputError` naming file, row and column.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bayesmeta.errors import InputError

#: Long-table columns that are not carried into the output.
TABLE_COLUMNS = {"analysis", "study", "yi", "vi", "sei", "ni", "measure"}


@dataclass
class Analysis:
    """One analysis of the corpus: its studies' ``yi``/``vi`` (estimable studies only; log
    scale for ratio measures) and what its source says about it.

    Examples:
        >>> import numpy as np
        >>> from bayesmeta.corpus.sources import Analysis
        >>> a = Analysis("t.csv", "A", "A", "generic", "MD", np.array([0.1]), np.array([0.2]))
        >>> a.k, a.status
        (1, 'ok')
    """

    source: str
    analysis: str
    name: str
    data_type: str
    measure: str | None
    yi: np.ndarray
    vi: np.ndarray
    ni: np.ndarray | None = None
    status: str = "ok"
    stored: dict[str, Any] = field(default_factory=dict)
    classical: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def k(self) -> int:
        return int(self.yi.size)


def sha256(path: Path) -> str:
    """SHA-256 of a file, or of a folder's files (names and contents, in sorted order).

    Examples:
        >>> from pathlib import Path
        >>> from bayesmeta.corpus.sources import sha256
        >>> _ = Path("e.txt").write_bytes(b"")
        >>> sha256(Path("e.txt"))[:16]
        'e3b0c44298fc1c14'
    """
    h = hashlib.sha256()
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    for f in files:
        if path.is_dir():
            h.update(f.relative_to(path).as_posix().encode())
        with f.open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
    return h.hexdigest()


def expand(inputs: list[str | Path]) -> list[tuple[Path, str]]:
    """``(path, kind)`` of every input: ``revman`` (a .rm5 file, a data package) or
    ``table`` (CSV / Parquet); folders are searched recursively for RevMan inputs.

    Examples:
        >>> from pathlib import Path
        >>> from bayesmeta.corpus.sources import expand
        >>> Path("reviews/sub").mkdir(parents=True)
        >>> _ = Path("reviews/sub/a.rm5").write_text("<COCHRANE_REVIEW/>")
        >>> _ = Path("t.csv").write_text("analysis,study,yi,vi\\n")
        >>> [(p.as_posix(), kind) for p, kind in expand(["reviews", "t.csv"])]
        [('reviews/sub/a.rm5', 'revman'), ('t.csv', 'table')]
    """
    out: list[tuple[Path, str]] = []
    for raw in inputs:
        p = Path(raw)
        if not p.exists():
            raise InputError("file not found", file=str(p))
        if p.is_dir():
            roots = {q.parent.parent if q.parent.name.endswith("-analysis-data") else q.parent
                     for q in p.rglob("*-overall-estimates-and-settings.csv")}  # fmt: skip
            files = [q for q in p.rglob("*") if q.is_file()
                     and q.suffix.lower() in (".rm5", ".zip")
                     and not any(r in q.parents for r in roots)]  # fmt: skip
            out += [(q, "revman") for q in sorted(files + list(roots))]
        elif p.suffix.lower() in (".csv", ".parquet", ".pq"):
            out.append((p, "table"))
        else:
            out.append((p, "revman"))
    return out


def from_revman(path: Path) -> list[Analysis]:
    """The outcomes of a RevMan file or data package (module docstring).

    Examples:
        >>> from pathlib import Path
        >>> from bayesmeta.corpus.sources import from_revman
        >>> _ = Path("r.rm5").write_text(
        ...     '<COCHRANE_REVIEW><ANALYSES_AND_DATA><COMPARISON NO="1"><CONT_OUTCOME NO="1" '
        ...     'METHOD="IV" EFFECT_MEASURE="MD" RANDOM="NO" EFFECT_SIZE="-1.0"><NAME>Pain</NAME>'
        ...     '<CONT_DATA STUDY_ID="STD-A" MEAN_1="5" SD_1="2" TOTAL_1="10" MEAN_2="6" SD_2="2" '
        ...     'TOTAL_2="12"/></CONT_OUTCOME></COMPARISON></ANALYSES_AND_DATA></COCHRANE_REVIEW>')
        >>> a = from_revman(Path("r.rm5"))[0]
        >>> a.analysis, a.k, a.stored["estimate"], a.classical["estimate"]
        ('1.1', 1, -1.0, -1.0)
    """
    from bayesmeta.io import compare_all, read_revman
    from bayesmeta.io.revman import study_estimates

    analyses = read_revman(path)
    entries = {(e["comparison"], e["outcome"]): e for e in compare_all(analyses)
               if e["subgroup"] is None}  # fmt: skip
    out = []
    for a in analyses:
        e = entries[(a.comparison, a.outcome)]
        status = "ok" if e["match"] is not None else str(e.get("skipped") or "skipped")
        yi = vi = np.zeros(0)
        ni = None
        if not a.studies.empty and status == "ok":
            with np.errstate(all="ignore"):
                y, v = study_estimates(a)
            ok = np.isfinite(y) & np.isfinite(v) & (v > 0)
            yi, vi = y[ok], v[ok]
            if {"total_1", "total_2"} <= set(a.studies.columns):
                n = (a.studies["total_1"] + a.studies["total_2"]).to_numpy(float)[ok]
                ni = n if np.all(np.isfinite(n) & (n > 0)) else None
        ratio = a.ratio

        def scaled(d: dict[str, Any], key: str, ratio: bool = ratio) -> float:
            v = d.get(key)
            if v is None or (ratio and not v > 0):
                return float("nan")
            return math.log(v) if ratio else float(v)

        st, rc = e["stored"], e["recomputed"]
        settings = a.settings or {}
        method = a.method + ("" if a.model == "fixed" else
                             f", {settings.get('estimator', 'DL')}")  # fmt: skip
        if settings.get("ci_method") == "hksj":
            method += ", HKSJ"
        out.append(Analysis(
            source=str(path), analysis=f"{a.comparison}.{a.outcome}", name=a.name,
            data_type=a.data_type, measure=a.measure or None, yi=yi, vi=vi, ni=ni,
            status=status if (status != "ok" or yi.size) else "no estimable study",
            stored={"estimate": scaled(st, "estimate"), "ci_low": scaled(st, "ci_low"),
                    "ci_high": scaled(st, "ci_high"), "method": method, "model": a.model},
            classical={"estimate": scaled(rc, "estimate"), "ci_low": scaled(rc, "ci_low"),
                       "ci_high": scaled(rc, "ci_high")},
        ))  # fmt: skip
    return out


def _read_table(path: Path) -> pd.DataFrame:
    if path.suffix.lower() in (".parquet", ".pq"):
        try:
            return pd.read_parquet(path)
        except (OSError, ValueError) as exc:
            raise InputError(f"not a readable Parquet file ({exc})", file=str(path)) from None
    from bayesmeta.studies import read_table

    return read_table(path)


def from_table(path: Path, measure: str | None = None) -> list[Analysis]:
    """The analyses of a long table (module docstring).

    Examples:
        >>> from pathlib import Path
        >>> from bayesmeta.corpus.sources import from_table
        >>> _ = Path("t.csv").write_text("analysis,study,yi,sei\\nA,1,0.2,0.1\\nA,2,0.4,0.2\\n")
        >>> a = from_table(Path("t.csv"))[0]
        >>> a.analysis, a.k, a.vi.round(4).tolist()
        ('A', 2, [0.01, 0.04])
    """
    from bayesmeta.effects import compute
    from bayesmeta.studies import label_column, numeric_column

    df = _read_table(path)
    src = str(path)
    if df.empty:
        raise InputError("empty table: no rows", file=src)
    for col in ("analysis", "study"):
        if col not in df.columns:
            raise InputError(f"missing required column '{col}'", file=src, column=col)
    ana = label_column(df, "analysis", file=src)
    study = label_column(df, "study", file=src)
    pairs = pd.DataFrame({"a": ana, "s": study})
    dup = np.flatnonzero(pairs.duplicated().to_numpy())
    if dup.size:
        i = int(dup[0])
        same = (pairs["a"] == ana[i]) & (pairs["s"] == study[i])
        earlier = int(np.flatnonzero(same.to_numpy())[0])
        raise InputError(f"duplicate study '{study[i]}' in analysis '{ana[i]}' (also row "
                         f"{earlier + 1})", file=src, row=i + 1, column="study")  # fmt: skip
    if "measure" in df.columns:
        meas = label_column(df, "measure", file=src)
        first: dict[str, tuple[str, int]] = {}
        for i, (a, m) in enumerate(zip(ana, meas, strict=True)):
            if a in first and first[a][0].upper() != m.upper():
                raise InputError(f"analysis '{a}' mixes measures {first[a][0]} (row "
                                 f"{first[a][1]}) and {m}", file=src, row=i + 1,
                                 column="measure")  # fmt: skip
            first.setdefault(a, (m, i + 1))
        meas = np.array([m.upper() for m in meas], dtype=object)
    else:
        meas = np.full(len(df), (measure or "").upper() or None, dtype=object)
    has_es = "yi" in df.columns and ("vi" in df.columns or "sei" in df.columns)
    yi = np.full(len(df), np.nan)
    vi = np.full(len(df), np.nan)
    if has_es:
        yi = numeric_column(df, "yi", file=src)
        vi = (numeric_column(df, "vi", file=src, positive=True) if "vi" in df.columns
              else numeric_column(df, "sei", file=src, positive=True) ** 2)  # fmt: skip
    else:
        for m in sorted({str(x) for x in meas if x}):
            rows = np.flatnonzero(meas == m)
            part = df.iloc[rows].reset_index(drop=True)
            try:
                es = compute(part, m, source=src)
            except InputError as err:
                row = None if err.row is None else int(rows[err.row - 1]) + 1
                raise InputError(err.message, file=src, row=row, column=err.column) from None
            keep = np.ones(len(part), bool)
            for r in es.attrs.get("dropped_rows", []):
                keep[r - 1] = False
            yi[rows[keep]] = es["yi"].to_numpy(float)
            vi[rows[keep]] = es["vi"].to_numpy(float)
        if not any(meas):
            raise InputError("no yi/vi (or sei) columns and no measure for raw columns "
                             "(give --measure or a 'measure' column)", file=src)  # fmt: skip
    ni = numeric_column(df, "ni", file=src, positive=True) if "ni" in df.columns else None
    carried = [c for c in df.columns if c not in TABLE_COLUMNS
               and (has_es or c not in _raw_columns())]  # fmt: skip
    codes, names = pd.factorize(pd.Series(ana), sort=False)  # analyses in first-seen order
    order = np.argsort(codes, kind="stable")
    bounds = np.searchsorted(codes[order], np.arange(len(names) + 1))
    good = np.isfinite(yi) & np.isfinite(vi) & (vi > 0)
    out = []
    for j, a in enumerate(names):
        rows = order[bounds[j] : bounds[j + 1]]
        ok = rows[good[rows]]
        m = meas[rows[0]]
        out.append(Analysis(
            source=src, analysis=str(a), name=str(a),
            data_type="effect sizes" if has_es else "raw columns", measure=m or None,
            yi=yi[ok], vi=vi[ok], ni=None if ni is None else ni[ok],
            status="ok" if ok.size else "no estimable study",
            extra={c: df[c].iloc[rows[0]] for c in carried},
        ))  # fmt: skip
    return out


def _raw_columns() -> set[str]:
    from bayesmeta.effects import COLUMNS

    return {c for cols in COLUMNS.values() for c in cols} | {"bi", "di", "n", "r"}
