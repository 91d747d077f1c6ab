"""Event rates from counts: exact and Bayesian intervals for x events in n patients.

* Clopper-Pearson (1934) exact interval: Beta quantiles ``B(alpha/2; x, n - x + 1)`` and
  ``B(1 - alpha/2; x + 1, n - x)`` (0 and 1 at the ends), R ``binom.test``;
* Wilson (1927) score interval without continuity correction, R ``prop.test(correct = FALSE)``;
* the Jeffreys posterior Beta(x + 1/2, n - x + 1/2) (Brown, Cai & DasGupta 2001, Stat Sci
  16:101-133): median, central interval, P(rate > 1 %) and P(rate > 5 %); `beta_posterior`
  gives any Beta(a + x, b + n - x) posterior exactly (no sampling);
* with 0 events, the rule of three (Hanley & Lippman-Hand 1983, JAMA 249:1743-1745): 3/n, an
  approximate one-sided 95 % upper bound, beside the exact bound.

`rate_table` turns a table of counts (``events``, ``n``) into the columns of ``safety.csv``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd
from scipy import special

from bayesmeta.errors import InputError

SAFETY_COLUMNS = (
    "disease", "cell_type", "event", "events", "n", "rate", "cp_low", "cp_high",
    "wilson_low", "wilson_high", "post_median", "cri_low", "cri_high", "p_rate_above_1pct",
    "p_rate_above_5pct", "rule_of_three",
)  # fmt: skip


def _check(x: float, n: float, where: str = "") -> None:
    if not (math.isfinite(x) and math.isfinite(n)) or x != int(x) or n != int(n):
        raise InputError(f"{where}counts must be whole numbers (got {x} of {n})")
    if n <= 0:
        raise InputError(f"{where}n must be >= 1 (got {n})")
    if x < 0 or x > n:
        raise InputError(f"{where}events must lie in [0, n] (got {x} of {n})")


@dataclass(frozen=True)
class BetaPosterior:
    """Beta(a, b) posterior of a rate, exact (`scipy.special` incomplete beta functions).

    Same as R `qbeta(0.5, 3.5, 121.5)`: 0.02551864:

    Examples:
        >>> from bayesmeta.safety import beta_posterior
        >>> post = beta_posterior(3, 124)  # Jeffreys prior Beta(1/2, 1/2)
        >>> post.a, post.b, round(post.quantile(0.5), 8)
        (3.5, 121.5, 0.02551864)
    """

    a: float
    b: float

    def quantile(self, p: float) -> float:
        return float(special.betaincinv(self.a, self.b, p))

    def sf(self, x: float) -> float:
        """P(rate > x)."""
        return float(special.betaincc(self.a, self.b, x))

    @property
    def mean(self) -> float:
        return self.a / (self.a + self.b)

    def interval(self, level: float = 0.95) -> tuple[float, float]:
        return self.quantile((1 - level) / 2), self.quantile((1 + level) / 2)


def beta_posterior(events: float, n: float, a: float = 0.5, b: float = 0.5) -> BetaPosterior:
    """The conjugate posterior Beta(a + events, b + n - events) (default Jeffreys prior)."""
    _check(events, n)
    if not (a > 0 and b > 0):
        raise InputError(f"Beta prior parameters must be > 0 (got {a}, {b})")
    return BetaPosterior(a + events, b + n - events)


def clopper_pearson(events: float, n: float, level: float = 0.95) -> tuple[float, float]:
    """Exact binomial interval (R ``binom.test(x, n)$conf.int``).

    Same as R `binom.test(10, 169)$conf.int`: 0.0287367, 0.1061248:

    Examples:
        >>> from bayesmeta.safety import clopper_pearson
        >>> [round(x, 7) for x in clopper_pearson(10, 169)]
        [0.0287367, 0.1061248]
    """
    _check(events, n)
    alpha = 1 - level
    lo = 0.0 if events == 0 else float(special.betaincinv(events, n - events + 1, alpha / 2))
    hi = 1.0 if events == n else float(special.betaincinv(events + 1, n - events, 1 - alpha / 2))
    return lo, hi


def wilson(events: float, n: float, level: float = 0.95) -> tuple[float, float]:
    """Wilson score interval (R ``prop.test(x, n, correct = FALSE)$conf.int``).

    Examples:
        >>> from bayesmeta.safety import wilson
        >>> [round(x, 6) for x in wilson(0, 24)]
        [0.0, 0.137976]
    """
    _check(events, n)
    z = float(-special.ndtri((1 - level) / 2))
    p = events / n
    den = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / den
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / den
    return max(0.0, centre - half), min(1.0, centre + half)


def rate_table(df: pd.DataFrame, level: float = 0.95, source: str | None = None) -> pd.DataFrame:
    """The ``safety.csv`` columns (`SAFETY_COLUMNS`) for each row of counts (``events``, ``n``;
    ``disease``, ``cell_type``, ``event`` kept when present).

    Same as R `pbeta(0.05, 1.5, 168.5, lower.tail = FALSE)`: 0.0006098:

    Examples:
        >>> import pandas as pd
        >>> from bayesmeta.safety import rate_table
        >>> t = rate_table(pd.DataFrame({"event": ["death"], "events": [1], "n": [169]}))
        >>> float(round(t.loc[0, "rate"], 5)), float(round(t.loc[0, "p_rate_above_5pct"], 7))
        (0.00592, 0.0006098)
    """
    from bayesmeta.studies import numeric_column

    x = numeric_column(df, "events", file=source, nonnegative=True)
    n = numeric_column(df, "n", file=source, positive=True)
    rows = []
    for i, (xi, ni) in enumerate(zip(x, n, strict=True)):
        try:
            _check(float(xi), float(ni))
        except InputError as err:
            raise InputError(err.message, file=source, row=i + 1, column="events") from None
        cp = clopper_pearson(xi, ni, level)
        wl = wilson(xi, ni, level)
        post = beta_posterior(xi, ni)
        lo, hi = post.interval(level)
        rows.append({
            "events": int(xi), "n": int(ni), "rate": xi / ni, "cp_low": cp[0], "cp_high": cp[1],
            "wilson_low": wl[0], "wilson_high": wl[1], "post_median": post.quantile(0.5),
            "cri_low": lo, "cri_high": hi, "p_rate_above_1pct": post.sf(0.01),
            "p_rate_above_5pct": post.sf(0.05),
            "rule_of_three": 3.0 / ni if xi == 0 else math.nan,
        })  # fmt: skip
    out = pd.DataFrame(rows)
    for col in ("disease", "cell_type", "event"):
        out[col] = df[col].to_numpy() if col in df.columns else ""
    return out.reindex(columns=list(SAFETY_COLUMNS))
