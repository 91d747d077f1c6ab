"""Effect sizes ``yi`` and sampling variances ``vi`` from raw study columns.

Each function returns `EffectSizes` whose ``formula`` states, in words, the estimate and the
variance used, so every pooled result can say which convention it rests on. The formulas are those
of R metafor 3.8.1 ``escalc()`` with its defaults unless a docstring says otherwise; see
``docs/effects.md`` for the references.

| measure | meaning                                         | function         |
|---------|-------------------------------------------------|------------------|
| MD      | mean difference of two groups                   | `md()`           |
| SMD     | standardised mean difference, Hedges' g         | `smd()`          |
| BA      | before/after MD, arms as independent groups     | `before_after()` |
| MC      | paired mean change with pre/post correlation r  | `mean_change()`  |
| SMCR    | standardised mean change, pre-test SD           | `smcr()`         |
| PPC     | pre-post-control: SMCR(treated) - SMCR(control) | `ppc()`          |
| OR      | log odds ratio of a 2x2 table                   | `log_or()`       |
| RR      | log risk ratio                                  | `log_rr()`       |
| RD      | risk difference                                 | `rd()`           |
| PLO     | logit of a single-group proportion              | `plo()`          |
| PR      | raw single-group proportion                     | `pr()`           |

`compute()` applies one of them to the columns of a DataFrame (names in `COLUMNS`).
Bad input raises `bayesmeta.errors.InputError` at the first bad cell (1-based row).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from bayesmeta.errors import InputError
from bayesmeta.studies import numeric_column

ArrayLike = float | Sequence[float] | np.ndarray

#: What each measure is (for ``--help`` texts and listings).
MEASURES: dict[str, str] = {
    "MD": "mean difference m1 - m2 of two independent groups",
    "SMD": "standardised mean difference (Hedges' g, bias-corrected)",
    "BA": "before/after mean difference post - pre, arms treated as independent groups (RevMan)",
    "MC": "paired mean change post - pre using the pre/post correlation r",
    "SMCR": "standardised mean change, raw-score (pre-test SD) standardisation, bias-corrected",
    "PPC": "pre-post-control difference SMCR(treatment) - SMCR(control) (Morris 2008)",
    "OR": "log odds ratio of a 2x2 table",
    "RR": "log risk ratio of a 2x2 table",
    "RD": "risk difference of a 2x2 table",
    "PLO": "logit of a single-group proportion, log(xi/(ni - xi))",
    "PR": "raw single-group proportion xi/ni",
}

#: Conventional input column names per measure (metafor-like). For OR/RR/RD give either
#: ``bi``/``di`` (non-events) or ``n1i``/``n2i`` (group totals); for PLO/PR ``mi`` (non-events)
#: may replace ``ni``. For BA, ``n`` may replace
#: ``n_pre``/``n_post``; for PPC, ``r_t``/``r_c`` may replace ``r``.
COLUMNS: dict[str, tuple[str, ...]] = {
    "MD": ("m1i", "sd1i", "n1i", "m2i", "sd2i", "n2i"),
    "SMD": ("m1i", "sd1i", "n1i", "m2i", "sd2i", "n2i"),
    "BA": ("m_pre", "sd_pre", "n_pre", "m_post", "sd_post", "n_post"),
    "MC": ("m_pre", "sd_pre", "m_post", "sd_post", "n", "r"),
    "SMCR": ("m_pre", "sd_pre", "m_post", "n", "r"),
    "PPC": (
        "m_pre_t",
        "sd_pre_t",
        "m_post_t",
        "n_t",
        "m_pre_c",
        "sd_pre_c",
        "m_post_c",
        "n_c",
        "r",
    ),
    "OR": ("ai", "n1i", "ci", "n2i"),
    "RR": ("ai", "n1i", "ci", "n2i"),
    "RD": ("ai", "n1i", "ci", "n2i"),
    "PLO": ("xi", "ni"),
    "PR": ("xi", "ni"),
}


@dataclass(frozen=True)
class EffectSizes:
    """Effect sizes with their sampling variances and the formula that produced them.

    ``yi`` and ``vi`` are read-only float arrays, ``measure`` the code (``"MD"``, ...),
    ``formula`` the estimate and variance in words. ``corrected`` (2x2 measures only,
    else None) marks the tables that received the continuity correction; rows dropped as
    double-zero tables have ``yi = vi = NaN``.

    Examples:
        >>> from bayesmeta.effects import md
        >>> es = md([55, 27], [47, 7], [155, 31], [75, 29], [64, 4], [156, 32])
        >>> es.measure, es.k, es.sei.round(4).tolist()
        ('MD', 2, [6.3646, 1.4424])
        >>> es.to_frame().attrs["formula"][:30]
        'MD = m1 - m2; vi = sd1^2/n1 + '
    """

    yi: np.ndarray
    vi: np.ndarray
    measure: str
    formula: str
    corrected: np.ndarray | None = None

    def __post_init__(self) -> None:
        for name in ("yi", "vi", "corrected"):
            value = getattr(self, name)
            if value is None:
                continue
            arr = np.array(value, dtype=bool if name == "corrected" else float)
            arr.setflags(write=False)
            object.__setattr__(self, name, arr)

    @property
    def k(self) -> int:
        """Number of effect sizes (dropped rows included)."""
        return int(self.yi.size)

    @property
    def sei(self) -> np.ndarray:
        """Standard errors ``sqrt(vi)``."""
        return np.sqrt(self.vi)

    def to_frame(self) -> pd.DataFrame:
        """``yi``, ``vi`` (and ``corrected``) as columns; ``attrs`` hold measure and formula."""
        df = pd.DataFrame({"yi": self.yi, "vi": self.vi})
        if self.corrected is not None:
            df["corrected"] = self.corrected
        df.attrs.update(measure=self.measure, formula=self.formula)
        return df


# --------------------------------------------------------------------------- validation helpers


def _prep(**named: ArrayLike) -> dict[str, np.ndarray]:
    """1-D float arrays of one common length (length-1 inputs broadcast); finite values only."""
    arrays: dict[str, np.ndarray] = {}
    for name, value in named.items():
        try:
            arr = np.atleast_1d(np.asarray(value, dtype=float))
        except (TypeError, ValueError):
            raise InputError(f"not numeric: {value!r}", column=name) from None
        if arr.ndim != 1:
            raise InputError(f"expected a 1-D array, got shape {arr.shape}", column=name)
        bad = np.flatnonzero(~np.isfinite(arr))
        if bad.size:
            i = int(bad[0])
            raise InputError(f"not a finite number: {arr[i]}", row=i + 1, column=name)
        arrays[name] = arr
    sizes = {a.size for a in arrays.values()} - {1}
    if len(sizes) > 1:
        lengths = ", ".join(f"{n}={a.size}" for n, a in arrays.items())
        raise InputError(f"inputs have different lengths ({lengths})")
    k = sizes.pop() if sizes else 1
    return {n: np.broadcast_to(a, (k,)).copy() for n, a in arrays.items()}


def _fail_at(bad: np.ndarray, message: str, column: str | None, values: np.ndarray) -> None:
    idx = np.flatnonzero(bad)
    if idx.size:
        i = int(idx[0])
        raise InputError(message.format(v=f"{values[i]:g}"), row=i + 1, column=column)


def _check_sd(a: Mapping[str, np.ndarray], *names: str, positive: bool = False) -> None:
    for n in names:
        if positive:
            _fail_at(~(a[n] > 0), "standard deviation must be > 0 (got {v})", n, a[n])
        else:
            _fail_at(a[n] < 0, "standard deviation must be >= 0 (got {v})", n, a[n])
        _fail_at(
            a[n] > _MAX_SD,
            f"standard deviation {{v}} is too large to compute with (must be <= {_MAX_SD:g}); "
            "rescale the data (other units)",
            n,
            a[n],
        )


def _check_n(a: Mapping[str, np.ndarray], *names: str, minimum: int = 2, why: str = "") -> None:
    for n in names:
        _fail_at(a[n] < minimum, f"sample size must be >= {minimum}{why} (got {{v}})", n, a[n])


def _check_r(a: Mapping[str, np.ndarray], *names: str) -> None:
    for n in names:
        _fail_at(np.abs(a[n]) > 1, "correlation must be in [-1, 1] (got {v})", n, a[n])


#: the largest SD whose square (a variance) stays far inside double precision
_MAX_SD = 1e75


def _check_vi(vi: np.ndarray, why: str, skip: np.ndarray | None = None) -> None:
    huge = np.isinf(vi) if skip is None else np.isinf(vi) & ~skip
    _fail_at(huge, "sampling variance overflows double precision; rescale the data", None, vi)
    bad = ~(np.isfinite(vi) & (vi > 0))
    if skip is not None:
        bad &= ~skip
    _fail_at(bad, f"sampling variance is {{v}} ({why})", None, vi)


def hedges_correction(m: ArrayLike) -> np.ndarray:
    """Exact small-sample bias correction c(m) = Gamma(m/2) / (sqrt(m/2) Gamma((m-1)/2)), m > 1.

    Hedges (1981); the function metafor's ``.cmicalc`` computes with lgamma. Here the gamma
    ratio is used for m < 60 and, above, the asymptotic series of log Gamma(x + 1/2) -
    log Gamma(x) (x = (m-1)/2, terms to x^-7, truncation < 1e-15): accurate to ~1e-15 for
    every m, where the lgamma difference loses digits as m grows. c(m) ~ 1 - 3/(4m - 1).
    Raises `InputError` unless every m > 1.

    c(2) is 1/sqrt(pi) = 0.564190; c(10) = 0.922746 against the approximation 0.923077:

    Examples:
        >>> from bayesmeta.effects import hedges_correction
        >>> hedges_correction([2, 10, 100]).round(6).tolist()
        [0.56419, 0.922746, 0.992478]
    """
    from scipy.special import gamma  # here: scipy.special costs 0.15 s to import

    m = np.asarray(m, dtype=float)
    if np.any(~(m > 1)):
        raise InputError("bias correction c(m) needs degrees of freedom m > 1")
    small = m < 60
    ms = np.where(small, m, 2.0)
    direct = gamma(ms / 2) / gamma((ms - 1) / 2) / np.sqrt(ms / 2)
    x = np.where(small, 100.0, (m - 1) / 2)
    series = -1 / (8 * x) + 1 / (192 * x**3) - 1 / (640 * x**5) + 17 / (14336 * x**7)
    asym = np.exp(0.5 * np.log1p(-1 / np.where(small, 100.0, m)) + series)
    return np.where(small, direct, asym)


# --------------------------------------------------------------------------- continuous outcomes


def md(
    m1: ArrayLike,
    sd1: ArrayLike,
    n1: ArrayLike,
    m2: ArrayLike,
    sd2: ArrayLike,
    n2: ArrayLike,
    variance: Literal["unpooled", "pooled"] = "unpooled",
) -> EffectSizes:
    """Mean difference ``yi = m1 - m2`` of two independent groups.

    ``variance="unpooled"`` (RevMan; metafor ``MD`` default ``vtype="LS"``):
    ``vi = sd1^2/n1 + sd2^2/n2``. ``variance="pooled"`` (Normand 1999; metafor ``vtype="HO"``):
    ``vi = sdp^2 (1/n1 + 1/n2)``, ``sdp^2 = ((n1-1) sd1^2 + (n2-1) sd2^2) / (n1+n2-2)``.
    Arguments are scalars or equal-length arrays (length 1 broadcasts); SDs >= 0, n >= 2.

    Same as metafor `escalc("MD", ...)` on the first two studies of Normand (1999), which
    gives vi 40.5080, 2.0806 (``vtype="LS"``) and 40.5863, 2.0468 (``vtype="HO"``):

    Examples:
        >>> from bayesmeta.effects import md
        >>> args = ([55, 27], [47, 7], [155, 31], [75, 29], [64, 4], [156, 32])
        >>> es = md(*args)
        >>> es.yi.tolist(), es.vi.round(4).tolist()
        ([-20.0, -2.0], [40.508, 2.0806])
        >>> md(*args, variance="pooled").vi.round(4).tolist()
        [40.5863, 2.0468]
    """
    a = _prep(m1=m1, sd1=sd1, n1=n1, m2=m2, sd2=sd2, n2=n2)
    _check_sd(a, "sd1", "sd2")
    _check_n(a, "n1", "n2")
    yi = a["m1"] - a["m2"]
    if variance == "unpooled":
        vi = a["sd1"] ** 2 / a["n1"] + a["sd2"] ** 2 / a["n2"]
        formula = (
            "MD = m1 - m2; vi = sd1^2/n1 + sd2^2/n2 "
            "(unpooled variance: RevMan, metafor escalc MD vtype='LS')"
        )
    elif variance == "pooled":
        sdp2 = ((a["n1"] - 1) * a["sd1"] ** 2 + (a["n2"] - 1) * a["sd2"] ** 2) / (
            a["n1"] + a["n2"] - 2
        )
        vi = sdp2 * (1 / a["n1"] + 1 / a["n2"])
        formula = (
            "MD = m1 - m2; vi = sdp^2 (1/n1 + 1/n2), "
            "sdp^2 = ((n1-1) sd1^2 + (n2-1) sd2^2)/(n1+n2-2) "
            "(pooled SD: Normand 1999, metafor escalc MD vtype='HO')"
        )
    else:
        raise InputError(f"unknown variance '{variance}' (use 'unpooled' or 'pooled')")
    _check_vi(vi, "both standard deviations are 0")
    return EffectSizes(yi, vi, "MD", formula)


def smd(
    m1: ArrayLike,
    sd1: ArrayLike,
    n1: ArrayLike,
    m2: ArrayLike,
    sd2: ArrayLike,
    n2: ArrayLike,
) -> EffectSizes:
    """Hedges' g: ``g = c(m) (m1 - m2) / sdp`` with ``m = n1 + n2 - 2`` and the exact c(m).

    ``vi = 1/n1 + 1/n2 + g^2 / (2 (n1 + n2))`` (Hedges 1981; metafor ``SMD``, ``vtype="LS"``).
    ``sdp`` is the pooled SD ``sqrt(((n1-1) sd1^2 + (n2-1) sd2^2) / m)``, which must be > 0.

    Same as metafor `escalc("SMD", ...)` on the first two studies of Normand (1999):
    yi -0.35517, -0.34794; vi 0.013065, 0.064469.

    Examples:
        >>> from bayesmeta.effects import smd
        >>> es = smd([55, 27], [47, 7], [155, 31], [75, 29], [64, 4], [156, 32])
        >>> es.yi.round(5).tolist(), es.vi.round(6).tolist()
        ([-0.35517, -0.34794], [0.013065, 0.064469])
    """
    a = _prep(m1=m1, sd1=sd1, n1=n1, m2=m2, sd2=sd2, n2=n2)
    _check_sd(a, "sd1", "sd2")
    _check_n(a, "n1", "n2")
    m = a["n1"] + a["n2"] - 2
    sdp = np.sqrt(((a["n1"] - 1) * a["sd1"] ** 2 + (a["n2"] - 1) * a["sd2"] ** 2) / m)
    _fail_at(~(sdp > 0), "pooled standard deviation is {v}: the SMD is undefined", "sd1", sdp)
    yi = hedges_correction(m) * (a["m1"] - a["m2"]) / sdp
    vi = 1 / a["n1"] + 1 / a["n2"] + yi**2 / (2 * (a["n1"] + a["n2"]))
    formula = (
        "SMD (Hedges' g) = c(m) (m1 - m2)/sdp, sdp^2 = ((n1-1) sd1^2 + (n2-1) sd2^2)/m, "
        "m = n1+n2-2, c(m) = Gamma(m/2)/(sqrt(m/2) Gamma((m-1)/2)); "
        "vi = 1/n1 + 1/n2 + g^2/(2 (n1+n2)) (Hedges 1981; metafor escalc SMD)"
    )
    return EffectSizes(yi, vi, "SMD", formula)


def before_after(
    m_pre: ArrayLike,
    sd_pre: ArrayLike,
    n_pre: ArrayLike,
    m_post: ArrayLike,
    sd_post: ArrayLike,
    n_post: ArrayLike,
) -> EffectSizes:
    """Single-arm before/after MD as RevMan computes it from two "groups" (the review's convention).

    ``yi = m_post - m_pre``; ``vi = sd_pre^2/n_pre + sd_post^2/n_post``: the pre and post
    measurements are treated as independent groups, i.e. `mean_change()` with r = 0.

    Same as metafor `escalc("MC", ..., ri = 0)` on the treated arms of Morris (2008)
    studies 1-2 (vi 17.978, 0.5284):

    Examples:
        >>> from bayesmeta.effects import before_after
        >>> es = before_after([30.6, 23.5], [15, 3.1], [20, 50],
        ...                   [38.5, 26.8], [11.6, 4.1], [20, 50])
        >>> es.yi.round(4).tolist(), es.vi.round(4).tolist()
        ([7.9, 3.3], [17.978, 0.5284])
    """
    a = _prep(
        m_pre=m_pre, sd_pre=sd_pre, n_pre=n_pre, m_post=m_post, sd_post=sd_post, n_post=n_post
    )
    _check_sd(a, "sd_pre", "sd_post")
    _check_n(a, "n_pre", "n_post")
    yi = a["m_post"] - a["m_pre"]
    vi = a["sd_pre"] ** 2 / a["n_pre"] + a["sd_post"] ** 2 / a["n_post"]
    _check_vi(vi, "both standard deviations are 0")
    formula = (
        "MD = m_post - m_pre; vi = sd_pre^2/n_pre + sd_post^2/n_post "
        "(before/after as two independent groups, RevMan convention; ignores the pre/post "
        "correlation, i.e. r = 0)"
    )
    return EffectSizes(yi, vi, "BA", formula)


def mean_change(
    m_pre: ArrayLike,
    sd_pre: ArrayLike,
    m_post: ArrayLike,
    sd_post: ArrayLike,
    n: ArrayLike,
    r: ArrayLike,
) -> EffectSizes:
    """Paired raw mean change ``yi = m_post - m_pre`` (metafor ``MC``).

    ``vi = sd_change^2 / n`` with ``sd_change^2 = sd_pre^2 + sd_post^2 - 2 r sd_pre sd_post``;
    r in [-1, 1].

    Same as metafor `escalc("MC", ...)` on the treated arms of Morris (2008) studies 1-2
    (vi 9.8, 0.203024):

    Examples:
        >>> from bayesmeta.effects import mean_change
        >>> es = mean_change([30.6, 23.5], [15, 3.1], [38.5, 26.8], [11.6, 4.1],
        ...                  [20, 50], [0.47, 0.64])
        >>> es.yi.round(4).tolist(), es.vi.round(6).tolist()
        ([7.9, 3.3], [9.8, 0.203024])
    """
    a = _prep(m_pre=m_pre, sd_pre=sd_pre, m_post=m_post, sd_post=sd_post, n=n, r=r)
    _check_sd(a, "sd_pre", "sd_post")
    _check_n(a, "n")
    _check_r(a, "r")
    yi = a["m_post"] - a["m_pre"]
    vi = (a["sd_pre"] ** 2 + a["sd_post"] ** 2 - 2 * a["r"] * a["sd_pre"] * a["sd_post"]) / a["n"]
    _check_vi(vi, "the change-score SD is 0")
    formula = (
        "MC = m_post - m_pre; vi = (sd_pre^2 + sd_post^2 - 2 r sd_pre sd_post)/n "
        "(paired mean change with pre/post correlation r; metafor escalc MC)"
    )
    return EffectSizes(yi, vi, "MC", formula)


_SMCR_FORMULA = (
    "g = c(n-1) (m_post - m_pre)/sd_pre, c(m) = Gamma(m/2)/(sqrt(m/2) Gamma((m-1)/2)); "
    "vi = 2 (1 - r)/n + g^2/(2 n)"
)


def _smcr(a: Mapping[str, np.ndarray], s: str = "") -> tuple[np.ndarray, np.ndarray]:
    """SMCR core on prepared arrays whose keys carry the suffix ``s`` (for error locations)."""
    _check_sd(a, f"sd_pre{s}", positive=True)
    _check_n(a, f"n{s}", minimum=3, why=" for SMCR (c(n-1) needs n - 1 > 1)")
    n, r = a[f"n{s}"], a[f"r{s}"]
    yi = hedges_correction(n - 1) * (a[f"m_post{s}"] - a[f"m_pre{s}"]) / a[f"sd_pre{s}"]
    vi = 2 * (1 - r) / n + yi**2 / (2 * n)
    return yi, vi


def smcr(
    m_pre: ArrayLike,
    sd_pre: ArrayLike,
    m_post: ArrayLike,
    n: ArrayLike,
    r: ArrayLike,
) -> EffectSizes:
    """Standardised mean change with raw-score (pre-test SD) standardisation, bias-corrected.

    ``g = c(n-1) (m_post - m_pre) / sd_pre``; ``vi = 2 (1 - r)/n + g^2/(2 n)``
    (Becker 1988; Morris 2008; metafor ``SMCR``, ``vtype="LS"``). r = 1 gives
    ``vi = g^2/(2n)``, which is 0 when g = 0 (an error). Needs sd_pre > 0 and n >= 3.

    Same as metafor `escalc("SMCR", ...)` on the treated arms of Morris (2008) studies 1-2
    (yi 0.50555, 1.04812; vi 0.059390, 0.025386):

    Examples:
        >>> from bayesmeta.effects import smcr
        >>> es = smcr([30.6, 23.5], [15, 3.1], [38.5, 26.8], [20, 50], [0.47, 0.64])
        >>> es.yi.round(5).tolist(), es.vi.round(6).tolist()
        ([0.50555, 1.04812], [0.05939, 0.025386])
    """
    a = _prep(m_pre=m_pre, sd_pre=sd_pre, m_post=m_post, n=n, r=r)
    _check_r(a, "r")
    yi, vi = _smcr(a)
    _check_vi(vi, "r = 1 and no change")
    formula = f"SMCR {_SMCR_FORMULA} (Becker 1988; Morris 2008; metafor escalc SMCR)"
    return EffectSizes(yi, vi, "SMCR", formula)


def ppc(
    m_pre_t: ArrayLike,
    sd_pre_t: ArrayLike,
    m_post_t: ArrayLike,
    n_t: ArrayLike,
    m_pre_c: ArrayLike,
    sd_pre_c: ArrayLike,
    m_post_c: ArrayLike,
    n_c: ArrayLike,
    r_t: ArrayLike,
    r_c: ArrayLike | None = None,
) -> EffectSizes:
    """Pre-post-control effect: ``d_ppc = g_T - g_C`` of the two arms' `smcr()`, vi summed.

    Each arm is standardised by its own pre-test SD and bias-corrected with c(n-1); the arms
    are independent so ``vi = vi_T + vi_C`` (Becker 1988; Morris 2008, Table 5). ``r_c``
    defaults to ``r_t`` (one correlation per study).

    Same as Morris (2008) Table 5, studies 1-2: d_ppc 0.7421, 0.9524:

    Examples:
        >>> from bayesmeta.effects import ppc
        >>> es = ppc([30.6, 23.5], [15, 3.1], [38.5, 26.8], [20, 50],
        ...          [23.1, 24.9], [13.8, 4.1], [19.7, 25.3], [20, 42], r_t=[0.47, 0.64])
        >>> es.yi.round(4).tolist(), es.vi.round(4).tolist()
        ([0.7421, 0.9524], [0.1138, 0.0426])
    """
    a = _prep(
        m_pre_t=m_pre_t, sd_pre_t=sd_pre_t, m_post_t=m_post_t, n_t=n_t, r_t=r_t,
        m_pre_c=m_pre_c, sd_pre_c=sd_pre_c, m_post_c=m_post_c, n_c=n_c,
        r_c=r_t if r_c is None else r_c,
    )  # fmt: skip
    _check_r(a, "r_t", "r_c")
    yt, vt = _smcr(a, "_t")
    yc, vc = _smcr(a, "_c")
    vi = vt + vc
    _check_vi(vi, "r = 1 and no change in either arm")
    formula = (
        "PPC d = g_T - g_C, each arm " + _SMCR_FORMULA + "; vi = vi_T + vi_C "
        "(separate pre-test SDs; Becker 1988, Morris 2008 Table 5)"
    )
    return EffectSizes(yt - yc, vi, "PPC", formula)


# --------------------------------------------------------------------------- 2x2 tables

_TO = ("only0", "all", "if0all", "none")


def _rows(mask: np.ndarray, limit: int = 20) -> str:
    rows = [str(i + 1) for i in np.flatnonzero(mask)]
    return ", ".join(rows[:limit]) + (f", ... ({len(rows)} in all)" if len(rows) > limit else "")


def _table(
    ai: ArrayLike,
    bi: ArrayLike | None,
    ci: ArrayLike,
    di: ArrayLike | None,
    n1i: ArrayLike | None,
    n2i: ArrayLike | None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Validated cells (ai, bi, ci, di) from events and non-events or events and totals."""
    named: dict[str, ArrayLike] = {"ai": ai, "ci": ci}
    for cell, total, group in (("bi", "n1i", "first"), ("di", "n2i", "second")):
        value = bi if cell == "bi" else di
        tot = n1i if total == "n1i" else n2i
        if value is None and tot is None:
            raise InputError(f"need '{total}' (or '{cell}') for the {group} group", column=total)
        if value is not None:
            named[cell] = value
        if tot is not None:
            named[total] = tot
    a = _prep(**named)
    for ev, cell, total in (("ai", "bi", "n1i"), ("ci", "di", "n2i")):
        _fail_at(a[ev] < 0, "event count must be >= 0 (got {v})", ev, a[ev])
        if cell in a:
            _fail_at(a[cell] < 0, "non-event count must be >= 0 (got {v})", cell, a[cell])
            if total in a:
                _fail_at(
                    a[ev] + a[cell] != a[total],
                    f"{total} must equal {ev} + {cell} (got {total} = {{v}})",
                    total,
                    a[total],
                )
        else:
            _fail_at(a[total] < 1, "group size must be >= 1 (got {v})", total, a[total])
            _fail_at(
                a[ev] > a[total],
                f"event count exceeds the group size {total} (got {ev} = {{v}})",
                ev,
                a[ev],
            )
            a[cell] = a[total] - a[ev]
        _fail_at(
            a[ev] + a[cell] < 1, f"group size must be >= 1 (got {ev} + {cell} = {{v}})",
            ev, a[ev] + a[cell],
        )  # fmt: skip
    return a["ai"], a["bi"], a["ci"], a["di"]


def _corrected(zero: np.ndarray, add: float, to: str, eligible: np.ndarray) -> np.ndarray:
    """Which rows get the continuity correction (metafor's ``add``/``to``): none for
    ``add = 0`` or ``"none"``, the rows with a zero for ``"only0"``, every eligible row for
    ``"all"`` (and for ``"if0all"`` when any row has a zero)."""
    if add == 0 or to == "none":
        return np.zeros_like(zero)
    if to == "only0":
        return zero
    if to == "all" or zero.any():
        return eligible
    return np.zeros_like(zero)


def _correction_note(
    corrected: np.ndarray, add: float, to: str, where: tuple[str, str], none_needed: str
) -> str:
    """The formula text's sentence on the correction (``where``: only0 / all wording)."""
    if corrected.any():
        which = where[0] if to == "only0" else where[1]
        return f"; {add:g} added to {which} (rows {_rows(corrected)})"
    if add == 0 or to == "none":
        return "; no continuity correction"
    return f"; {none_needed}"


def _binary(
    measure: str,
    ai: ArrayLike,
    bi: ArrayLike | None,
    ci: ArrayLike,
    di: ArrayLike | None,
    n1i: ArrayLike | None,
    n2i: ArrayLike | None,
    add: float,
    to: str,
    drop00: bool,
) -> EffectSizes:
    a0, b0, c0, d0 = _table(ai, bi, ci, di, n1i, n2i)
    if not (np.isfinite(add) and add >= 0):
        raise InputError(f"continuity correction 'add' must be a number >= 0 (got {add})")
    if to not in _TO:
        raise InputError(f"unknown 'to' value '{to}' (one of {', '.join(_TO)})")
    double = ((a0 == 0) & (c0 == 0)) | ((b0 == 0) & (d0 == 0))
    dropped = double if drop00 else np.zeros_like(double)
    zero = ((a0 == 0) | (b0 == 0) | (c0 == 0) | (d0 == 0)) & ~dropped
    corrected = _corrected(zero, add, to, eligible=~dropped)
    shift = np.where(corrected, add, 0.0)
    a, b, c, d = a0 + shift, b0 + shift, c0 + shift, d0 + shift
    n1, n2 = a + b, c + d
    p1, p2 = a / n1, c / n2
    with np.errstate(divide="ignore", invalid="ignore"):
        if measure == "OR":
            yi = np.log(a * d / (b * c))
            vi = 1 / a + 1 / b + 1 / c + 1 / d
            text = (
                "log OR = log(ai di/(bi ci)); vi = 1/ai + 1/bi + 1/ci + 1/di "
                "(Woolf; metafor escalc OR)"
            )
            undefined = "log OR undefined: a zero cell and no continuity correction"
        elif measure == "RR":
            yi = np.log(p1 / p2)
            vi = 1 / a - 1 / n1 + 1 / c - 1 / n2
            text = (
                "log RR = log((ai/n1i)/(ci/n2i)); vi = 1/ai - 1/n1i + 1/ci - 1/n2i "
                "(metafor escalc RR)"
            )
            undefined = "log RR undefined: no events in a group and no continuity correction"
        else:
            yi = p1 - p2
            vi = p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2
            text = (
                "RD = ai/n1i - ci/n2i; vi = p1 (1-p1)/n1i + p2 (1-p2)/n2i "
                "(metafor escalc RD vtype='LS')"
            )
            undefined = "sampling variance 0: both risks are 0 or 1 and no continuity correction"
    ok = np.isfinite(yi) & np.isfinite(vi) & (vi > 0)
    _fail_at(~ok & ~dropped, undefined, None, vi)
    yi = np.where(dropped, np.nan, yi)
    vi = np.where(dropped, np.nan, vi)
    text += _correction_note(
        corrected, add, to, ("every cell of tables with a zero cell", "every cell of all tables"),
        f"no zero cells, so no continuity correction (add={add:g}, to='{to}')",
    )  # fmt: skip
    if dropped.any():
        text += f"; double-zero tables dropped, yi = vi = NaN (rows {_rows(dropped)})"
    elif double.any():
        text += f"; double-zero tables kept (rows {_rows(double)}), as metafor drop00=FALSE"
    return EffectSizes(yi, vi, measure, text, corrected=corrected)


def log_or(
    ai: ArrayLike,
    bi: ArrayLike | None = None,
    ci: ArrayLike | None = None,
    di: ArrayLike | None = None,
    *,
    n1i: ArrayLike | None = None,
    n2i: ArrayLike | None = None,
    add: float = 0.5,
    to: Literal["only0", "all", "if0all", "none"] = "only0",
    drop00: bool = False,
) -> EffectSizes:
    """Log odds ratio of tables [ai bi; ci di] (events/non-events, group 1 over group 2).

    Give ``bi``/``di`` or the totals ``n1i``/``n2i``. ``yi = log(ai di / (bi ci))``,
    ``vi = 1/ai + 1/bi + 1/ci + 1/di`` (Woolf). Continuity correction as metafor's defaults
    (``add=1/2, to="only0", drop00=False``): ``add`` is added to all four cells of each table
    with a zero cell; double-zero tables are kept (corrected) unless ``drop00=True``, which sets
    their yi, vi to NaN (RevMan / Cochrane Handbook practice). ``to="all"`` corrects every
    table, ``"if0all"`` every table if any has a zero cell, ``"none"`` none.

    Same as metafor `escalc("OR", ai, n1i = n1i, ci, n2i = n2i)`: yi -0.5108, -2.4123,
    0.2183 (the last two tables corrected); ``drop00=True`` drops the double-zero table:

    Examples:
        >>> from bayesmeta.effects import log_or
        >>> es = log_or([3, 0, 0], ci=[5, 4, 0], n1i=[12, 15, 20], n2i=[14, 16, 25])
        >>> es.yi.round(4).tolist(), es.vi.round(4).tolist(), es.corrected.tolist()
        ([-0.5108, -2.4123, 0.2183], [0.7556, 2.3667, 4.088], [False, True, True])
        >>> es = log_or([3, 0, 0], ci=[5, 4, 0], n1i=[12, 15, 20], n2i=[14, 16, 25], drop00=True)
        >>> es.yi.round(4).tolist()
        [-0.5108, -2.4123, nan]
    """
    if ci is None:
        raise InputError("need 'ci' (events in the second group)", column="ci")
    return _binary("OR", ai, bi, ci, di, n1i, n2i, add, to, drop00)


def log_rr(
    ai: ArrayLike,
    bi: ArrayLike | None = None,
    ci: ArrayLike | None = None,
    di: ArrayLike | None = None,
    *,
    n1i: ArrayLike | None = None,
    n2i: ArrayLike | None = None,
    add: float = 0.5,
    to: Literal["only0", "all", "if0all", "none"] = "only0",
    drop00: bool = False,
) -> EffectSizes:
    """Log risk ratio ``log((ai/n1i)/(ci/n2i))``, ``vi = 1/ai - 1/n1i + 1/ci - 1/n2i``.

    Zero cells as in `log_or()` (metafor ``RR``; same defaults).

    Same as metafor `escalc("RR", ...)` on BCG trials 1-2 (yi -0.8893, -1.5854; vi 0.3256,
    0.1946):

    Examples:
        >>> from bayesmeta.effects import log_rr
        >>> es = log_rr([4, 6], [119, 300], [11, 29], [128, 274])
        >>> es.yi.round(4).tolist(), es.vi.round(4).tolist()
        ([-0.8893, -1.5854], [0.3256, 0.1946])
    """
    if ci is None:
        raise InputError("need 'ci' (events in the second group)", column="ci")
    return _binary("RR", ai, bi, ci, di, n1i, n2i, add, to, drop00)


def rd(
    ai: ArrayLike,
    bi: ArrayLike | None = None,
    ci: ArrayLike | None = None,
    di: ArrayLike | None = None,
    *,
    n1i: ArrayLike | None = None,
    n2i: ArrayLike | None = None,
    add: float = 0.5,
    to: Literal["only0", "all", "if0all", "none"] = "only0",
    drop00: bool = False,
) -> EffectSizes:
    """Risk difference ``ai/n1i - ci/n2i``, ``vi = p1 (1-p1)/n1i + p2 (1-p2)/n2i``.

    metafor ``RD`` (``vtype="LS"``) applies the same zero-cell correction as `log_or()`
    by default, to both yi and vi; RevMan does not correct RD: use ``add=0`` for that.

    Same as metafor `escalc("RD", ...)` on the first Crins et al. study (yi -0.520492,
    vi 0.012274):

    Examples:
        >>> from bayesmeta.effects import rd
        >>> es = rd(14, ci=15, n1i=61, n2i=20)
        >>> es.yi.round(6).tolist(), es.vi.round(6).tolist()
        ([-0.520492], [0.012274])
        >>> rd([3, 0], ci=[5, 4], n1i=[12, 15], n2i=[14, 16], add=0).yi.round(4).tolist()
        [-0.1071, -0.25]
    """
    if ci is None:
        raise InputError("need 'ci' (events in the second group)", column="ci")
    return _binary("RD", ai, bi, ci, di, n1i, n2i, add, to, drop00)


def _proportion(
    measure: str, xi: ArrayLike, ni: ArrayLike | None, mi: ArrayLike | None, add: float, to: str
) -> EffectSizes:
    named: dict[str, ArrayLike] = {"xi": xi}
    if ni is None and mi is None:
        raise InputError("need 'ni' (group size) or 'mi' (non-events)", column="ni")
    if ni is not None:
        named["ni"] = ni
    if mi is not None:
        named["mi"] = mi
    a = _prep(**named)
    _fail_at(a["xi"] < 0, "event count must be >= 0 (got {v})", "xi", a["xi"])
    if "mi" in a:
        _fail_at(a["mi"] < 0, "non-event count must be >= 0 (got {v})", "mi", a["mi"])
        if "ni" in a:
            _fail_at(
                a["xi"] + a["mi"] != a["ni"], "ni must equal xi + mi (got ni = {v})", "ni", a["ni"]
            )
    else:
        _fail_at(a["ni"] < 1, "group size must be >= 1 (got {v})", "ni", a["ni"])
        _fail_at(a["xi"] > a["ni"], "event count exceeds the group size ni (got xi = {v})", "xi",
                 a["xi"])  # fmt: skip
        a["mi"] = a["ni"] - a["xi"]
    x0, m0 = a["xi"], a["mi"]
    _fail_at(x0 + m0 < 1, "group size must be >= 1 (got {v})", "xi", x0 + m0)
    if not (np.isfinite(add) and add >= 0):
        raise InputError(f"continuity correction 'add' must be a number >= 0 (got {add})")
    if to not in _TO:
        raise InputError(f"unknown 'to' value '{to}' (one of {', '.join(_TO)})")
    zero = (x0 == 0) | (m0 == 0)
    corrected = _corrected(zero, add, to, eligible=np.ones_like(zero))
    x, m = x0 + np.where(corrected, add, 0.0), m0 + np.where(corrected, add, 0.0)
    n = x + m
    with np.errstate(divide="ignore", invalid="ignore"):
        if measure == "PLO":
            yi, vi = np.log(x / m), 1 / x + 1 / m
            text = "logit p = log(xi/(ni - xi)); vi = 1/xi + 1/(ni - xi) (metafor escalc PLO)"
            undefined = "logit undefined: 0 or all events and no continuity correction"
        else:
            yi = x / n
            vi = yi * (1 - yi) / n
            text = "p = xi/ni; vi = p (1 - p)/ni (metafor escalc PR)"
            undefined = "sampling variance 0: 0 or all events and no continuity correction"
    _fail_at(~(np.isfinite(yi) & np.isfinite(vi) & (vi > 0)), undefined, None, vi)
    text += _correction_note(
        corrected, add, to,
        ("events and non-events of groups with 0 or all events",
         "events and non-events of all groups"),
        f"no 0 or all-event groups, so no continuity correction (add={add:g})",
    )  # fmt: skip
    return EffectSizes(yi, vi, measure, text, corrected=corrected)


def plo(
    xi: ArrayLike,
    ni: ArrayLike | None = None,
    *,
    mi: ArrayLike | None = None,
    add: float = 0.5,
    to: Literal["only0", "all", "if0all", "none"] = "only0",
) -> EffectSizes:
    """Logit of a proportion, ``yi = log(xi / (ni - xi))``, ``vi = 1/xi + 1/(ni - xi)``.

    Events ``xi`` of ``ni`` (or non-events ``mi``). As metafor's defaults, ``add = 1/2`` is
    added to events and non-events of a group with 0 or all events (``to="only0"``; also
    ``"all"``, ``"if0all"``, ``"none"``).

    Same as metafor `escalc("PLO", xi = c(0, 3, 10, 5), ni = c(10, 12, 10, 20))`: yi
    -3.0445, -1.0986, 3.0445, -1.0986; vi 2.0952, 0.4444, 2.0952, 0.2667:

    Examples:
        >>> from bayesmeta.effects import plo
        >>> es = plo([0, 3, 10, 5], [10, 12, 10, 20])
        >>> es.yi.round(4).tolist(), es.vi.round(4).tolist()
        ([-3.0445, -1.0986, 3.0445, -1.0986], [2.0952, 0.4444, 2.0952, 0.2667])
    """
    return _proportion("PLO", xi, ni, mi, add, to)


def pr(
    xi: ArrayLike,
    ni: ArrayLike | None = None,
    *,
    mi: ArrayLike | None = None,
    add: float = 0.5,
    to: Literal["only0", "all", "if0all", "none"] = "only0",
) -> EffectSizes:
    """Raw proportion ``yi = xi / ni``, ``vi = yi (1 - yi) / ni``; zero groups as `plo()`.

    Same as metafor `escalc("PR", xi = c(0, 3), ni = c(10, 12))`: yi 0.0455, 0.25; vi
    0.0039, 0.0156:

    Examples:
        >>> from bayesmeta.effects import pr
        >>> es = pr([0, 3], [10, 12])
        >>> es.yi.round(4).tolist(), es.vi.round(4).tolist()
        ([0.0455, 0.25], [0.0039, 0.0156])
    """
    return _proportion("PR", xi, ni, mi, add, to)


# --------------------------------------------------------------------------- DataFrame interface

#: (function parameter, conventional column) per measure, in call order.
_PARAMS: dict[str, tuple[tuple[str, str], ...]] = {
    "MD": (("m1", "m1i"), ("sd1", "sd1i"), ("n1", "n1i"), ("m2", "m2i"), ("sd2", "sd2i"),
           ("n2", "n2i")),
    "BA": tuple((c, c) for c in COLUMNS["BA"]),
    "MC": tuple((c, c) for c in COLUMNS["MC"]),
    "SMCR": tuple((c, c) for c in COLUMNS["SMCR"]),
    "PPC": tuple((c, c) for c in COLUMNS["PPC"][:-1]),
}  # fmt: skip
_PARAMS["SMD"] = _PARAMS["MD"]
_FUNCS: dict[str, Callable[..., EffectSizes]] = {
    "MD": md, "SMD": smd, "BA": before_after, "MC": mean_change, "SMCR": smcr, "PPC": ppc,
    "OR": log_or, "RR": log_rr, "RD": rd, "PLO": plo, "PR": pr,
}  # fmt: skip
_OPTIONS = {"MD": {"variance"}, "OR": {"add", "to", "drop00"}}
_OPTIONS["RR"] = _OPTIONS["RD"] = _OPTIONS["OR"]
_OPTIONS["PLO"] = _OPTIONS["PR"] = {"add", "to"}


def compute(
    df: pd.DataFrame,
    measure: str,
    *,
    columns: Mapping[str, str] | None = None,
    source: str | None = None,
    **options: Any,
) -> pd.DataFrame:
    """Add ``yi`` and ``vi`` for ``measure`` to a copy of ``df`` (raw columns -> effect sizes).

    Input columns have the conventional names of `COLUMNS`; ``columns`` maps a
    conventional name to the frame's own (e.g. ``{"ai": "exp.AR.events", "n1i": "exp.total"}``).
    ``options`` go to the measure's function (``variance`` for MD; ``add``, ``to``, ``drop00``
    for OR/RR/RD). The result's ``attrs`` hold ``measure`` and ``formula``; for 2x2 measures
    also ``corrected_rows`` (1-based) and, with ``drop00=True``, ``dropped_rows``, which are
    removed from the returned frame. Errors name ``source``, the 1-based row and the column.
    ``measure`` is case-insensitive (one of `MEASURES`).

    Same as metafor `escalc("OR", ai = exp.AR.events, n1i = exp.total, ci = cont.AR.events,
    n2i = cont.total, data = crins)`: yi -2.3097, -0.4595, ...; 0.5 added to row 6:

    Examples:
        >>> from bayesmeta import datasets
        >>> from bayesmeta.effects import compute
        >>> cols = {"ai": "exp.AR.events", "n1i": "exp.total", "ci": "cont.AR.events",
        ...         "n2i": "cont.total"}
        >>> es = compute(datasets.load("crins2014"), "OR", columns=cols)
        >>> es["yi"].round(4).tolist()[:2], es.attrs["measure"], es.attrs["corrected_rows"]
        ([-2.3097, -0.4595], 'OR', [6])
    """
    key = str(measure).strip().upper()
    if key not in _FUNCS:
        raise InputError(f"unknown measure '{measure}' (one of {', '.join(MEASURES)})", file=source)
    if df.shape[0] == 0:
        raise InputError("empty table: no study rows", file=source)
    unknown = set(options) - _OPTIONS.get(key, set())
    if unknown:
        allowed = ", ".join(sorted(_OPTIONS.get(key, set()))) or "none"
        raise InputError(
            f"unknown option(s) {', '.join(sorted(unknown))} for {key} (allowed: {allowed})",
            file=source,
        )
    colmap = dict(columns or {})
    roles = set(COLUMNS[key]) | {
        "BA": {"n"}, "PPC": {"r_t", "r_c"}, "OR": {"bi", "di"}, "RR": {"bi", "di"},
        "RD": {"bi", "di"}, "PLO": {"mi"}, "PR": {"mi"},
    }.get(key, set())  # fmt: skip
    stray = set(colmap) - roles
    if stray:
        raise InputError(
            f"unknown column role(s) {', '.join(sorted(stray))} for {key} "
            f"(expected: {', '.join(sorted(roles))})",
            file=source,
        )

    def name(role: str) -> str:
        return colmap.get(role, role)

    def has(role: str) -> bool:
        return name(role) in df.columns

    def col(role: str) -> np.ndarray:
        return numeric_column(df, name(role), file=source)

    where: dict[str, str] = {}  # function parameter -> frame column, for error locations
    args: dict[str, np.ndarray] = {}

    def take(param: str, role: str) -> None:
        args[param] = col(role)
        where[param] = name(role)

    if key in ("OR", "RR", "RD"):
        take("ai", "ai")
        take("ci", "ci")
        for cell, total in (("bi", "n1i"), ("di", "n2i")):
            if has(total):
                take(total, total)
            elif has(cell):
                take(cell, cell)
            else:
                raise InputError(
                    f"missing required column '{name(total)}' (or '{name(cell)}')",
                    file=source,
                    column=name(total),
                )
    elif key in ("PLO", "PR"):
        take("xi", "xi")
        if has("ni"):
            take("ni", "ni")
        elif has("mi"):
            take("mi", "mi")
        else:
            raise InputError(
                f"missing required column '{name('ni')}' (or '{name('mi')}')",
                file=source,
                column=name("ni"),
            )
    else:
        for param, role in _PARAMS[key]:
            if key == "BA" and role in ("n_pre", "n_post") and not has(role) and has("n"):
                role = "n"
            take(param, role)
        if key == "PPC":
            if has("r_t") and has("r_c"):
                take("r_t", "r_t")
                take("r_c", "r_c")
            else:
                take("r_t", "r")
    try:
        es = _FUNCS[key](**args, **options)
    except InputError as exc:
        column = where.get(exc.column, exc.column) if exc.column else None
        raise InputError(exc.message, file=source, row=exc.row, column=column) from None
    out = df.copy()
    out["yi"] = es.yi
    out["vi"] = es.vi
    out.attrs = {"measure": es.measure, "formula": es.formula}
    if es.corrected is not None:
        out.attrs["corrected_rows"] = [int(i) + 1 for i in np.flatnonzero(es.corrected)]
        dropped = np.isnan(es.yi)
        if dropped.any():
            out.attrs["dropped_rows"] = [int(i) + 1 for i in np.flatnonzero(dropped)]
            out = out.loc[~dropped]
    return out
