"""The validated study table: one row per study (or arm), metafor's ``yi``/``vi`` names.

Required columns: ``study`` and ``yi`` and one of ``vi`` (sampling variance) or
``sei`` (standard error; ``vi = sei**2``). Optional: a subgroup column, a
``cluster`` column (arms that belong to one study) and covariate columns.
Every problem raises :class:`~bayesmeta.errors.InputError` naming file, row
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
    """Read a CSV as strings-preserving DataFrame, with a one-line error if unreadable."""
    path = Path(path)
    if not path.exists():
        raise InputError("file not found", file=str(path))
    try:
        df = pd.read_csv(path, skipinitialspace=True)
    except pd.errors.EmptyDataError:
        raise InputError("empty file: no header and no rows", file=str(path)) from None
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        first = str(exc).strip().splitlines()[0]
        raise InputError(f"not a readable CSV ({first})", file=str(path)) from None
    df.columns = [str(c).strip() for c in df.columns]
    return df


def numeric_column(
    df: pd.DataFrame,
    column: str,
    *,
    file: str | None = None,
    positive: bool = False,
    nonnegative: bool = False,
    allow_missing: bool = False,
) -> np.ndarray:
    """Column ``column`` as float64; InputError at the first bad cell (row is 1-based)."""
    if column not in df.columns:
        raise InputError(f"missing required column '{column}'", file=file, column=column)
    raw = df[column]
    values = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=float)
    for i, (r, v) in enumerate(zip(raw.tolist(), values, strict=True)):
        missing = r is None or (isinstance(r, float) and np.isnan(r)) or str(r).strip() == ""
        if missing:
            if allow_missing:
                continue
            raise InputError(
                "empty cell (NaN): a number is required", file=file, row=i + 1, column=column
            )
        if not np.isfinite(v):
            raise InputError(f"not a finite number: {r!r}", file=file, row=i + 1, column=column)
        if positive and not v > 0:
            raise InputError(f"must be > 0 (got {r})", file=file, row=i + 1, column=column)
        if nonnegative and not v >= 0:
            raise InputError(f"must be >= 0 (got {r})", file=file, row=i + 1, column=column)
    return values


def label_column(df: pd.DataFrame, column: str, *, file: str | None = None) -> np.ndarray:
    """A label column as strings; empty cells are an error."""
    if column not in df.columns:
        raise InputError(f"missing required column '{column}'", file=file, column=column)
    out = []
    for i, v in enumerate(df[column].tolist()):
        if v is None or (isinstance(v, float) and np.isnan(v)) or str(v).strip() == "":
            raise InputError("empty cell: a label is required", file=file, row=i + 1, column=column)
        if isinstance(v, float) and v.is_integer():
            v = int(v)
        out.append(str(v).strip())
    return np.asarray(out, dtype=object)


@dataclass(frozen=True)
class StudyTable:
    """Validated effect sizes ``yi`` with sampling variances ``vi``, one per study/arm."""

    study: np.ndarray
    yi: np.ndarray
    vi: np.ndarray
    subgroup: np.ndarray | None = None
    cluster: np.ndarray | None = None
    covariates: pd.DataFrame = field(default_factory=pd.DataFrame)
    source: str | None = None
    variance: str = "vi as given"

    @property
    def k(self) -> int:
        return int(self.yi.size)

    @property
    def sei(self) -> np.ndarray:
        return np.sqrt(self.vi)

    def subset(self, mask: np.ndarray) -> StudyTable:
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
        )

    def to_frame(self) -> pd.DataFrame:
        df = pd.DataFrame({"study": self.study, "yi": self.yi, "vi": self.vi})
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
        study: Sequence[str] | None = None,
        subgroup: Sequence[str] | None = None,
    ) -> StudyTable:
        """Build from arrays (validated like a file)."""
        data: dict[str, object] = {"yi": np.asarray(yi, dtype=float)}
        n = len(data["yi"])  # type: ignore[arg-type]
        data["study"] = list(study) if study is not None else [str(i + 1) for i in range(n)]
        if vi is not None:
            data["vi"] = np.asarray(vi, dtype=float)
        if sei is not None:
            data["sei"] = np.asarray(sei, dtype=float)
        if subgroup is not None:
            data["subgroup"] = list(subgroup)
        return cls.from_frame(pd.DataFrame(data), subgroup="subgroup" if subgroup else None)

    @classmethod
    def from_frame(
        cls,
        df: pd.DataFrame,
        *,
        source: str | None = None,
        subgroup: str | None = None,
        cluster: str | None = None,
        covariates: Sequence[str] = (),
    ) -> StudyTable:
        """Validate a DataFrame with ``study``, ``yi`` and ``vi`` or ``sei``."""
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
            variance = "vi as given"
        elif "sei" in df.columns:
            vi = numeric_column(df, "sei", file=source, positive=True) ** 2
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
        return cls(study, yi, vi, sub, clu, cov, source, variance)

    @classmethod
    def read_csv(
        cls,
        path: str | Path,
        *,
        subgroup: str | None = None,
        cluster: str | None = None,
        covariates: Sequence[str] = (),
    ) -> StudyTable:
        """Read and validate a study CSV (see module docstring)."""
        df = read_table(path)
        return cls.from_frame(
            df, source=str(path), subgroup=subgroup, cluster=cluster, covariates=covariates
        )
