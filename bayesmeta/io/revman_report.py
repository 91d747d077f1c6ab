"""``bayesmeta revman FILE --out DIR``: each analysis of a RevMan file three ways.

For every analysis (an outcome, or a subgroup of one) with two or more estimable studies:

1. RevMan's own result as stored in the file, beside this package's recomputation with the
   same method (`bayesmeta.io.revman.compare_all`);
2. the Cochrane 2025 settings (`bayesmeta.classical.presets`: REML, Hartung-Knapp-Sidik-
   Jonkman interval, prediction interval) on the inverse-variance study estimates;
3. the exact Bayesian re-analysis (`bayesmeta.exact.NormalNormal`) with the package's
   default priors for that measure (`bayesmeta.defaults`), and a prior-sensitivity line: the
   default sweep of tau priors (`bayesmeta.sensitivity.command.default_sweep`) and whether
   the 95 % credible interval excludes the null under all, some or none of them;

then a verdict: does the pooled effect's 95 % interval exclude the null under all three?
Writes ``report.md``, ``report.html`` (figures embedded), ``revman.json`` and one RevMan-layout
forest plot per analysis under ``figures/``.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from bayesmeta.io.revman import RevManAnalysis, compare_all, study_estimates


def _fmt(x: float | None, ratio: bool, digits: int = 3) -> str:
    if x is None or not math.isfinite(x):
        return "-"
    return f"{x:.{digits}g}" if ratio else f"{x:.{digits + 1}g}"


def _ci(est: float | None, lo: float | None, hi: float | None, ratio: bool) -> str:
    return f"{_fmt(est, ratio)} [{_fmt(lo, ratio)}, {_fmt(hi, ratio)}]"


def _excludes_null(lo: float | None, hi: float | None, ratio: bool) -> bool:
    null = 1.0 if ratio else 0.0
    return lo is not None and hi is not None and (lo > null or hi < null)


def _unique(names: Any) -> list[str]:
    """Study labels made unique as R's ``make.unique`` does ("A", "A.1", ...)."""
    seen: dict[str, int] = {}
    out = []
    for n in map(str, names):
        if n in seen:
            seen[n] += 1
            out.append(f"{n}.{seen[n]}")
        else:
            seen[n] = 0
            out.append(n)
    return out


