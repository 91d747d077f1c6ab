"""One way in for every command: a CSV file or a shipped data set, effect sizes or raw columns.

`load_studies()` is what ``pool``, ``posterior``, ``sensitivity`` and ``effects`` call:

* ``source`` is a CSV path, or the name of a shipped data set (``bayesmeta datasets``); a
  shipped set's sidecar ``[analysis]`` table declares its measure and its column roles, so
  ``bayesmeta pool crins2014`` runs as it stands;
* ``measure`` (one of `bayesmeta.effects.MEASURES`) computes ``yi``/``vi`` from raw columns
  with metafor ``escalc``'s names (``m1i``, ``sd1i``, ``n1i``, ``ai``, ``ci``, ...); when
  the table already has ``yi`` and ``vi`` (or ``sei``) and no raw column is mapped, it only
  names their scale (a log-ratio measure selects the log-ratio default priors);
* ``columns`` maps a role to the file's own column: the escalc roles, and ``study``, ``yi``,
  ``vi``, ``sei`` and ``ni`` (sample size, which feeds the default priors).

Sample sizes for the default priors come from ``ni``, or from the raw group sizes
(``n1i + n2i``, ``n``, ``n_t + n_c``). Every problem is one `InputError` naming the file,
the 1-based row and the column.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bayesmeta.errors import InputError
from bayesmeta.studies import StudyTable, numeric_column, read_table, with_line

#: Column roles that rename a column of the table rather than feed an effect size.
TABLE_ROLES = ("study", "yi", "vi", "sei", "ni")

#: Raw columns whose sum is the sample size of a study, by measure (first match wins).
_SAMPLE_SIZES: dict[str, tuple[tuple[str, ...], ...]] = {
    "MD": (("n1i", "n2i"),),
    "SMD": (("n1i", "n2i"),),
    "OR": (("n1i", "n2i"), ("ai", "bi", "ci", "di")),
    "RR": (("n1i", "n2i"), ("ai", "bi", "ci", "di")),
    "RD": (("n1i", "n2i"), ("ai", "bi", "ci", "di")),
    "PLO": (("ni",), ("xi", "mi")),
    "PR": (("ni",), ("xi", "mi")),
    "BA": (("n_post",), ("n",)),
    "MC": (("n",),),
    "SMCR": (("n",),),
    "PPC": (("n_t", "n_c"),),
}


def parse_columns(text: str | None, *, option: str = "--columns") -> dict[str, str]:
    """``"ai=events_t,n1i=total_t"`` -> ``{"ai": "events_t", "n1i": "total_t"}``.

    Examples:
        >>> from bayesmeta.inputs import parse_columns
        >>> parse_columns("m1i=mean_t, sd1i = sd_t")
        {'m1i': 'mean_t', 'sd1i': 'sd_t'}
        >>> parse_columns("m1i")
        Traceback (most recent call last):
        ...
        bayesmeta.errors.InputError: option --columns: 'm1i' is not ROLE=COLUMN
    """
    out: dict[str, str] = {}
    if not text:
        return out
    for part in text.split(","):
        if not part.strip():
            continue
        role, sep, col = part.partition("=")
        if not sep or not role.strip() or not col.strip():
            raise InputError(f"option {option}: {part.strip()!r} is not ROLE=COLUMN")
        out[role.strip()] = col.strip()
    return out


def resolve_source(source: str | Path) -> tuple[pd.DataFrame, str, dict[str, Any]]:
    """``(frame, name for messages, analysis defaults)`` of a CSV path or shipped data set.

    A path that exists is read as a CSV; otherwise a shipped data set of that name is
    loaded with its sidecar's ``[analysis]`` table. Neither: one line listing the shipped
    names.
    """
    from bayesmeta import datasets

    path = Path(source)
    if path.exists() or path.suffix.lower() == ".csv" or len(path.parts) > 1:
        return read_table(path), str(path), {}
    try:
        df = datasets.load(str(source))
    except InputError:
        names = ", ".join(datasets.names())
        raise InputError(
            f"no such file, and not a shipped data set (shipped: {names})", file=str(source)
        ) from None
    meta = df.attrs["provenance"]
    analysis = dict(meta.get("analysis", {}))
    name = datasets.canonical(str(source))
    if analysis.get("runnable") is False:
        raise InputError(
            f"shipped data set without study effect sizes: {analysis.get('reason', '')}".rstrip(),
            file=name,
        )
    return df, name, analysis


def load_studies(
    source: str | Path,
    *,
    measure: str | None = None,
    columns: Mapping[str, str] | None = None,
    subgroup: str | None = None,
    cluster: str | None = None,
    covariates: Sequence[str] = (),
    options: Mapping[str, Any] | None = None,
) -> StudyTable:
    """A validated `StudyTable` from a CSV path or a shipped data set (see module docstring).

    ``measure`` and ``columns`` given here override a shipped set's ``[analysis]``
    defaults; ``options`` go to the effect-size function (``variance`` for MD; ``add``,
    ``to``, ``drop00`` for 2x2 measures).

    Examples:
        >>> from bayesmeta.inputs import load_studies
        >>> t = load_studies("crins2014")
        >>> t.k, t.measure, t.study[0], round(float(t.yi[0]), 4), int(t.ni[0])
        (6, 'OR', 'Heffron (2003)', -2.3097, 81)
        >>> load_studies("rubin1981").study.tolist()[:3]
        ['A', 'B', 'C']
    """
    df, name, analysis = resolve_source(source)
    lines = df.attrs.get("lines")
    try:
        return _load(df, name, analysis, measure, columns, subgroup, cluster, covariates, options)
    except InputError as err:
        raise with_line(err, lines) from None


def _load(
    df: pd.DataFrame,
    name: str,
    analysis: Mapping[str, Any],
    measure: str | None,
    columns: Mapping[str, str] | None,
    subgroup: str | None,
    cluster: str | None,
    covariates: Sequence[str],
    options: Mapping[str, Any] | None,
) -> StudyTable:
    from bayesmeta.effects import COLUMNS, MEASURES, compute

    colmap = dict(analysis.get("columns", {}))
    colmap.update(columns or {})
    if measure is None:
        measure = analysis.get("measure")
    opts = dict(analysis.get("options", {}))
    opts.update(options or {})
    for role, col in colmap.items():
        if col not in df.columns:
            raise InputError(
                f"column '{col}' (given for {role}) is not in the file; "
                f"its columns: {', '.join(map(str, df.columns))}",
                file=name,
                column=col,
            )
    key = None if measure is None else str(measure).strip().upper()
    if key is not None and key not in MEASURES:
        raise InputError(f"unknown measure '{measure}'; valid: {', '.join(MEASURES)}", file=name)
    # 'ni' is both the table's sample size and a single-group measure's group size (PLO, PR)
    raw_roles = set(COLUMNS.get(key or "", ()))
    table_map = {r: c for r, c in colmap.items() if r in TABLE_ROLES}
    effect_map = {r: c for r, c in colmap.items() if r not in TABLE_ROLES or r in raw_roles}
    if key is not None:
        yi_col = table_map.get("yi", "yi")
        given = yi_col in df.columns and any(
            table_map.get(r, r) in df.columns for r in ("vi", "sei")
        )
        if given and not effect_map:  # yi/vi given: --measure only names their scale
            key_only = True
        else:
            key_only = False
            df = compute(df, key, columns=effect_map, source=name, **opts)
        if not key_only:
            for role in ("yi", "vi", "sei"):
                table_map.pop(role, None)
        if not key_only and "ni" not in table_map and "ni" not in df.columns:
            ni = _sample_size(df, key, effect_map, name)
            if ni is not None:
                df["ni"] = ni
    elif effect_map:
        raise InputError(
            f"column roles {', '.join(sorted(effect_map))} need --measure "
            f"(one of {', '.join(MEASURES)})",
            file=name,
        )
    rename = {col: role for role, col in table_map.items() if col != role}
    if rename:
        clash = [role for role in rename.values() if role in df.columns]
        df = df.drop(columns=clash).rename(columns=rename)
    keep = df.attrs.copy()
    df = df.reset_index(drop=True)
    df.attrs = keep
    return StudyTable.from_frame(
        df,
        source=name,
        subgroup=subgroup,
        cluster=cluster,
        covariates=covariates,
        measure=key,
    )


def _sample_size(
    df: pd.DataFrame, measure: str, effect_map: Mapping[str, str], file: str
) -> np.ndarray | None:
    """Total sample size per row from the raw group sizes, or None if they are absent."""
    for roles in _SAMPLE_SIZES.get(measure, ()):
        cols = [effect_map.get(r, r) for r in roles]
        if all(c in df.columns for c in cols):
            return np.sum([numeric_column(df, c, file=file) for c in cols], axis=0)
    return None


def load_tables(
    source: str | Path,
    *,
    measure: str | None = None,
    columns: Mapping[str, str] | None = None,
    subgroup: str | None = None,
) -> tuple[pd.DataFrame, str]:
    """The 2x2 tables of a CSV or shipped data set, for Mantel-Haenszel and Peto pooling:
    a frame with ``study``, ``ai``, ``bi``, ``ci``, ``di`` (and ``subgroup``) and the measure
    (OR, RR or RD; default the sidecar's, else OR). Columns as `load_studies` (``ai``, ``ci``
    and ``n1i``/``n2i`` or ``bi``/``di``, metafor names; ``columns`` maps them to yours).

    Examples:
        >>> from bayesmeta.inputs import load_tables
        >>> df, m = load_tables("crins2014")
        >>> m, df.loc[0, ["ai", "bi", "ci", "di"]].tolist()
        ('OR', [14.0, 47.0, 15.0, 5.0])
    """
    from bayesmeta.effects import _table
    from bayesmeta.studies import label_column

    df, name, analysis = resolve_source(source)
    colmap = dict(analysis.get("columns", {}))
    colmap.update(columns or {})
    key = str(measure or analysis.get("measure") or "OR").strip().upper()
    if key not in ("OR", "RR", "RD"):
        raise InputError(
            f"Mantel-Haenszel and Peto pool 2x2 tables: --measure must be OR, RR or RD, not {key}",
            file=name,
        )

    def col(role: str) -> str:
        return colmap.get(role, role)

    try:
        got = {}
        for role in ("ai", "ci", "bi", "di", "n1i", "n2i"):
            if col(role) in df.columns:
                got[role] = numeric_column(df, col(role), file=name)
        if "ai" not in got or "ci" not in got:
            missing = col("ai") if "ai" not in got else col("ci")
            raise InputError(f"missing required column '{missing}' (2x2 counts)", column=missing)
        a, b, c, d = _table(got["ai"], got.get("bi"), got["ci"], got.get("di"),
                            got.get("n1i"), got.get("n2i"))  # fmt: skip
    except InputError as err:
        raise InputError(err.message, file=name, row=err.row,
                         column=col(err.column) if err.column else None) from None  # fmt: skip
    study_col = col("study")
    study = label_column(df, study_col, file=name) if study_col in df.columns else None
    out = pd.DataFrame({"study": study if study is not None else np.arange(1, len(df) + 1)})
    out["ai"], out["bi"], out["ci"], out["di"] = a, b, c, d
    if subgroup:
        out["subgroup"] = label_column(df, subgroup, file=name)
    return out, key


def load_rates(
    source: str | Path,
    *,
    columns: Mapping[str, str] | None = None,
    subgroup: str | None = None,
) -> pd.DataFrame:
    """Single-group counts for binomial rate models: ``study``, ``xi`` (events) and ``ni``
    (group size; or ``mi`` non-events), metafor names, ``columns`` mapping them to yours;
    with ``subgroup`` (a column name) also a ``subgroup`` column of labels.

    Examples:
        >>> from pathlib import Path
        >>> from bayesmeta.inputs import load_rates
        >>> _ = Path("r.csv").write_text("trial,x,n\\nA,3,20\\nB,0,15\\n")
        >>> load_rates("r.csv", columns={"xi": "x", "ni": "n", "study": "trial"}).values.tolist()
        [['A', 3.0, 20.0], ['B', 0.0, 15.0]]
    """
    from bayesmeta.effects import _proportion
    from bayesmeta.studies import label_column

    df, name, analysis = resolve_source(source)
    colmap = dict(analysis.get("columns", {}))
    colmap.update(columns or {})

    def col(role: str) -> str:
        return colmap.get(role, role)

    try:
        if col("xi") not in df.columns:
            raise InputError(f"missing required column '{col('xi')}' (events)", column=col("xi"))
        xi = numeric_column(df, col("xi"), file=name)
        ni = numeric_column(df, col("ni"), file=name) if col("ni") in df.columns else None
        mi = numeric_column(df, col("mi"), file=name) if col("mi") in df.columns else None
        _proportion("PR", xi, ni, mi, 0.5, "only0")  # validates the counts
    except InputError as err:
        raise InputError(err.message, file=name, row=err.row,
                         column=col(err.column) if err.column else None) from None  # fmt: skip
    n = ni if ni is not None else xi + (mi if mi is not None else 0)
    study = (label_column(df, col("study"), file=name) if col("study") in df.columns
             else np.array([str(i + 1) for i in range(len(df))], dtype=object))  # fmt: skip
    out = pd.DataFrame({"study": study, "xi": xi, "ni": n})
    if subgroup is not None:
        if subgroup not in df.columns:
            raise InputError(f"no column '{subgroup}' (option --subgroup)", file=name,
                             column=subgroup)  # fmt: skip
        out["subgroup"] = label_column(df, subgroup, file=name)
    return out
