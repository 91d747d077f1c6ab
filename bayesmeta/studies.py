"""The validated study table: one row per study (or arm), metafor's ``yi``/``vi`` names.

Required columns: ``study`` and ``yi`` and one of ``vi`` (sampling variance) or
``sei`` (standard error; ``vi = sei**2``). Optional: ``ni`` (sample size, for the default
priors), a subgroup column, a ``cluster`` column (arms that belong to one study) and
covariate columns.
Every problem raises `bayesmeta.errors.InputError` naming file, row
(1-based data row) and column.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from bayesmeta.errors import InputError


def read_table(path: str | Path) -> pd.DataFrame:
    """Read a CSV into a DataFrame, with a one-line `InputError` if it cannot be read.

    pandas infers the column types; spaces after the commas are skipped and the header
    names are stripped. Raises `InputError` for a missing, empty or malformed file.

    Examples:
        >>> from pathlib import Path
        >>> from bayesmeta.studies import read_table
        >>> _ = Path("s.csv").write_text("study, yi, vi\\nA, 0.1, 0.04\\nB, 0.3, 0.09\\n")
        >>> df = read_table("s.csv")
        >>> list(df.columns), df["vi"].tolist()
        (['study', 'yi', 'vi'], [0.04, 0.09])
    """
    path = Path(path)
    if not path.exists():
        raise InputError("file not found", file=str(path))
    if path.is_dir():
        raise InputError("is a folder, not a CSV file", file=str(path))
    lines = _check_fields(path)
    try:
        df = pd.read_csv(path, skipinitialspace=True, index_col=False)
    except pd.errors.EmptyDataError:
        raise InputError("empty file: no header and no rows", file=str(path)) from None
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        first = str(exc).strip().splitlines()[0]
        raise InputError(f"not a readable CSV ({first})", file=str(path)) from None
    df.columns = [str(c).strip() for c in df.columns]
    if lines is not None and len(lines) == len(df):
        df.attrs["lines"] = lines  # file line of each data row (blank lines skipped)
    return df


def with_line(err: InputError, lines: Sequence[int] | None) -> InputError:
    """``err`` with the file line of its row added, when blank lines shift it.

    Examples:
        >>> from bayesmeta.errors import InputError
        >>> from bayesmeta.studies import with_line
        >>> print(with_line(InputError("bad", file="d.csv", row=3, column="vi"), [2, 4, 6]))
        d.csv, row 3 (line 6), column 'vi': bad
    """
    if not lines or err.row is None or err.line is not None or not 0 < err.row <= len(lines):
        return err
    return InputError(err.message, file=err.file, row=err.row, column=err.column,
                      line=lines[err.row - 1])  # fmt: skip


def _check_fields(path: Path) -> list[int] | None:
    """Every data row has as many fields as the header, and no header name repeats.

    pandas would otherwise read a row with one field too many shifted (the first field as
    the index) and rename a repeated column silently. Returns the file line of each data row
    when blank lines make it differ from row + 1 (else None).
    """
    import csv

    try:
        with path.open(newline="", encoding="utf-8-sig") as fh:
            rows = csv.reader(fh, skipinitialspace=True)
            header = next(rows, None)
            if header is None:
                return None
            names = [h.strip() for h in header]
            seen: dict[str, int] = {}
            for j, name in enumerate(names):
                if name in seen and name:
                    raise InputError(
                        f"header names column '{name}' twice (fields {seen[name]} and {j + 1})",
                        file=str(path),
                        column=name,
                    )
                seen[name] = j + 1
            row, width = 0, len(header)
            lines: list[int] = []
            shifted = False
            for fields in rows:
                if len(fields) == width:  # the common case first: a full row
                    row += 1
                    lines.append(rows.line_num)
                    continue
                if not fields or all(not f.strip() for f in fields):
                    shifted = True
                    continue  # blank lines are skipped, as pandas does
                row += 1
                if len(fields) != width:
                    raise InputError(
                        f"{len(fields)} fields where the header has {len(header)}",
                        file=str(path),
                        row=row,
                        line=rows.line_num if shifted else None,
                    )
            return lines if shifted else None
    except UnicodeDecodeError:
        return None  # pandas reports the encoding problem below
    except csv.Error as exc:
        raise InputError(f"not a readable CSV ({exc})", file=str(path)) from None


def numeric_column(
    df: pd.DataFrame,
    column: str,
    *,
    file: str | None = None,
    positive: bool = False,
    nonnegative: bool = False,
    allow_missing: bool = False,
) -> np.ndarray:
    """Column ``column`` as float64; `InputError` at the first bad cell (row is 1-based).

    A cell is bad if it is missing (unless ``allow_missing``, then it becomes NaN), not a
    finite number, or breaks ``positive`` (> 0) / ``nonnegative`` (>= 0); all checks are off
    by default. A missing column is an error too.

    Examples:
        >>> import pandas as pd
        >>> from bayesmeta.studies import numeric_column
        >>> df = pd.DataFrame({"vi": ["0.04", "0.09", "-1"]})
        >>> numeric_column(df, "vi").tolist()
        [0.04, 0.09, -1.0]
        >>> numeric_column(df, "vi", file="s.csv", positive=True)
        Traceback (most recent call last):
        ...
        bayesmeta.errors.InputError: s.csv, row 3, column 'vi': must be > 0 (got -1)
    """
    if column not in df.columns:
        raise InputError(f"missing required column '{column}'", file=file, column=column)
    raw = df[column]
    values = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=float)
    bad = ~np.isfinite(values)
    if positive:
        bad |= ~(values > 0)
    if nonnegative:
        bad |= ~(values >= 0)
    if allow_missing and bad.any():
        text = raw.astype(str).str.strip()
        missing = raw.isna().to_numpy() | (text == "").to_numpy()
        bad &= ~missing
    if not bad.any():  # vectorised check; the loop below only words the first bad cell
        return values
    i = int(np.flatnonzero(bad)[0])
    r, v = raw.iloc[i], values[i]
    if r is None or (isinstance(r, float) and np.isnan(r)) or str(r).strip() == "":
        raise InputError(
            "empty cell (NaN): a number is required", file=file, row=i + 1, column=column
        )
    if not np.isfinite(v):
        raise InputError(f"not a finite number: {r!r}", file=file, row=i + 1, column=column)
    if positive and not v > 0:
        raise InputError(f"must be > 0 (got {r})", file=file, row=i + 1, column=column)
    raise InputError(f"must be >= 0 (got {r})", file=file, row=i + 1, column=column)


#: The magnitudes every engine computes with in double precision: |yi| <= MAX_ABS_Y and
#: MIN_VI <= vi <= MAX_VI (so weights 1/vi, their squares and yi^2 / vi stay finite).
MAX_ABS_Y, MIN_VI, MAX_VI = 1e150, 1e-150, 1e150


def check_magnitudes(
    y: np.ndarray,
    v: np.ndarray,
    *,
    file: str | None = None,
    ycol: str = "yi",
    vcol: str = "vi",
    se: bool = False,
) -> None:
    """InputError at the first effect or variance outside what double precision carries
    through the computations (`MAX_ABS_Y`, `MIN_VI`, `MAX_VI`); ``se=True`` reports ``v`` as
    standard errors (``vcol`` then names the SE column and the limits are square roots).

    Examples:
        >>> import numpy as np
        >>> from bayesmeta.studies import check_magnitudes
        >>> check_magnitudes(np.array([0.1, 1e300]), np.array([0.01, 0.02]), file="d.csv")
        ... # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        bayesmeta.errors.InputError: d.csv, row 2, column 'yi': 1e+300 is too large ...
    """
    hint = "; rescale the data (other units)"
    bad = np.flatnonzero(~(np.abs(y) <= MAX_ABS_Y))
    if bad.size:
        i = int(bad[0])
        raise InputError(
            f"{y[i]:g} is too large to compute with (|{ycol}| must be <= {MAX_ABS_Y:g}){hint}",
            file=file, row=i + 1, column=ycol,
        )  # fmt: skip
    lo, hi = (np.sqrt(MIN_VI), np.sqrt(MAX_VI)) if se else (MIN_VI, MAX_VI)
    bad = np.flatnonzero(~((v >= lo) & (v <= hi)))
    if bad.size:
        i = int(bad[0])
        what = "too small" if v[i] < lo else "too large"
        raise InputError(
            f"{v[i]:g} is {what} to compute with ({vcol} must lie in [{lo:g}, {hi:g}]){hint}",
            file=file, row=i + 1, column=vcol,
        )  # fmt: skip


def label_column(df: pd.DataFrame, column: str, *, file: str | None = None) -> np.ndarray:
    """A label column as an object array of stripped strings; empty cells are an error.

    Whole floats lose their ``.0`` (pandas reads a numeric label column with a gap as
    float), so labels ``1, 2`` stay ``"1", "2"``.

    Examples:
        >>> import pandas as pd
        >>> from bayesmeta.studies import label_column
        >>> label_column(pd.DataFrame({"study": [1.0, 2.0, " C "]}), "study").tolist()
        ['1', '2', 'C']
    """
    if column not in df.columns:
        raise InputError(f"missing required column '{column}'", file=file, column=column)
    col = df[column]
    if pd.api.types.infer_dtype(col, skipna=False) == "string":  # all str: vectorised
        text = col.str.strip()
        empty = (text.isna() | (text == "")).to_numpy()  # pandas 3 str columns hold NaN
        if not empty.any():
            return text.to_numpy(dtype=object)
    out = []
    for i, v in enumerate(col.tolist()):
        if v is None or (isinstance(v, float) and np.isnan(v)) or str(v).strip() == "":
            raise InputError("empty cell: a label is required", file=file, row=i + 1, column=column)
        if isinstance(v, float) and v.is_integer():
            v = int(v)
        out.append(str(v).strip())
    return np.asarray(out, dtype=object)


def _rows(n: int) -> str:
    return f"{n} row" if n == 1 else f"{n} rows"


@dataclass(frozen=True)
class StudyTable:
    """Validated effect sizes ``yi`` with sampling variances ``vi``, one per study/arm.

    Build one with `StudyTable.from_arrays`, `StudyTable.from_frame` or
    `StudyTable.read_csv`, which check every cell: study labels non-empty and unique,
    ``yi`` finite, ``vi`` (or ``sei``, then ``vi = sei**2``) finite and > 0. ``subgroup``
    and ``cluster`` are label arrays (default None), ``covariates`` a numeric DataFrame
    (default empty), ``source`` the file name and ``variance`` says where ``vi`` came from.

    Examples:
        >>> from bayesmeta.studies import StudyTable
        >>> t = StudyTable.from_arrays([0.1, 0.3, -0.2], sei=[0.2, 0.3, 0.25])
        >>> t.k, t.study.tolist(), t.vi.round(4).tolist(), t.variance
        (3, ['1', '2', '3'], [0.04, 0.09, 0.0625], 'vi = sei^2')
        >>> t.subset(t.yi > 0).to_frame()
          study   yi    vi
        0     1  0.1  0.04
        1     2  0.3  0.09
    """

    study: np.ndarray
    yi: np.ndarray
    vi: np.ndarray
    subgroup: np.ndarray | None = None
    cluster: np.ndarray | None = None
    covariates: pd.DataFrame = field(default_factory=pd.DataFrame)
    source: str | None = None
    variance: str = "vi as given"
    ni: np.ndarray | None = None
    measure: str | None = None

    @property
    def k(self) -> int:
        """Number of rows (studies or arms)."""
        return int(self.yi.size)

    @property
    def sei(self) -> np.ndarray:
        """Standard errors ``sqrt(vi)``."""
        return np.sqrt(self.vi)

    def subset(self, mask: np.ndarray) -> StudyTable:
        """The rows where the boolean ``mask`` is True (all columns, same settings)."""
        mask = np.asarray(mask, dtype=bool)
        return StudyTable(
            study=self.study[mask],
            yi=self.yi[mask],
            vi=self.vi[mask],
            subgroup=None if self.subgroup is None else self.subgroup[mask],
            cluster=None if self.cluster is None else self.cluster[mask],
            covariates=self.covariates.loc[mask].reset_index(drop=True),
            source=self.source,
            variance=self.variance,
            ni=None if self.ni is None else self.ni[mask],
            measure=self.measure,
        )

    def _header(self) -> str:
        """One line: k, measure, where vi came from, source and the optional columns."""
        extra = [n for n, v in (("ni", self.ni), ("subgroup", self.subgroup),
                                ("cluster", self.cluster)) if v is not None]  # fmt: skip
        extra += [str(c) for c in self.covariates.columns]
        parts = [f"k = {self.k}", f"measure {self.measure or 'not given'}", self.variance]
        if self.source:
            parts.append(f"from {self.source}")
        cols = ", ".join(["study", "yi", "vi", *extra])
        return f"StudyTable({'; '.join(parts)}; columns: {cols})"

    def _head(self, n: int) -> pd.DataFrame:
        return self.to_frame().head(n)

    def __repr__(self) -> str:
        """A short summary: k, measure, columns and the first 5 rows (not the arrays).

        Examples:
            >>> from bayesmeta.studies import StudyTable
            >>> StudyTable.from_arrays([0.1, 0.3], sei=[0.2, 0.3], measure="MD")
            StudyTable(k = 2; measure MD; vi = sei^2; columns: study, yi, vi)
              study   yi    vi
            0     1  0.1  0.04
            1     2  0.3  0.09
        """
        n = 5
        body = self._head(n).to_string()
        more = f"\n... {_rows(self.k - n)} more" if self.k > n else ""
        return f"{self._header()}\n{body}{more}"

    def _repr_html_(self) -> str:
        """The same summary as an HTML table, for notebooks."""
        import html

        n = 10
        more = f"<p>&hellip; {_rows(self.k - n)} more</p>" if self.k > n else ""
        table = self._head(n).to_html(index=False, float_format=lambda x: f"{x:.4g}")
        return f"<p><b>{html.escape(self._header())}</b></p>{table}{more}"

    def to_frame(self) -> pd.DataFrame:
        """``study``, ``yi``, ``vi``, then ``subgroup``/``cluster`` if set, then covariates."""
        df = pd.DataFrame({"study": self.study, "yi": self.yi, "vi": self.vi})
        if self.ni is not None:
            df["ni"] = self.ni
        if self.subgroup is not None:
            df["subgroup"] = self.subgroup
        if self.cluster is not None:
            df["cluster"] = self.cluster
        return pd.concat([df, self.covariates.reset_index(drop=True)], axis=1)

    @classmethod
    def from_arrays(
        cls,
        yi: Sequence[float] | np.ndarray,
        vi: Sequence[float] | np.ndarray | None = None,
        *,
        sei: Sequence[float] | np.ndarray | None = None,
        study: Sequence[str] | np.ndarray | pd.Series | None = None,
        subgroup: Sequence[str] | np.ndarray | pd.Series | None = None,
        ni: Sequence[float] | np.ndarray | pd.Series | None = None,
        measure: str | None = None,
    ) -> StudyTable:
        """Build from arrays (validated like a file).

        Give ``vi`` or ``sei``. ``study`` defaults to ``"1"``, ``"2"``, ...; ``subgroup``
        (default None) is one label per row; ``ni`` (sample sizes) and ``measure`` (effect
        measure code) are optional and select the default priors (`bayesmeta.defaults`).
        """
        yi_arr = np.asarray(yi, dtype=float)
        data: dict[str, object] = {"yi": yi_arr}
        n = len(yi_arr)
        data["study"] = list(study) if study is not None else [str(i + 1) for i in range(n)]
        if vi is not None:
            data["vi"] = np.asarray(vi, dtype=float)
        if sei is not None:
            data["sei"] = np.asarray(sei, dtype=float)
        if subgroup is not None:
            data["subgroup"] = list(subgroup)
        if ni is not None:
            data["ni"] = np.asarray(ni, dtype=float)
        return cls.from_frame(
            pd.DataFrame(data),
            subgroup="subgroup" if subgroup is not None else None,
            measure=measure,
        )

    @classmethod
    def from_frame(
        cls,
        df: pd.DataFrame,
        *,
        source: str | None = None,
        subgroup: str | None = None,
        cluster: str | None = None,
        covariates: Sequence[str] = (),
        measure: str | None = None,
    ) -> StudyTable:
        """Validate a DataFrame with ``study``, ``yi`` and ``vi`` or ``sei``.

        ``subgroup`` and ``cluster`` name label columns, ``covariates`` numeric columns
        (all optional); ``source`` is the file name used in error messages. ``vi`` wins
        when both ``vi`` and ``sei`` are present. An ``ni`` column (sample size per study,
        optional) and ``measure`` feed the default priors (`bayesmeta.defaults`); a frame
        made by `bayesmeta.effects.compute` carries its measure in ``df.attrs``.

        Examples:
            >>> import pandas as pd
            >>> from bayesmeta.studies import StudyTable
            >>> df = pd.DataFrame({"study": ["A", "B"], "yi": [0.1, 0.3], "vi": [0.04, 0.0]})
            >>> StudyTable.from_frame(df, source="s.csv")
            Traceback (most recent call last):
            ...
            bayesmeta.errors.InputError: s.csv, row 2, column 'vi': must be > 0 (got 0.0)
        """
        if df.shape[0] == 0:
            raise InputError("empty table: no study rows", file=source)
        for col in ("study", "yi"):
            if col not in df.columns:
                raise InputError(
                    f"missing required column '{col}' (need 'study', 'yi' and 'vi' or 'sei')",
                    file=source,
                    column=col,
                )
        study = label_column(df, "study", file=source)
        yi = numeric_column(df, "yi", file=source)
        if "vi" in df.columns:
            vi = numeric_column(df, "vi", file=source, positive=True)
            check_magnitudes(yi, vi, file=source)
            variance = "vi as given"
        elif "sei" in df.columns:
            sei = numeric_column(df, "sei", file=source, positive=True)
            check_magnitudes(yi, sei, file=source, vcol="sei", se=True)
            vi = sei**2
            variance = "vi = sei^2"
        else:
            raise InputError(
                "missing required column 'vi' or 'sei' (sampling variance or standard error)",
                file=source,
                column="vi",
            )
        sub = label_column(df, subgroup, file=source) if subgroup else None
        clu = label_column(df, cluster, file=source) if cluster else None
        seen: dict[str, int] = {}
        for i, s in enumerate(study):
            if s in seen:
                raise InputError(
                    f"duplicate study label '{s}' (also row {seen[s]}); "
                    "give arms distinct labels and a 'cluster' column",
                    file=source,
                    row=i + 1,
                    column="study",
                )
            seen[s] = i + 1
        cov = pd.DataFrame(
            {c: numeric_column(df, c, file=source) for c in covariates}, index=range(len(yi))
        )
        ni = numeric_column(df, "ni", file=source, positive=True) if "ni" in df.columns else None
        if measure is None:
            measure = df.attrs.get("measure")
        return cls(study, yi, vi, sub, clu, cov, source, variance, ni, measure)

    @classmethod
    def read_csv(
        cls,
        path: str | Path,
        *,
        subgroup: str | None = None,
        cluster: str | None = None,
        covariates: Sequence[str] = (),
        measure: str | None = None,
    ) -> StudyTable:
        """Read and validate a study CSV (columns as in the module docstring).

        Examples:
            >>> from pathlib import Path
            >>> from bayesmeta.studies import StudyTable
            >>> _ = Path("s.csv").write_text("study,yi,vi,arm\\nA,0.1,0.04,x\\nB,0.3,0.09,y\\n")
            >>> t = StudyTable.read_csv("s.csv", subgroup="arm")
            >>> t.k, t.subgroup.tolist(), t.source
            (2, ['x', 'y'], 's.csv')
        """
        df = read_table(path)
        try:
            return cls.from_frame(
                df,
                source=str(path),
                subgroup=subgroup,
                cluster=cluster,
                covariates=covariates,
                measure=measure,
            )
        except InputError as err:
            raise with_line(err, df.attrs.get("lines")) from None