def analyse(a: RevManAnalysis, entry: dict[str, Any]) -> dict[str, Any]:
    """The Cochrane 2025 and exact Bayesian re-analyses of one analysis, on RevMan's scale.

    Examples:
        >>> import pandas as pd
        >>> from bayesmeta.io.revman import RevManAnalysis, compare_stored
        >>> from bayesmeta.io.revman_report import analyse
        >>> studies = pd.DataFrame({"study": list("ABCD"), "estimate": [0.2, 0.4, 0.1, 0.5],
        ...                         "se": [0.1, 0.2, 0.15, 0.2]})
        >>> a = RevManAnalysis(1, 1, None, "Score", "generic", "IV", "MD", "fixed",
        ...                    studies=studies)
        >>> out = analyse(a, compare_stored(a))
        >>> sorted(out), out["bayes"]["tau_prior"][:10]
        (['bayes', 'cochrane', 'sensitivity', 'verdict'], 'halfcauchy')
    """
    from bayesmeta.classical import pool
    from bayesmeta.exact import NormalNormal
    from bayesmeta.sensitivity import sweep
    from bayesmeta.sensitivity.command import default_sweep
    from bayesmeta.studies import StudyTable

    yi, vi = study_estimates(a)
    ok = np.isfinite(yi) & np.isfinite(vi) & (vi > 0)
    back = math.exp if a.ratio else (lambda x: x)
    ni = None
    if {"total_1", "total_2"} <= set(a.studies.columns):
        ni = (a.studies["total_1"] + a.studies["total_2"]).to_numpy(float)[ok]
    measure = a.measure if a.measure in ("OR", "RR", "HR") else None
    table = StudyTable.from_arrays(
        yi[ok], vi[ok], study=_unique(a.studies["study"][ok]), ni=ni, measure=measure
    )
    out: dict[str, Any] = {}
    if table.k >= 2:
        c = pool(table, preset="cochrane2025")
        out["cochrane"] = {
            "estimate": back(c.estimate), "ci_low": back(c.ci_low), "ci_high": back(c.ci_high),
            "tau2": c.tau2, "pi_low": None if c.pi_low is None else back(c.pi_low),
            "pi_high": None if c.pi_high is None else back(c.pi_high), "result": c,
        }  # fmt: skip
    fit = NormalNormal.from_table(table)
    r = fit.to_result()
    out["bayes"] = {
        "estimate": back(r.estimate), "ci_low": back(r.ci_low), "ci_high": back(r.ci_high),
        "tau_median": math.sqrt(r.tau2 or 0.0), "tau_prior": fit.tau_prior.text,
        "mu_prior": fit.mu_prior.text, "p_above_null": float(r.extra["p_mu_gt_0"]),
        "result": r,
    }  # fmt: skip
    sw = sweep(table, default_sweep(table), "flat")
    excl = int(((sw["mu_ci_low"] > 0) | (sw["mu_ci_high"] < 0)).sum())
    out["sensitivity"] = {
        "priors": len(sw), "excludes_null": excl,
        "median_low": back(float(sw["mu_median"].min())),
        "median_high": back(float(sw["mu_median"].max())),
    }  # fmt: skip
    rec = entry["recomputed"]
    checks = {
        "RevMan's analysis": _excludes_null(rec["ci_low"], rec["ci_high"], a.ratio),
        "Cochrane 2025": "cochrane" in out
        and _excludes_null(out["cochrane"]["ci_low"], out["cochrane"]["ci_high"], a.ratio),
        "exact Bayes": _excludes_null(out["bayes"]["ci_low"], out["bayes"]["ci_high"], a.ratio),
    }
    out["verdict"] = checks
    return out


