"""Reverse-Bayes Analysis of Credibility of a published estimate and its confidence interval.

For a normal estimate with a two-sided ``level`` CI [L, U] (so the estimate is (L + U) / 2 and
its SE (U - L) / (2 z), z the normal quantile), Matthews (2018) asks which prior would make the
posterior interval just touch 0:

* a *significant* result (0 outside [L, U]) is challenged by a sceptical prior N(0, s^2)
  centred on no effect. The critical one has ``level`` interval [-SL, SL] with the
  *sceptical limit* ``SL = (U - L)^2 / (4 sqrt(U L))``; a prior more sceptical than that
  (a narrower interval) turns the result non-significant. Effects outside [-SL, SL] are
  plausible a priori, so a small SL next to the estimate means the result is credible.
* a *non-significant* result (L < 0 < U) is supported by an advocacy prior with interval
  [0, AL] (or [AL, 0]), N(AL / 2, (AL / (2 z))^2), whose *advocacy limit* is
  ``AL = -(U + L)(U - L)^2 / (2 U L)``; the result is credible as a hint only if effects as
  large as AL are plausible.

On a ratio scale (OR, RR, HR: ``ratio=True``) the same holds for the logarithms: SL and AL
are returned as ratios.

A significant result is *intrinsically credible* (Matthews 2018) when its own estimate lies
outside [-SL, SL]; the p-value for that is ``2 (1 - Phi(|z| sqrt((sqrt(5) - 1) / 2)))``
below alpha, i.e. p < 0.013 at alpha = 0.05. Held (2019) asks instead that the sceptical
prior's prior-predictive (Box) check reject the estimate, which happens exactly when
``p_IC = 2 (1 - Phi(|z| / sqrt(2)))`` is below alpha, i.e. p < 0.0056 at alpha = 0.05.

References:
    Matthews RAJ (2018). Beyond 'significance': principles and practice of the Analysis of
    Credibility. R Soc Open Sci 5:171047.
    Held L (2019). The assessment of intrinsic credibility and a new argument for p < 0.005.
    R Soc Open Sci 6:181534.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import pandas as pd
from scipy import special

from bayesmeta.errors import InputError


def _z(level: float) -> float:
    return float(-special.ndtri((1.0 - level) / 2.0))


@dataclass(frozen=True)
class Credibility:
    """The Analysis of Credibility of one estimate (see the module docstring).

    ``estimate``, ``se``, ``z``, ``p`` are on the analysis scale (log scale if ``ratio``);
    ``ci_low``, ``ci_high``, ``sceptical_limit``, ``advocacy_limit`` on the reported scale.
    ``critical_prior`` is the prior, as text on the analysis scale, that makes the posterior
    interval touch 0. ``credible`` (Matthews' intrinsic credibility) says whether a
    significant estimate lies outside its own sceptical limits (False for a non-significant
    one, whose credibility rests on whether effects up to AL are plausible);
    ``p_matthews`` and ``p_intrinsic`` (Held) are the p-values for the two criteria.

    Examples:
        >>> from bayesmeta.credibility import credibility
        >>> c = credibility(-6.01, -0.91)  # MD -3.46 [-6.01, -0.91]
        >>> round(c.sceptical_limit, 3), c.critical_prior, c.credible
        (2.78, 'normal(0, 1.41865)', True)
    """

    ci_low: float
    ci_high: float
    level: float
    ratio: bool
    estimate: float
    se: float
    z: float
    p: float
    significant: bool
    sceptical_limit: float | None
    advocacy_limit: float | None
    critical_prior: str
    credible: bool
    p_matthews: float
    p_intrinsic: float
    intrinsically_credible: bool

    def to_dict(self) -> dict[str, Any]:
        """The fields as a plain dict (the CLI's JSON object)."""
        return asdict(self)

    def __str__(self) -> str:
        pct = f"{100 * self.level:g}%"
        lo, hi = self.ci_low, self.ci_high
        est = math.exp(self.estimate) if self.ratio else self.estimate
        null = 1.0 if self.ratio else 0.0
        lines = [
            "Analysis of Credibility (Matthews 2018; Held 2019), "
            f"{'ratio' if self.ratio else 'difference'} scale",
            f"  estimate {est:.4g}, {pct} CI [{lo:.4g}, {hi:.4g}]; z = {self.z:.3f}, "
            f"p = {self.p:.3g}",
        ]
        if self.significant and self.sceptical_limit is not None:
            sl = self.sceptical_limit
            pri = f"[{1 / sl:.4g}, {sl:.4g}]" if self.ratio else f"[{-sl:.4g}, {sl:.4g}]"
            lines.append(
                f"  sceptical limit SL = {sl:.4g}: a sceptical prior with {pct} interval {pri}"
                " makes the posterior interval touch the null"
            )
            verdict = "outside" if self.credible else "inside"
            lines.append(
                f"  the estimate lies {verdict} them: "
                f"{'' if self.credible else 'not '}intrinsically credible (Matthews; p = "
                f"{self.p_matthews:.3g})"
            )
        elif self.advocacy_limit is not None:
            al = self.advocacy_limit
            side = f"[{min(al, null):.4g}, {max(al, null):.4g}]"
            lines.append(
                f"  advocacy limit AL = {al:.4g}: only a prior with {pct} interval {side} or "
                "more optimistic makes the posterior interval exclude the null"
            )
        held = "" if self.intrinsically_credible else "not "
        lines.append(
            f"  Held's p for intrinsic credibility = {self.p_intrinsic:.3g}: {held}intrinsically "
            f"credible at alpha = {1 - self.level:g}"
        )
        lines.append(f"  critical prior: {self.critical_prior}")
        return "\n".join(lines)


def credibility(
    ci_low: float, ci_high: float, *, level: float = 0.95, ratio: bool = False
) -> Credibility:
    """Analysis of Credibility of a CI [``ci_low``, ``ci_high``] (module docstring).

    Args:
        ci_low: the published interval's lower limit (a ratio if ``ratio``).
        ci_high: its upper limit.
        level: its confidence level (default 0.95).
        ratio: a ratio measure (OR, RR, HR): analysed on the log scale.

    Raises:
        InputError: an interval that is not increasing, not finite, or (``ratio``) not > 0.

    Matthews (2018) closed forms; Held's (2019) p_IC equals R ReplicationSuccess
    `pIntrinsic(p = 1e-4)` = 0.00594020536563311:

    Examples:
        >>> from bayesmeta.credibility import credibility
        >>> c = credibility(0.06, 0.76)  # a mean difference 0.41 [0.06, 0.76]
        >>> round(c.sceptical_limit, 4), c.credible, c.intrinsically_credible
        (0.5737, False, False)
        >>> round(credibility(-0.2, 1.0).advocacy_limit, 4)
        2.88
    """
    if not (0.0 < level < 1.0):
        raise InputError(f"option --level: must lie in (0, 1) (got {level})")
    for name, v in (("ci_low", ci_low), ("ci_high", ci_high)):
        if not math.isfinite(v):
            raise InputError(f"{name} must be a finite number (got {v})", column=name)
        if ratio and v <= 0:
            raise InputError(f"{name} must be > 0 on a ratio scale (got {v})", column=name)
    if not ci_low < ci_high:
        raise InputError(f"ci_low must be below ci_high (got [{ci_low}, {ci_high}])")
    lo, hi = (math.log(ci_low), math.log(ci_high)) if ratio else (ci_low, ci_high)
    z_a = _z(level)
    est, half = 0.5 * (lo + hi), 0.5 * (hi - lo)
    se = half / z_a
    zval = est / se
    p = float(2.0 * special.ndtr(-abs(zval)))
    p_ic = float(2.0 * special.ndtr(-abs(zval) / math.sqrt(2.0)))
    p_m = float(2.0 * special.ndtr(-abs(zval) * math.sqrt((math.sqrt(5.0) - 1.0) / 2.0)))
    significant = lo * hi > 0
    back = math.exp if ratio else (lambda x: x)
    if significant:
        sl = (hi - lo) ** 2 / (4.0 * math.sqrt(lo * hi))
        s = sl / z_a
        critical = f"normal(0, {s:.6g})"
        credible = abs(est) > sl
        return Credibility(
            ci_low, ci_high, level, ratio, est, se, zval, p, True, back(sl), None, critical,
            credible, p_m, p_ic, p_ic < 1.0 - level,
        )  # fmt: skip
    al = -(hi + lo) * (hi - lo) ** 2 / (2.0 * hi * lo)
    critical = f"normal({al / 2:.6g}, {abs(al) / (2 * z_a):.6g})" if al != 0 else "none"
    return Credibility(
        ci_low, ci_high, level, ratio, est, se, zval, p, False, None, back(al), critical,
        False, p_m, p_ic, False,
    )  # fmt: skip


#: Columns `credibility_table` adds.
TABLE_COLUMNS = (
    "significant", "sceptical_limit", "advocacy_limit", "credible", "p_matthews",
    "p_intrinsic", "intrinsically_credible", "critical_prior",
)  # fmt: skip


def credibility_table(
    df: pd.DataFrame, *, level: float = 0.95, ratio: bool = False, source: str | None = None
) -> pd.DataFrame:
    """`credibility` of every row of ``df`` (columns ``ci_low``, ``ci_high``): a copy with
    the `TABLE_COLUMNS` added. Errors name ``source``, the 1-based row and the column.

    Examples:
        >>> from bayesmeta import datasets
        >>> from bayesmeta.credibility import credibility_table
        >>> t = credibility_table(datasets.load("zhang2020_pooled"))
        >>> t.loc[0, ["md", "sceptical_limit", "p_intrinsic"]].round(4).tolist()
        [0.41, 0.5737, 0.1045]
    """
    from bayesmeta.studies import numeric_column

    lo = numeric_column(df, "ci_low", file=source)
    hi = numeric_column(df, "ci_high", file=source)
    rows = []
    for i, (a, b) in enumerate(zip(lo, hi, strict=True)):
        try:
            c = credibility(float(a), float(b), level=level, ratio=ratio)
        except InputError as err:
            raise InputError(err.message, file=source, row=i + 1, column=err.column) from None
        rows.append({k: getattr(c, k) for k in TABLE_COLUMNS})
    return pd.concat([df.reset_index(drop=True), pd.DataFrame(rows)], axis=1)
