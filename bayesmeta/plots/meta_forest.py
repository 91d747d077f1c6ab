"""The one-call forest plot of `MetaResult`s in the RevMan 5 layout.

Columns, left to right: study (subgroup headings in bold), weight (percent), the estimate
with its interval as text, the interval drawn. Per subgroup a subtotal diamond with its
heterogeneity and overall-effect lines; then the total diamond(s), prediction interval(s),
and the heterogeneity, overall-effect and subgroup-difference lines, as RevMan prints them.

Ratio measures (OR, RR, HR, ...) are drawn and printed on the ratio scale with a log axis
and the null line at 1 (RevMan; metafor ``forest(..., atransf = exp)``); the axis is named
by the measure (`bayesmeta.scales`). Every number of one plot has the same decimals, chosen
from the spread of the study intervals on the display scale (`plot_decimals`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from matplotlib.transforms import blended_transform_factory
from scipy import special

from bayesmeta.errors import InputError
from bayesmeta.plots._style import pyplot
from bayesmeta.scales import Scale

COLOURS = ("black", "tab:blue", "tab:orange", "tab:green", "tab:purple", "tab:red")

# text columns, in figure fractions (the plot panel spans _PANEL)
_X_STUDY, _X_WEIGHT, _X_ESTIMATE = 0.01, 0.31, 0.535
_PANEL = (0.555, 0.985)


def is_result(x: Any) -> bool:
    """A `MetaResult` (duck-typed, so the plots import no engine or result module)."""
    return hasattr(x, "engine") and hasattr(x, "studies") and hasattr(x, "ci_low")


def as_list(results: Any) -> list[tuple[str, Any]]:
    """``[(label, result)]`` from one result, a list of them or a ``{label: result}`` map."""
    if is_result(results):
        return [(result_label(results), results)]
    if isinstance(results, Mapping) and results and all(map(is_result, results.values())):
        return [(str(k), v) for k, v in results.items()]
    if isinstance(results, Sequence) and results and all(map(is_result, results)):
        return [(result_label(r), r) for r in results]
    raise InputError("forest: give a MetaResult, a list of them or a {label: result} mapping")


def result_label(res: Any) -> str:
    """``engine (tau prior)`` of a Bayesian result, ``engine method, CI`` of a classical one."""
    if res.posterior is not None:
        return f"{res.engine} ({res.settings.get('tau_prior', '')})".replace(" ()", "")
    return f"{res.engine} {res.method}, {res.ci_method}"


def display_scale(result: Any, measure: str | None = None) -> tuple[Scale, Any]:
    """The `Scale` of ``measure`` (default: the result's own) and the vectorised map from
    the analysis scale to the display scale (exp for ratio measures).

    Examples:
        >>> from bayesmeta.plots.meta_forest import display_scale
        >>> scale, show = display_scale(None, "RR")
        >>> scale.axis_label, round(float(show(0.0)), 6)
        ('Risk ratio (log scale)', 1.0)
    """
    scale = Scale.of(measure if measure is not None else getattr(result, "measure", None))
    return scale, (np.exp if scale.ratio else (lambda v: np.asarray(v, float)))


def plot_decimals(lows: np.ndarray, highs: np.ndarray) -> int:
    """Decimals of every number in one plot: enough for two significant digits of the
    median study interval width on the display scale, at least 2 (RevMan) and at most 6.

    Examples:
        >>> import numpy as np
        >>> from bayesmeta.plots.meta_forest import plot_decimals
        >>> plot_decimals(np.array([-3.1, 0.2]), np.array([-1.0, 2.4]))
        2
        >>> plot_decimals(np.array([0.0010, 0.0020]), np.array([0.0042, 0.0051]))
        4
    """
    width = np.asarray(highs, float) - np.asarray(lows, float)
    width = width[np.isfinite(width) & (width > 0)]
    if width.size == 0:
        return 2
    return int(min(6, max(2, 1 - math.floor(math.log10(float(np.median(width)))))))


def fixed(x: Any, d: int) -> str:
    """``x`` with ``d`` decimals, never ``-0.00``; ``NA`` if missing, ``inf`` if infinite."""
    if x is None or not isinstance(x, (int, float, np.floating)) or math.isnan(float(x)):
        return "NA"
    x = float(x)
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    text = f"{x:.{d}f}"
    return text[1:] if text.startswith("-") and float(text) == 0 else text


def p_text(p: Any) -> str:
    """RevMan's P: ``P < 0.00001`` below 1e-5, one significant digit below 0.01, else two
    decimals.

    Examples:
        >>> from bayesmeta.plots.meta_forest import p_text
        >>> p_text(3e-7), p_text(1.9e-5), p_text(0.0042), p_text(0.2345)
        ('P < 0.00001', 'P = 0.00002', 'P = 0.004', 'P = 0.23')
    """
    if p is None or not math.isfinite(float(p)):
        return "P = NA"
    p = float(p)
    if p < 1e-5:
        return "P < 0.00001"
    if p < 0.01:  # one significant digit in fixed notation: 0.00002, 0.0003, 0.004
        return f"P = {p:.{-math.floor(math.log10(p))}f}"
    return f"P = {p:.2f}"


def method_text(res: Any) -> str:
    """The estimate column's method line, RevMan style (``IV, Random (REML)``...)."""
    pct = f"{100 * res.level:g}%"
    if res.posterior is not None:
        return f"Bayesian, {pct} CrI"
    if res.method in ("MH", "PETO"):
        return f"{'M-H' if res.method == 'MH' else 'Peto'}, Fixed, {pct} CI"
    if res.method == "FE":
        return f"IV, Fixed, {pct} CI"
    return f"IV, Random ({res.method}), {pct} CI"


def heterogeneity_text(res: Any, d: int) -> str | None:
    """``Heterogeneity: Tau² = ..; Chi² = .., df = .. (P = ..); I² = ..%`` (None if no Q)."""
    if res.q is None:
        return None
    tau = "" if res.tau2 is None else f"Tau\u00b2 = {fixed(res.tau2, d)}; "
    i2 = "NA" if res.i2 is None else f"{res.i2:.0f}%"
    return (
        f"Heterogeneity: {tau}Chi\u00b2 = {res.q:.2f}, df = {res.q_df} "
        f"({p_text(res.q_p)}); I\u00b2 = {i2}"
    )


def overall_text(res: Any) -> str | None:
    """``Test for overall effect: Z = .. (P = ..)`` (or t and its df) of a classical result."""
    if res.posterior is not None:
        p_gt = res.extra.get("p_mu_gt_0")
        return None if p_gt is None else f"Posterior P(mu > 0) = {p_gt:.3f}"
    z, p = res.extra.get("zval"), res.extra.get("pval")
    if z is None or p is None or not math.isfinite(float(z)):
        return None
    df = res.extra.get("df")
    stat = "Z" if df is None else f"t({float(df):.4g})"
    return f"Test for overall effect: {stat} = {abs(float(z)):.2f} ({p_text(p)})"


def forest_plot(
    results: Any,
    *,
    xlabel: str | None = None,
    title: str = "",
    reference: float | None = None,
    shrinkage: bool = True,
    measure: str | None = None,
    favours: Sequence[str] | None = None,
    digits: int | None = None,
    risk_of_bias: Any = None,
) -> Any:
    """Forest plot in the RevMan 5 layout (module docstring); returns the Figure.

    ``results`` is one `MetaResult` or several (a list, or ``{label: result}``) of the same
    studies, drawn side by side; the text columns are the first result's. ``measure``
    overrides the result's own; ``xlabel`` the measure's axis label; ``reference`` the null
    line (display scale; default 1 for ratios, else 0); ``favours`` = (left, right) labels
    under the axis; ``digits`` the decimals (default `plot_decimals`); ``risk_of_bias`` a
    DataFrame with ``study`` and one column per domain judgement, drawn as RevMan Web does:
    a coloured mark per study and domain right of the plot (`rob_mark`), the domains named
    under it. Study intervals are
    z-based from yi and vi. Bayesian results overlay the shrunken study estimates
    (``shrinkage=True``) and their weight column is the posterior mean weight.

    Examples:
        >>> from bayesmeta.classical import pool
        >>> from bayesmeta.inputs import load_studies
        >>> fig = pool(load_studies("crins2014"), "REML").plot_forest()
        >>> ax = fig.axes[0]
        >>> ax.get_xscale(), ax.get_xlabel()
        ('log', 'Odds ratio (log scale)')
        >>> texts = [t.get_text() for t in ax.texts]
        >>> "Heffron (2003)" in texts, "0.20 [0.11, 0.39]" in texts
        (True, True)
    """
    items = as_list(results)
    first = items[0][1]
    st = first.studies
    if st is None or st.empty:
        raise InputError("forest: the result holds no study rows")
    scale, show = display_scale(first, measure)
    null = scale.null if reference is None else reference

    z = float(-special.ndtri((1 - first.level) / 2))
    yi = st["yi"].to_numpy(float)
    se = np.sqrt(st["vi"].to_numpy(float))
    est, lo, hi = show(yi), show(yi - z * se), show(yi + z * se)
    d = plot_decimals(lo, hi) if digits is None else int(digits)

    def ci(e: Any, a: Any, b: Any) -> str:
        return f"{fixed(e, d)} [{fixed(a, d)}, {fixed(b, d)}]"

    def t(x: float) -> float:
        return float(show(x))

    weight = st["weight"].to_numpy(float) if "weight" in st.columns else None
    groups = [None] if "subgroup" not in st.columns else list(dict.fromkeys(st["subgroup"]))

    # one line per study; per subgroup a heading, a subtotal and its note lines
    layout: list[tuple[str, Any]] = []
    for g in groups:
        idx = list(range(len(st))) if g is None else list(np.flatnonzero(st["subgroup"] == g))
        if g is not None:
            layout.append(("header", g))
        layout += [("study", i) for i in idx]
        if g is not None:
            layout.append(("subtotal", g))
            sub = first.subgroups.get(str(g))
            if sub is not None:
                layout += [("note", x) for x in (heterogeneity_text(sub, d), overall_text(sub))
                           if x]  # fmt: skip
            layout.append(("gap", None))
    layout += [("pooled", j) for j in range(len(items))]
    layout += [("pi", j) for j, (_, r) in enumerate(items) if r.pi_low is not None]
    notes: list[str] = []
    for label, r in items:
        who = "" if len(items) == 1 else f"{label}: "
        notes += [who + x for x in (heterogeneity_text(r, d), overall_text(r)) if x]
        if r.q_between is not None:
            notes.append(
                f"{who}Test for subgroup differences: Chi\u00b2 = {r.q_between:.2f}, "
                f"df = {r.q_between_df} ({p_text(r.q_between_p)})"
            )
    layout += [("note", x) for x in notes]
    n = len(layout)

    plt = pyplot()
    fig = plt.figure(figsize=(12.0, 1.9 + 0.30 * n))
    bottom = 0.9 / (1.9 + 0.30 * n) + 0.02
    domains = [] if risk_of_bias is None else [c for c in risk_of_bias.columns if c != "study"]
    right = _PANEL[1] - 0.022 * len(domains)
    ax = fig.add_axes(
        (_PANEL[0], bottom, right - _PANEL[0], 0.97 - bottom - 0.9 / (1.9 + 0.30 * n))
    )
    ax.set_ylim(-0.6, n - 0.2)
    ax.set_yticks([])
    tr = blended_transform_factory(fig.transFigure, ax.transData)

    def text(x: float, y: float, s: str, **kw: Any) -> None:
        kw.setdefault("va", "center")
        ax.text(x, y, s, transform=tr, **kw)

    head = n - 0.3
    text(_X_STUDY, head, "Study or Subgroup", fontweight="bold", ha="left", va="bottom")
    if weight is not None:
        text(_X_WEIGHT, head, "Weight", fontweight="bold", ha="right", va="bottom")
    text(_X_ESTIMATE, head, f"{scale.name}\n{method_text(first)}", fontweight="bold",
         ha="right", va="bottom")  # fmt: skip
    size = (
        4 + 10 * np.sqrt(weight / np.nanmax(weight))
        if weight is not None
        else np.full(len(st), 6.0)
    )
    xs: list[float] = [*lo.tolist(), *hi.tolist(), null]
    for row, (kind, key) in enumerate(layout):
        y = n - 1 - row
        if kind == "header":
            text(_X_STUDY, y, str(key), fontweight="bold", ha="left")
        elif kind == "study":
            i = int(key)
            ax.plot([lo[i], hi[i]], [y, y], color="black", lw=1)
            ax.plot([est[i]], [y], marker="s", color="black", ms=size[i], ls="none")
            text(_X_STUDY, y, str(st["study"].iloc[i]), ha="left")
            text(_X_ESTIMATE, y, ci(est[i], lo[i], hi[i]), ha="right", fontsize=9)
            if weight is not None:
                text(_X_WEIGHT, y, f"{weight[i]:.1f}%", ha="right", fontsize=9)
            if shrinkage:
                _shrunk(ax, items, i, y, show)
            if domains:
                _rob_row(ax, tr, risk_of_bias, domains, str(st["study"].iloc[i]), y, right)
        elif kind == "subtotal":
            mask = (st["subgroup"] == key).to_numpy()
            text(_X_STUDY, y, f"Subtotal ({100 * first.level:g}% CI)", ha="left",
                 fontweight="bold")  # fmt: skip
            if weight is not None:
                text(_X_WEIGHT, y, f"{np.nansum(weight[mask]):.1f}%", ha="right", fontsize=9,
                     fontweight="bold")  # fmt: skip
            for j, (_, r) in enumerate(items):
                sub = r.subgroups.get(str(key))
                if sub is None:
                    continue
                yy = y - 0.15 * j
                _diamond(ax, yy, t(sub.estimate), t(sub.ci_low), t(sub.ci_high),
                         COLOURS[j % len(COLOURS)], 0.25)  # fmt: skip
                xs += [t(sub.ci_low), t(sub.ci_high)]
                if j == 0:
                    text(_X_ESTIMATE, y, ci(t(sub.estimate), t(sub.ci_low), t(sub.ci_high)),
                         ha="right", fontsize=9, fontweight="bold")  # fmt: skip
        elif kind == "pooled":
            label, r = items[int(key)]
            c = COLOURS[int(key) % len(COLOURS)]
            _diamond(ax, y, t(r.estimate), t(r.ci_low), t(r.ci_high), c, 0.32)
            xs += [t(r.ci_low), t(r.ci_high)]
            name = (f"Total ({100 * r.level:g}% {'CrI' if r.posterior is not None else 'CI'})"
                    if len(items) == 1 else f"Total: {label}")  # fmt: skip
            text(_X_STUDY, y, name, ha="left", fontweight="bold", color=c)
            text(_X_ESTIMATE, y, ci(t(r.estimate), t(r.ci_low), t(r.ci_high)), ha="right",
                 fontsize=9, fontweight="bold")  # fmt: skip
            if weight is not None and len(items) == 1:
                text(_X_WEIGHT, y, "100.0%", ha="right", fontsize=9, fontweight="bold")
        elif kind == "pi":
            label, r = items[int(key)]
            c = COLOURS[int(key) % len(COLOURS)]
            ax.plot([t(r.pi_low), t(r.pi_high)], [y, y], color=c, lw=3, solid_capstyle="butt")
            xs += [t(r.pi_low), t(r.pi_high)]
            name = "Prediction interval" + ("" if len(items) == 1 else f": {label}")
            text(_X_STUDY, y, name, ha="left", color=c, fontsize=9)
            text(_X_ESTIMATE, y, f"[{fixed(t(r.pi_low), d)}, {fixed(t(r.pi_high), d)}]",
                 ha="right", fontsize=9)  # fmt: skip
        elif kind == "note":
            text(_X_STUDY, y, str(key), ha="left", fontsize=8)
    _axis(ax, scale, xs, null, xlabel)
    if domains:
        for j, _ in enumerate(domains):
            text(right + 0.012 + 0.022 * j, head, chr(65 + j), ha="center", va="bottom",
                 fontweight="bold")  # fmt: skip
        key = "; ".join(f"({chr(65 + j)}) {d}" for j, d in enumerate(domains))
        fig.text(0.01, 0.02, f"Risk of bias: {key}", fontsize=7, va="bottom")
    if favours:
        if len(favours) != 2:
            raise InputError("forest: favours takes two labels (left, right)")
        for x, s, ha in ((0.0, favours[0], "left"), (1.0, favours[1], "right")):
            ax.annotate(s, (x, 0), xycoords="axes fraction", xytext=(0, -24),
                        textcoords="offset points", ha=ha, va="top", fontsize=9)  # fmt: skip
        ax.xaxis.labelpad = 18
    if weight is not None and first.posterior is not None:
        fig.text(0.01, 0.005, "Weight: posterior mean of the inverse-variance weights "
                 "(R bayesmeta $weights)", fontsize=7, va="bottom")  # fmt: skip
    if title:
        fig.suptitle(title)
    return fig


def _axis(ax: Any, scale: Scale, xs: list[float], null: float | None, xlabel: str | None) -> None:
    """Symmetric limits about the null (log-symmetric for ratios), null line, label."""
    from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator

    centre = scale.null if null is None else null
    vals = np.asarray([v for v in xs if v is not None], float)
    if scale.ratio:
        vals = vals[np.isfinite(vals) & (vals > 0)]
        m = float(np.max(np.abs(np.log(vals / centre)))) if vals.size else 1.0
        m = max(m, 1e-3) * 1.08
        ax.set_xscale("log")
        ax.set_xlim(centre * math.exp(-m), centre * math.exp(m))
        ticks = [v for e in range(-6, 7) for v in (10.0**e, 2 * 10.0**e, 5 * 10.0**e)]
        lo, hi = ax.get_xlim()
        inside = [v for v in ticks if lo <= v <= hi]
        if len(inside) > 9:
            inside = [v for v in inside if math.log10(v).is_integer() or v == centre]
        ax.xaxis.set_major_locator(FixedLocator(inside))
        ax.xaxis.set_minor_locator(NullLocator())
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    else:
        vals = vals[np.isfinite(vals)]
        m = float(np.max(np.abs(vals - centre))) if vals.size else 1.0
        m = (m if m > 0 else 1.0) * 1.08
        ax.set_xlim(centre - m, centre + m)
    if null is not None:
        ax.axvline(null, color="0.4", lw=0.8, gid="null line")
    ax.set_xlabel(scale.axis_label if xlabel is None else xlabel)
    for side in ("left", "right", "top"):
        ax.spines[side].set_visible(False)


#: RevMan Web's risk-of-bias marks: judgement (lower case, prefix) -> (symbol, colour)
ROB_MARKS = {
    "low": ("+", "#4caf50"),
    "some": ("?", "#ffc107"),
    "unclear": ("?", "#ffc107"),
    "high": ("\u2212", "#e53935"),
}


def rob_mark(judgement: Any) -> tuple[str, str]:
    """The mark and colour of a judgement ("Low risk" -> "+", green; "Unclear risk" and
    "Some concerns" -> "?", amber; "High risk" -> a minus sign, red); blank for anything else.

    Examples:
        >>> from bayesmeta.plots.meta_forest import rob_mark
        >>> rob_mark("Low risk"), rob_mark("Some concerns")[0], rob_mark("Not applicable")
        (('+', '#4caf50'), '?', ('', 'white'))
    """
    t = str(judgement or "").strip().lower()
    for prefix, mark in ROB_MARKS.items():
        if t.startswith(prefix):
            return mark
    return "", "white"


def _rob_row(ax: Any, tr: Any, rob: Any, domains: list[str], study: str, y: float,
             right: float) -> None:  # fmt: skip
    rows = rob[rob["study"].astype(str) == study]
    if rows.empty:
        return
    for j, d in enumerate(domains):
        symbol, colour = rob_mark(rows.iloc[0][d])
        if symbol:
            ax.text(right + 0.012 + 0.022 * j, y, symbol, transform=tr, ha="center",
                    va="center", fontsize=8, fontweight="bold", color="white",
                    bbox={"boxstyle": "circle,pad=0.15", "fc": colour, "ec": "none"},
                    gid="risk of bias")  # fmt: skip


def _diamond(ax: Any, y: float, est: float, lo: float, hi: float, colour: str, h: float) -> None:
    ax.fill([lo, est, hi, est], [y, y + h, y, y - h], color=colour, zorder=3)


def _shrunk(ax: Any, items: list[tuple[str, Any]], i: int, y: float, show: Any) -> None:
    """Overlay the shrunken estimate of study ``i`` of every Bayesian result."""
    for j, (_, r) in enumerate(items):
        s = r.studies
        if r.posterior is None or s is None or "median" not in s.columns:
            continue
        c = COLOURS[(j if j else 1) % len(COLOURS)]
        yy = y - 0.22
        lo, hi, med = show([s["ci_low"].iloc[i], s["ci_high"].iloc[i], s["median"].iloc[i]])
        ax.plot([lo, hi], [yy, yy], color=c, lw=1, alpha=0.8)
        ax.plot([med], [yy], marker="o", color=c, ms=4, ls="none")