def write_revman_report(
    analyses: list[RevManAnalysis], out: str | Path, source: str = ""
) -> tuple[Path, Path]:
    """Write the report of every analysis (module docstring); returns (report.md, .html)."""
    from bayesmeta.plots.meta_forest import forest_plot
    from bayesmeta.review.report import markdown_to_html
    from bayesmeta.summary_text import short_numbers

    folder = Path(out)
    (folder / "figures").mkdir(parents=True, exist_ok=True)
    entries = compare_all(analyses)
    flat: list[RevManAnalysis] = []
    for a in analyses:
        flat += [a, *a.subgroups]
    lines = [f"# RevMan analyses re-analysed: {source}", ""]
    lines += [
        "Each analysis three ways: RevMan's own result (stored in the file) beside this "
        "package's recomputation with the same method; the Cochrane 2025 settings (REML, "
        "Hartung-Knapp-Sidik-Jonkman, prediction interval); and the exact Bayesian "
        "re-analysis with the package's default priors for the measure. Ratios as RevMan "
        "prints them.",
        "",
    ]
    dump = []
    by_key = {(e["comparison"], e["outcome"], e["subgroup"]): e for e in entries}
    for a in flat:
        e = by_key.get((a.comparison, a.outcome, a.subgroup))
        if e is None:
            continue
        if e["match"] is None:
            lines += [f"## {a.label}", "", f"Skipped: {e['skipped']}.", ""]
            dump.append(e)
            continue
        res = analyse(a, e)
        st, rc = e["stored"], e["recomputed"]
        r = a.ratio
        lines += [f"## {a.label} ({a.method} {a.measure}, {a.model} effect, k = {e['k']})", ""]
        rows = [
            ("RevMan (stored)", _ci(st["estimate"], st["ci_low"], st["ci_high"], r)
             if st["estimate"] is not None else "not stored", _fmt(st["i2"], False), "-"),
            (f"recomputed ({a.method})", _ci(rc["estimate"], rc["ci_low"], rc["ci_high"], r),
             _fmt(rc["i2"], False), _fmt(rc["tau2"], False)),
        ]  # fmt: skip
        if "cochrane" in res:
            c = res["cochrane"]
            pi = f"; PI [{_fmt(c['pi_low'], r)}, {_fmt(c['pi_high'], r)}]" if c["pi_low"] else ""
            rows.append(("Cochrane 2025 (REML, HKSJ)",
                         _ci(c["estimate"], c["ci_low"], c["ci_high"], r) + pi, "-",
                         _fmt(c["tau2"], False)))  # fmt: skip
        b = res["bayes"]
        rows.append((short_numbers(f"exact Bayes (mu {b['mu_prior']}, tau {b['tau_prior']})"),
                     _ci(b["estimate"], b["ci_low"], b["ci_high"], r), "-",
                     f"tau {_fmt(b['tau_median'], False)}"))  # fmt: skip
        lines += ["| analysis | estimate [95 % interval] | I² (%) | tau² |", "|---|---|---|---|"]
        lines += [f"| {x[0]} | {x[1]} | {x[2]} | {x[3]} |" for x in rows]
        sens = res["sensitivity"]
        stored_any = any(v is not None for v in st.values())
        match = ("nothing stored to compare" if not stored_any else "yes" if e["match"]
                 else "no (" + ", ".join(e["mismatches"][:6]) + ")")  # fmt: skip
        word = ("all" if sens["excludes_null"] == sens["priors"] else
                "none" if sens["excludes_null"] == 0 else f"{sens['excludes_null']}")  # fmt: skip
        lines += [
            "",
            f"Match with RevMan: {match}. "
            f"Prior sensitivity: under {sens['priors']} tau priors (half-normal and half-Cauchy, "
            f"0.2 to 4 times the default scale) the posterior median runs from "
            f"{_fmt(sens['median_low'], r)} to {_fmt(sens['median_high'], r)} and the 95 % "
            f"credible interval excludes the null under {word} of them.",
        ]  # fmt: skip
        held = [k for k, v in res["verdict"].items() if v]
        verdict = (
            "the effect's interval excludes the null under all three analyses"
            if len(held) == 3
            else f"the interval excludes the null under {', '.join(held)} only"
            if held
            else "no analysis excludes the null"
        )
        lines += [f"**Verdict:** {verdict}.", ""]
        results = {"exact Bayes": b["result"]}
        if "cochrane" in res:
            results = {"Cochrane 2025": res["cochrane"]["result"], **results}
        try:
            fig = forest_plot(results, measure=a.measure, favours=a.favours,
                              risk_of_bias=a.risk_of_bias)  # fmt: skip
            name = f"forest_{a.comparison}_{a.outcome}" + (f"_{a.subgroup}" if a.subgroup else "")
            fig.savefig(folder / "figures" / f"{name}.png", dpi=150)
            _close(fig)
            lines += [f"![Forest plot, {a.label}](figures/{name}.png)", ""]
        except Exception as exc:  # noqa: BLE001 - a figure must not stop the report
            lines += [f"(forest plot not drawn: {exc})", ""]
        cochrane = {k: v for k, v in res.get("cochrane", {}).items() if k != "result"}
        dump.append({
            **e, "cochrane2025": cochrane, "bayes": {k: v for k, v in b.items() if k != "result"},
            "sensitivity": sens, "verdict": res["verdict"],
        })  # fmt: skip
    md = folder / "report.md"
    md.write_text("\n".join(lines).rstrip() + "\n", encoding="utf-8")
    page = folder / "report.html"
    html_text = markdown_to_html(
        md.read_text(encoding="utf-8"), base=folder, title="RevMan analyses re-analysed"
    )
    page.write_text(html_text, encoding="utf-8")
    blob = json.dumps({"file": source, "analyses": dump}, indent=2, default=float)
    (folder / "revman.json").write_text(blob, encoding="utf-8")
    return md, page


def _close(fig: Any) -> None:
    """Release a saved figure (a report draws one per analysis)."""
    import matplotlib.pyplot as plt

    plt.close(fig)
