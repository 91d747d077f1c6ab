"""One RevMan analysis as read from any RevMan file (`RevManAnalysis`), shared by the readers
of RevMan 5 files and CSV exports (`bayesmeta.io.revman`) and of Cochrane data packages
(`bayesmeta.io.datapackage`)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

RATIO_MEASURES = ("OR", "RR", "HR", "PETO_OR")
STORED_KEYS = ("estimate", "ci_low", "ci_high", "tau2", "q", "i2", "z", "z_p")


@dataclass
class RevManAnalysis:
    """One RevMan analysis: an outcome (``subgroup`` None) or one subgroup of it.

    ``studies`` has ``study`` and, by data type, ``events_1, total_1, events_2, total_2``
    (dichotomous), ``mean_1, sd_1, total_1, mean_2, sd_2, total_2`` (continuous) or
    ``estimate, se`` (generic; log scale for ratios), plus RevMan's stored per-study
    ``stored_estimate``, ``stored_se``, ``stored_ci_low``, ``stored_ci_high``,
    ``stored_weight`` (NaN where absent). ``stored`` holds the totals RevMan wrote
    (`STORED_KEYS`; None where absent).

    Examples:
        >>> from bayesmeta.io.revman import RevManAnalysis
        >>> a = RevManAnalysis(1, 1, None, "Death", "dichotomous", "MH", "OR", "fixed")
        >>> a.label
        '1.1 Death'
    """

    comparison: int
    outcome: int
    subgroup: int | None
    name: str
    data_type: str
    method: str
    measure: str
    model: str
    studies: pd.DataFrame = field(default_factory=pd.DataFrame)
    stored: dict[str, float | None] = field(default_factory=dict)
    subgroups: list[RevManAnalysis] = field(default_factory=list)
    #: half a unit in the last place of the stored numbers (RevMan's CSV export rounds to 8
    #: decimals; the .rm5 file keeps about 16 significant digits: 0)
    rounding: float = 0.0
    #: the file it came from (for messages) and RevMan's own method code
    source: str = ""
    method_code: str = ""
    #: the forest plot's labels under the axis (left, right), where the file names them
    favours: tuple[str, str] | None = None
    #: how the file says to pool (data packages: estimator, CI method, prediction interval,
    #: level, log scale; empty for RevMan 5 files, which pool as RevMan 5 does)
    settings: dict[str, Any] = field(default_factory=dict)
    #: half a unit in the last printed digit of each stored total (data packages)
    tolerances: dict[str, float] = field(default_factory=dict)
    #: risk-of-bias judgements of the analysis's studies (data packages), a row per study
    risk_of_bias: pd.DataFrame | None = None

    @property
    def label(self) -> str:
        """``"comparison.outcome[.subgroup] name"``."""
        sub = f".{self.subgroup}" if self.subgroup else ""
        return f"{self.comparison}.{self.outcome}{sub} {self.name}"

    @property
    def ratio(self) -> bool:
        """A ratio measure (pooled on the log scale, printed as a ratio): OR, RR, HR, Peto OR,
        or a generic outcome RevMan marks as log data (``LOG_DATA="YES"``: rate ratios...)."""
        return self.measure in RATIO_MEASURES or bool(self.settings.get("log_data"))


def _num(text: Any) -> float | None:
    if text is None:
        return None
    s = str(text).strip().replace(",", "")
    if s == "":
        return None
    try:
        v = float(s)
    except ValueError:
        return None
    return v if math.isfinite(v) else None
