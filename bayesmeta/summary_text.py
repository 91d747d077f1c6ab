"""The printed summary of a `MetaResult`, in the style of metafor's ``print.rma`` and R
bayesmeta's ``print``: numbers to a sensible number of significant digits, the test of the
estimate, heterogeneity, and every setting and prior.
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

#: a `bayesmeta.results.MetaResult`, duck-typed: results.py imports this module
MetaResult = Any


def _finite(x: Any) -> bool:
    return x is not None and isinstance(x, (int, float)) and math.isfinite(float(x))


def and_list(items: Sequence[str]) -> str:
    """Items joined for running text: 'a', 'a and b', 'a, b and c'.

    Examples:
        >>> from bayesmeta.summary_text import and_list
        >>> and_list(["MSC"]), and_list(["MSC", "BM-MNC", "BM-HSC"])
        ('MSC', 'MSC, BM-MNC and BM-HSC')
    """
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def decimals(values: Iterable[Any], digits: int = 4) -> int:
    """Decimals that show ``digits`` significant digits of the largest finite value (0-6).

    Examples:
        >>> from bayesmeta.summary_text import decimals
        >>> decimals([0.0123, 0.5]), decimals([15.12, 685.2]), decimals([1e-9])
        (4, 1, 6)
    """
    big = max((abs(float(v)) for v in values if _finite(v) and float(v) != 0), default=1.0)
    return int(min(6, max(0, digits - 1 - math.floor(math.log10(big)))))


def num(x: Any, dec: int) -> str:
    """``x`` with ``dec`` decimals; ``NA`` if missing; scientific notation when huge or tiny.

    Examples:
        >>> from bayesmeta.summary_text import num
        >>> num(3.14159, 2), num(None, 2), num(2.5e12, 2), num(float("inf"), 2)
        ('3.14', 'NA', '2.5e+12', 'inf')
    """
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "NA"
    x = float(x)
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    if x != 0 and (abs(x) >= 1e7 or abs(x) < 10.0 ** (-dec) / 2):
        return f"{x:.4g}"
    return f"{x:.{dec}f}"


def pvalue(p: Any) -> str:
    """metafor's p-value text: ``<.0001`` below 1e-4, else 4 decimals.

    Examples:
        >>> from bayesmeta.summary_text import pvalue
        >>> pvalue(3e-7), pvalue(0.04567), pvalue(None)
        ('<.0001', '0.0457', 'NA')
    """
    if not _finite(p):
        return "NA"
    return "<.0001" if float(p) < 1e-4 else f"{float(p):.4f}"


def table(header: Sequence[str], rows: Sequence[Sequence[str]], indent: str = "  ") -> list[str]:
    """Right-aligned columns (the first left-aligned) as text lines."""
    cols = list(zip(header, *rows, strict=True))
    widths = [max(len(str(c)) for c in col) for col in cols]
    out = []
    for line in [list(header), *[list(r) for r in rows]]:
        cells = [
            str(c).ljust(w) if i == 0 else str(c).rjust(w)
            for i, (c, w) in enumerate(zip(line, widths, strict=True))
        ]
        out.append(indent + "  ".join(cells).rstrip())
    return out


_LONG_NUMBER = re.compile(r"(?<![\w.])-?\d+\.\d{7,}(?:[eE][+-]?\d+)?")


def short_numbers(text: str) -> str:
    """``text`` with every decimal of more than 6 fractional digits shown to 6 significant
    digits (a default prior's scale is computed to full precision; it is printed shorter).

    Examples:
        >>> short_numbers("tau ~ halfnormal(49.24375389312915), k = 8")
        'tau ~ halfnormal(49.2438), k = 8'
    """
    return _LONG_NUMBER.sub(lambda m: f"{float(m.group(0)):.6g}", text)


def _settings_lines(res: MetaResult) -> list[str]:
    lines = []
    for key, val in res.settings.items():
        if key == "default_prior":
            continue
        lines.append(f"  {key}: {short_numbers(str(val))}")
    if "default_prior" in res.settings:
        lines.append(f"  note: {short_numbers(str(res.settings['default_prior']))}")
    return lines


def classical(res: MetaResult) -> list[str]:
    """metafor ``print.rma``-style lines of a classical result."""
    pct = round(100 * res.level)
    fixed = res.tau2 is None
    kind = "Fixed-effect (common-effect)" if fixed else "Random-effects"
    est = f" tau^2 estimator: {res.method};" if not fixed else ""
    named = {"MH": "Mantel-Haenszel", "Peto": "Peto"}.get(res.method)
    if named:
        est = f" {named} {res.extra.get('measure', '')};"
    lines = [f"{kind} model (k = {res.k};{est} CI: {res.ci_method})", ""]
    if not fixed:
        d = decimals([res.tau2, res.tau2_ci_high, res.tau])
        ci = ""
        if _finite(res.tau2_ci_low) and _finite(res.tau2_ci_high):
            ci = f" ({pct}% CI [{num(res.tau2_ci_low, d)}, {num(res.tau2_ci_high, d)}])"
        lines.append(f"tau^2 (estimated amount of total heterogeneity): {num(res.tau2, d)}{ci}")
        lines.append(f"tau (square root of estimated tau^2 value):      {num(res.tau, d)}")
    if res.i2 is not None:
        lines.append(f"I^2 (total heterogeneity / total variability):   {num(res.i2, 2)}%")
        lines.append(f"H^2 (total variability / sampling variability):  {num(res.h2, 2)}")
    if res.q is not None:
        lines += [
            "",
            "Test for heterogeneity:",
            f"Q(df = {res.q_df}) = {num(res.q, 4)}, p-val {_p_eq(res.q_p)}",
        ]
    stat = "tval" if res.ci_method.startswith("hksj") else "zval"
    z, p = res.extra.get("zval"), res.extra.get("pval")
    d = decimals([res.estimate, res.ci_low, res.ci_high, res.se])
    lines += ["", "Model results:"]
    lines += table(
        ["", "estimate", "se", stat, "pval", f"ci.lb ({pct}%)", "ci.ub"],
        [
            [
                "mu",
                num(res.estimate, d),
                num(res.se, d),
                num(z, 4) if z is not None else "NA",
                pvalue(p),
                num(res.ci_low, d),
                num(res.ci_high, d),
            ]
        ],
    )
    if res.pi_low is not None:
        lines.append(f"prediction interval ({pct}%): [{num(res.pi_low, d)}, {num(res.pi_high, d)}]")
    ratio = res.extra.get("measure")
    if ratio in ("OR", "RR") and _finite(res.estimate):
        e = [math.exp(x) for x in (res.estimate, res.ci_low, res.ci_high)]
        de = decimals(e)
        lines.append(f"pooled {ratio} = exp(estimate): {num(e[0], de)} "
                     f"({pct}% CI [{num(e[1], de)}, {num(e[2], de)}])")  # fmt: skip
    lines += _subgroup_lines(res, d)
    return lines


def _p_eq(p: Any) -> str:
    text = pvalue(p)
    return text if text.startswith("<") else f"= {text}"


def _subgroup_lines(res: MetaResult, d: int) -> list[str]:
    if not res.subgroups:
        return []
    pct = round(100 * res.level)
    rows = []
    for name, sub in res.subgroups.items():
        rows.append(
            [
                str(name),
                str(sub.k),
                num(sub.estimate, d),
                num(sub.ci_low, d),
                num(sub.ci_high, d),
                num(sub.tau2, decimals([sub.tau2])),
            ]
        )
    lines = ["", "Subgroups:"]
    lines += table(["", "k", "estimate", f"{pct}% low", "high", "tau^2"], rows)
    if res.q_between is not None:
        lines.append(
            f"Test for subgroup differences: Q(df = {res.q_between_df}) = "
            f"{num(res.q_between, 4)}, p-val {_p_eq(res.q_between_p)}"
        )
    return lines


def bayesian(res: MetaResult) -> list[str]:
    """R bayesmeta ``print``-style lines of a Bayesian result (exact or PyMC)."""
    pct = round(100 * res.level)
    engine = "exact engine" if res.engine == "exact" else f"{res.engine} (MCMC)"
    lines = [f"Bayesian random-effects meta-analysis ({engine}; k = {res.k}; {res.method})", ""]
    post = res.posterior
    if post is not None:
        rows = [r for r in ("mu", "tau", "theta_new") if r in post.index]
        rows += [r for r in post.index if r not in rows and str(r).startswith("mu[")]
        d = decimals(post.loc[rows, ["median", "ci_low", "ci_high", "sd"]].to_numpy().ravel())
        body = [
            [
                str(r),
                num(post.loc[r, "mean"], d),
                num(post.loc[r, "sd"], d),
                num(post.loc[r, "median"], d),
                num(post.loc[r, "ci_low"], d),
                num(post.loc[r, "ci_high"], d),
            ]
            for r in rows
        ]
        lines.append(f"Posterior ({res.ci_method} {pct}% credible intervals):")
        lines += table(["", "mean", "sd", "median", "lower", "upper"], body)
        if "p_mu_gt_0" in res.extra:
            lines.append(f"  P(mu > 0) = {num(res.extra['p_mu_gt_0'], 4)}")
        lines += _subgroup_lines(res, d)
    lines += ["", "Priors and settings:", *_settings_lines(res)]
    if res.diagnostics and res.engine != "exact":
        lines += ["", "Sampler diagnostics: " + diagnostics_line(res.diagnostics)]
    return lines


def diagnostics_line(diag: Mapping[str, Any]) -> str:
    """Sampler diagnostics in one line, to sensible digits (keys as `diagnose` returns them).

    Examples:
        >>> diagnostics_line({"max_rhat": 1.0024969, "max_rhat_param": "theta[D]",
        ...     "min_ess_bulk": 566.12, "min_ess_bulk_param": "tau", "min_ess_tail": 547.56,
        ...     "min_ess_tail_param": "tau", "divergences": 0, "min_bfmi": 0.84791,
        ...     "treedepth_hits": 0, "chains": 2, "draws": 1000})  # doctest: +ELLIPSIS
        'R-hat max 1.002 (theta[D]); ESS bulk min 566 (tau), tail min 548 (tau); 0 divergences; ...'
    """
    known = {
        "max_rhat", "max_rhat_param", "min_ess_bulk", "min_ess_bulk_param", "min_ess_tail",
        "min_ess_tail_param", "divergences", "min_bfmi", "treedepth_hits", "chains", "draws",
    }  # fmt: skip

    def where(key: str) -> str:
        return f" ({diag[key]})" if diag.get(key) else ""

    def fmt(x: Any, spec: str) -> str:
        return format(float(x), spec) if _finite(x) else "NA"

    parts = []
    if "max_rhat" in diag:
        parts.append(f"R-hat max {fmt(diag['max_rhat'], '.4g')}{where('max_rhat_param')}")
    if "min_ess_bulk" in diag:
        ess = f"ESS bulk min {fmt(diag['min_ess_bulk'], '.0f')}{where('min_ess_bulk_param')}"
        if "min_ess_tail" in diag:
            ess += f", tail min {fmt(diag['min_ess_tail'], '.0f')}{where('min_ess_tail_param')}"
        parts.append(ess)
    if "divergences" in diag:
        parts.append(f"{diag['divergences']} divergences")
    if "min_bfmi" in diag:
        parts.append(f"E-BFMI min {fmt(diag['min_bfmi'], '.3g')}")
    if "treedepth_hits" in diag:
        parts.append(f"{diag['treedepth_hits']} tree-depth hits")
    if "chains" in diag and "draws" in diag:
        parts.append(f"{diag['chains']} chains x {diag['draws']} draws")
    for key, val in diag.items():
        if key not in known:
            parts.append(f"{key} {fmt(val, '.4g') if isinstance(val, float) else val}")
    return "; ".join(parts)


def text(res: MetaResult) -> str:
    """The whole printed summary of ``res``."""
    lines = bayesian(res) if res.posterior is not None else classical(res)
    if res.posterior is None:
        lines += ["", "Settings:", *_settings_lines(res)]
    lines += [f"warning: {w}" for w in res.warnings]
    return "\n".join(lines)


def html_block(res: MetaResult) -> str:
    """The summary as preformatted HTML (the notebook display)."""
    return f"<pre>{html.escape(text(res))}</pre>"
