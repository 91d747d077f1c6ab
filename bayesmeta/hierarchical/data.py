"""The arrays a hierarchical model is fitted to: one row per study (or per arm).

`MetaData` holds the effects ``yi`` with either known standard errors ``sei``
(every model but ``prepost``) or the pre/post summaries ``sd_pre``, ``sd_post``, ``n``
(the ``prepost`` model, whose sampling variance depends on the unknown pre/post
correlation r). Labels for subgroups (cell types) and clusters (the study an arm
belongs to) become the ``subgroup`` and ``cluster`` dims of the PyMC model.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from bayesmeta.errors import InputError
from bayesmeta.studies import StudyTable, label_column, numeric_column


def _levels(labels: np.ndarray) -> tuple[tuple[str, ...], np.ndarray]:
    """Levels in order of first appearance and the 0-based index of each row."""
    levels = tuple(str(v) for v in pd.unique(pd.Series(labels, dtype=object)))
    lookup = {v: i for i, v in enumerate(levels)}
    return levels, np.array([lookup[str(v)] for v in labels], dtype=np.int64)


@dataclass(frozen=True)
class MetaData:
    """Validated model input: build it with `from_table()`, `from_arrays()` or `from_prepost()`.

    ``study`` holds the row labels, ``yi`` the effects; ``sei`` the known standard errors
    (None for pre/post data, which carry ``sd_pre``, ``sd_post``, ``n`` instead);
    ``subgroup`` / ``cluster`` optional labels; ``covariates`` the meta-regression columns;
    ``source`` the file name used in error messages.

    Examples:
        >>> from bayesmeta import datasets
        >>> from bayesmeta.hierarchical import MetaData
        >>> df = datasets.load("rubin1981")
        >>> data = MetaData.from_arrays(df["effect"], df["stderr"], study=df["school"])
        >>> data.k, list(data.study[:3]), data.sei[:3].tolist()
        (8, ['A', 'B', 'C'], [14.9, 10.2, 16.3])
        >>> two = MetaData.from_arrays([0.1, 0.4, -0.2], [0.2, 0.3, 0.25], subgroup=["a", "b", "a"])
        >>> two.subgroups
        (('a', 'b'), array([0, 1, 0]))
    """

    study: np.ndarray
    yi: np.ndarray
    sei: np.ndarray | None = None
    subgroup: np.ndarray | None = None
    cluster: np.ndarray | None = None
    covariates: pd.DataFrame = field(default_factory=pd.DataFrame)
    sd_pre: np.ndarray | None = None
    sd_post: np.ndarray | None = None
    n: np.ndarray | None = None
    source: str | None = None
    ni: np.ndarray | None = None
    measure: str | None = None

    @property
    def k(self) -> int:
        """Number of rows (studies, or arms in the nested model)."""
        return int(self.yi.size)

    @property
    def is_prepost(self) -> bool:
        """True for pre/post summaries (built by `from_prepost()`)."""
        return self.sd_pre is not None

    @property
    def subgroups(self) -> tuple[tuple[str, ...], np.ndarray]:
        """Subgroup levels (in order of first appearance) and each row's 0-based level index."""
        if self.subgroup is None:
            raise InputError(
                "this model needs a subgroup column (e.g. the cell type)",
                file=self.source,
                column="subgroup",
            )
        return _levels(self.subgroup)

    @property
    def clusters(self) -> tuple[tuple[str, ...], np.ndarray]:
        """Cluster levels (in order of first appearance) and each row's 0-based level index."""
        if self.cluster is None:
            raise InputError(
                "the nested model needs a 'cluster' column (the study of each arm)",
                file=self.source,
                column="cluster",
            )
        return _levels(self.cluster)

    @property
    def X(self) -> np.ndarray:
        """The covariates as a k x p float matrix (p = 0 without covariates)."""
        return self.covariates.to_numpy(dtype=float).reshape(self.k, -1)

    @classmethod
    def from_table(cls, table: StudyTable) -> MetaData:
        """Effects with known sampling variances from a validated `StudyTable` (sei = sqrt(vi))."""
        return cls(
            study=np.asarray(table.study, dtype=object),
            yi=np.asarray(table.yi, dtype=float),
            sei=np.sqrt(np.asarray(table.vi, dtype=float)),
            subgroup=table.subgroup,
            cluster=table.cluster,
            covariates=table.covariates.reset_index(drop=True),
            source=table.source,
            ni=table.ni,
            measure=table.measure,
        )

    @classmethod
    def from_arrays(
        cls,
        yi: Sequence[float] | np.ndarray,
        sei: Sequence[float] | np.ndarray,
        *,
        study: Sequence[str] | None = None,
        subgroup: Sequence[str] | None = None,
    ) -> MetaData:
        """Effects ``yi`` with standard errors ``sei`` (validated like a file)."""
        yi = np.asarray(yi, dtype=float)
        sei = np.asarray(sei, dtype=float)
        if yi.shape != sei.shape or yi.ndim != 1:
            raise InputError(f"yi and sei must be 1-D of one length (got {yi.shape}, {sei.shape})")
        return cls.from_table(StudyTable.from_arrays(yi, sei=sei, study=study, subgroup=subgroup))

    @classmethod
    def from_prepost(
        cls,
        df: pd.DataFrame,
        *,
        study: str = "study",
        m_pre: str = "m_pre",
        sd_pre: str = "sd_pre",
        m_post: str = "m_post",
        sd_post: str = "sd_post",
        n: str = "n",
        subgroup: str | None = None,
        source: str | None = None,
    ) -> MetaData:
        """Single-arm before/after summaries; ``yi = m_post - m_pre`` (change from baseline).

        The arguments name the columns of ``df`` (defaults ``study``, ``m_pre``, ``sd_pre``,
        ``m_post``, ``sd_post``, ``n``; a missing ``study`` column gives labels "1", "2", ...).
        InputError for missing / non-positive values, n not a whole number >= 2, or duplicate
        study labels.
        """
        if df.shape[0] == 0:
            raise InputError("empty table: no study rows", file=source)
        labels = (
            label_column(df, study, file=source)
            if study in df.columns
            else np.array([str(i + 1) for i in range(df.shape[0])], dtype=object)
        )
        pre = numeric_column(df, m_pre, file=source)
        post = numeric_column(df, m_post, file=source)
        s_pre = numeric_column(df, sd_pre, file=source, positive=True)
        s_post = numeric_column(df, sd_post, file=source, positive=True)
        size = numeric_column(df, n, file=source, positive=True)
        for i, v in enumerate(size):
            if v < 2 or v != np.round(v):
                raise InputError(
                    f"sample size must be a whole number >= 2 (got {v:g})",
                    file=source,
                    row=i + 1,
                    column=n,
                )
        seen: dict[str, int] = {}
        for i, s in enumerate(labels):
            if s in seen:
                raise InputError(
                    f"duplicate study label '{s}' (also row {seen[s]})",
                    file=source,
                    row=i + 1,
                    column=study,
                )
            seen[s] = i + 1
        sub = label_column(df, subgroup, file=source) if subgroup else None
        return cls(
            study=labels,
            yi=post - pre,
            subgroup=sub,
            sd_pre=s_pre,
            sd_post=s_post,
            n=size,
            source=source,
        )
