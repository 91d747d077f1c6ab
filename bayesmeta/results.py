"""The one result contract shared by the classical, exact and PyMC engines.

Every engine returns a `MetaResult`. Classical fields follow metafor's
``rma()`` names (``estimate``/``se``/``ci_low``/``ci_high``, ``tau2``, ``i2``,
``h2``, ``q``...). For Bayesian engines:

* ``estimate`` is the posterior **median** of mu, ``se`` its posterior SD and
  ``ci_low``/``ci_high`` the 95 % (``level``) credible interval named in
  ``ci_method`` (``central`` or ``shortest``);
* ``tau2`` is the posterior median of tau^2 (= median(tau)^2, medians commute
  with monotone maps) and ``tau2_ci_*`` its credible interval;
* ``pi_low``/``pi_high`` are the interval of theta_new (the predictive effect);
* ``posterior`` holds mean / sd / median / interval of ``mu``, ``tau`` and
  ``theta_new``; ``studies`` holds the shrunken study effects.

``settings`` names everything that makes a number differ from RevMan or metafor
(estimator, CI method, variance formula, priors) and is printed with every result.
``measure`` is the effect measure code of ``yi`` (``"OR"`` for log odds ratios; None if not
known): the plots name their axes by it and show ratio measures on the ratio scale.
``studies`` may carry a ``weight`` column (percent): the inverse-variance (or MH) weights of
a classical result, the posterior mean weights (R bayesmeta ``$weights``) of an exact one.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

#: The keys of ``MetaResult.to_dict()`` (the CLI's ``--json`` object), in order.
JSON_KEYS = (
    "k",
    "method",
    "ci_method",
    "estimate",
    "se",
    "ci_low",
    "ci_high",
    "tau2",
    "tau2_ci_low",
    "tau2_ci_high",
    "i2",
    "h2",
    "q",
    "q_df",
    "q_p",
    "pi_low",
    "pi_high",
)


#: The keys of each block of ``MetaResult.posterior_dict()``.
POSTERIOR_KEYS = ("mean", "sd", "median", "ci_low", "ci_high")


def _num(x: Any) -> float | int | None:
    """JSON-safe number: None for missing / non-finite."""
    if x is None:
        return None
    if isinstance(x, (int, np.integer)) and not isinstance(x, bool):
        return int(x)
    x = float(x)
    return x if math.isfinite(x) else None


@dataclass(repr=False)
class MetaResult:
    """A pooled meta-analysis result from any engine (field meanings in the module docstring).

    Fields a method does not define are None (e.g. ``i2`` of a Bayesian result); ``level``
    defaults to 0.95. ``tau`` is ``sqrt(tau2)``; ``label`` is ``"engine:method"``.

    Roever (2020, JSS 93(6), section 3.3) reports the classical REML fit of the Crins et al.
    data as mu = -1.591513, se 0.3340882, tau 0.4670268; the same numbers here:

    Examples:
        >>> from bayesmeta import StudyTable, datasets
        >>> from bayesmeta.classical import pool
        >>> from bayesmeta.effects import log_or
        >>> d = datasets.load("crins2014")
        >>> es = log_or(d["exp.AR.events"], ci=d["cont.AR.events"],
        ...             n1i=d["exp.total"], n2i=d["cont.total"])
        >>> res = pool(StudyTable.from_arrays(es.yi, es.vi), "REML")
        >>> print(f"{res.label} {res.estimate:.6f} {res.se:.7f} {res.tau:.7f} k={res.k}")
        classical:REML -1.591513 0.3340882 0.4670268 k=6
    """

    engine: str
    method: str
    ci_method: str
    k: int
    estimate: float
    se: float
    ci_low: float
    ci_high: float
    level: float = 0.95
    tau2: float | None = None
    tau2_ci_low: float | None = None
    tau2_ci_high: float | None = None
    i2: float | None = None
    h2: float | None = None
    q: float | None = None
    q_df: int | None = None
    q_p: float | None = None
    pi_low: float | None = None
    pi_high: float | None = None
    studies: pd.DataFrame | None = None
    settings: dict[str, str] = field(default_factory=dict)
    subgroups: dict[str, MetaResult] = field(default_factory=dict)
    q_between: float | None = None
    q_between_df: int | None = None
    q_between_p: float | None = None
    posterior: pd.DataFrame | None = None
    diagnostics: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)
    idata: Any = None
    measure: str | None = None
    density_source: Callable[[], dict[str, tuple[np.ndarray, np.ndarray]]] | None = None

    @property
    def tau(self) -> float | None:
        """sqrt(tau2) (tau2 below 0 counts as 0), None if there is no tau2."""
        return None if self.tau2 is None else math.sqrt(max(self.tau2, 0.0))

    @property
    def label(self) -> str:
        """``"engine:method"``, e.g. ``"classical:REML"``."""
        return f"{self.engine}:{self.method}"

    def describe(self) -> str:
        """One line naming the engine, method, CI method and every setting."""
        parts = [f"engine={self.engine}", f"method={self.method}", f"ci={self.ci_method}"]
        from bayesmeta.summary_text import short_numbers

        parts += [f"{k}={short_numbers(str(v))}" for k, v in self.settings.items()]
        parts.append(f"level={self.level:g}")
        return "; ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        """The CLI's JSON object (keys in `JSON_KEYS`, null where undefined).

        After them ``engine`` and ``settings``; with subgroups also ``subgroups`` (one such
        object each) and ``q_between``/``_df``/``_p``; ``warnings`` if any. Non-finite
        numbers become None.
        """
        text = {"method", "ci_method"}
        out: dict[str, Any] = {
            key: getattr(self, key) if key in text else _num(getattr(self, key))
            for key in JSON_KEYS
        }
        out["engine"] = self.engine
        out["settings"] = dict(self.settings)
        if self.subgroups:
            out["subgroups"] = {name: sub.to_dict() for name, sub in self.subgroups.items()}
            out["q_between"] = _num(self.q_between)
            out["q_between_df"] = _num(self.q_between_df)
            out["q_between_p"] = _num(self.q_between_p)
        if self.warnings:
            out["warnings"] = list(self.warnings)
        return out

    def to_json(self, **kwargs: Any) -> str:
        """`to_dict()` as JSON text; ``kwargs`` go to `json.dumps` (e.g. ``indent=2``)."""
        return json.dumps(self.to_dict(), **kwargs)

    def posterior_dict(self) -> dict[str, Any]:
        """The ``posterior --json`` object of a Bayesian result.

        ``mu``, ``tau``, ``theta_new``: each ``{mean, sd, median, ci_low, ci_high}``;
        ``theta``: one such object per study with ``study``; with subgroups ``subgroups``,
        one such object per subgroup (its mean) with ``k`` and its prediction interval
        ``pi_low``/``pi_high``; ``priors``; ``engine``;
        for MCMC also ``diagnostics`` (``max_rhat``, ``min_ess_bulk``, ``divergences``).
        """
        if self.posterior is None:
            raise ValueError(f"{self.label} is not a Bayesian result (no posterior table)")

        def block(row: Mapping[Hashable, Any]) -> dict[str, Any]:
            return {key: _num(row.get(key)) for key in POSTERIOR_KEYS}

        post = self.posterior
        out: dict[str, Any] = {
            name: block(post.loc[name].to_dict())
            for name in ("mu", "tau", "theta_new")
            if name in post.index
        }
        if self.subgroups:
            out["subgroups"] = {}
            for name, sub in self.subgroups.items():
                if sub.posterior is not None and "mu" in sub.posterior.index:
                    entry = block(sub.posterior.loc["mu"].to_dict())
                else:
                    entry = {"median": _num(sub.estimate), "sd": _num(sub.se)}
                    entry |= {"ci_low": _num(sub.ci_low), "ci_high": _num(sub.ci_high)}
                entry |= {"k": sub.k, "pi_low": _num(sub.pi_low), "pi_high": _num(sub.pi_high)}
                out["subgroups"][str(name)] = entry
        studies = self.studies if self.studies is not None else pd.DataFrame()
        out["theta"] = [{"study": str(r["study"]), **block(r)} for r in studies.to_dict("records")]
        out["priors"] = {key: val for key, val in self.settings.items() if key.endswith("prior")}
        out["engine"] = self.engine
        out["method"] = self.method
        out["interval"] = self.ci_method
        out["level"] = self.level
        if self.diagnostics:
            out["diagnostics"] = {
                key: val if isinstance(val, str) else _num(val)
                for key, val in self.diagnostics.items()
            }
        if self.warnings:
            out["warnings"] = list(self.warnings)
        return out

    @property
    def summary(self) -> pd.DataFrame:
        """One row per quantity in the metafor style: ``mu``, then ``tau2`` and
        ``prediction`` where defined; columns estimate, se, ci_low, ci_high (float)."""
        rows = [
            {
                "param": "mu",
                "estimate": self.estimate,
                "se": self.se,
                "ci_low": self.ci_low,
                "ci_high": self.ci_high,
            }
        ]
        if self.tau2 is not None:
            rows.append(
                {
                    "param": "tau2",
                    "estimate": self.tau2,
                    "se": np.nan,
                    "ci_low": self.tau2_ci_low,
                    "ci_high": self.tau2_ci_high,
                }
            )
        if self.pi_low is not None:
            rows.append(
                {
                    "param": "prediction",
                    "estimate": self.estimate,
                    "se": np.nan,
                    "ci_low": self.pi_low,
                    "ci_high": self.pi_high,
                }
            )
        return pd.DataFrame(rows).set_index("param").astype(float)

    def format(self, digits: int = 4) -> str:
        """The printed summary: metafor ``print.rma`` style for classical results, R
        bayesmeta ``print`` style for Bayesian ones (`bayesmeta.summary_text`); ``digits``
        is kept for compatibility (numbers show about 4 significant digits)."""
        from bayesmeta.summary_text import text

        return text(self)

    def __str__(self) -> str:
        return self.format()

    def __repr__(self) -> str:
        return self.format()

    def _repr_html_(self) -> str:
        from bayesmeta.summary_text import html_block

        return html_block(self)

    def print_summary(self, digits: int = 4) -> None:
        """Print `format()`."""
        print(self.format(digits))

    def densities(self, points: int = 300) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """Posterior density curves ``{name: (x, density)}`` of mu, tau and theta_new.

        Exact results compute them from the exact posterior (``density_source``); PyMC
        results by a kernel density estimate of their draws; otherwise a normal curve with
        the posterior table's mean and SD. Empty for a classical result.
        """
        from scipy import stats

        if self.posterior is None:
            return {}
        if self.density_source is not None:
            return self.density_source()
        out: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        if self.idata is not None:
            ds = self.idata["posterior"].to_dataset()
            for name in ("mu", "tau", "theta_new"):
                if name in ds and ds[name].ndim == 2:
                    draws = ds[name].values.ravel()
                    lo, hi = np.quantile(draws, [0.001, 0.999])
                    x = np.linspace(max(lo, 0.0) if name == "tau" else lo, hi, points)
                    out[name] = (x, stats.gaussian_kde(draws)(x))
            return out
        post = self.posterior
        for name in ("mu", "tau", "theta_new"):
            if name in post.index:
                m, s = (float(post.at[name, c]) for c in ("mean", "sd"))  # type: ignore[arg-type]
                if math.isfinite(m) and math.isfinite(s) and s > 0:
                    x = np.linspace(m - 4 * s, m + 4 * s, points)
                    x = x[x >= 0] if name == "tau" else x
                    out[name] = (x, stats.norm.pdf(x, m, s))
        return out

    def plot_forest(self, **kwargs: Any) -> Any:
        """Forest plot of this result (`bayesmeta.plots.forest`); returns the Figure."""
        from bayesmeta.plots.meta_forest import forest_plot

        return forest_plot(self, **kwargs)

    def plot_funnel(self, **kwargs: Any) -> Any:
        """Contour-enhanced funnel plot (`bayesmeta.plots.funnel`); returns the Figure."""
        from bayesmeta.plots.meta import funnel_plot

        return funnel_plot(self, **kwargs)

    def plot_posterior(self, **kwargs: Any) -> Any:
        """Posterior densities of mu, tau and theta_new with the priors
        (`bayesmeta.plots.posterior`); returns the Figure."""
        from bayesmeta.plots.meta import posterior_plot

        return posterior_plot(self, **kwargs)


class Comparison(pd.DataFrame):
    """The table of `compare()`: a DataFrame that prints in 80 columns (one column per
    result, one row per quantity, the settings as numbered notes) and has `to_markdown()`.

    Examples:
        >>> from bayesmeta import compare
        >>> from bayesmeta.classical import pool
        >>> from bayesmeta.inputs import load_studies
        >>> t = load_studies("crins2014")
        >>> table = compare({"REML": pool(t, "REML"), "DL": pool(t, "DL")})
        >>> print(str(table).splitlines()[6])
        estimate      -1.592     -1.585
        >>> max(len(line) for line in str(table).splitlines()) <= 80
        True
        >>> print(table.to_markdown().splitlines()[0])
        | quantity | REML | DL |
    """

    _metadata: list[str] = []

    @property
    def _constructor(self) -> type[Comparison]:
        return Comparison

    def _cells(self) -> tuple[list[str], list[list[str]], list[str]]:
        from bayesmeta.summary_text import decimals, num

        shown = ["engine", "method", "ci_method", "k", "estimate", "se", "ci_low", "ci_high"]
        shown += ["tau2", "tau", "i2", "pi_low", "pi_high"]
        shown = [c for c in shown if c in self.columns]
        numeric = [c for c in shown if c not in ("engine", "method", "ci_method", "k")]
        d = decimals(self[[c for c in numeric if c != "i2"]].to_numpy(dtype=float).ravel().tolist())
        header = ["", *[f"[{i + 1}]" for i in range(len(self))]]
        rows = [["result", *[str(i) for i in self.index]]]
        for c in shown:
            vals = self[c].tolist()
            if c in numeric:
                cells = [num(v, 2 if c == "i2" else d) for v in vals]
            else:
                cells = [str(v) for v in vals]
            rows.append([c, *cells])
        import textwrap

        notes = [
            line
            for i, v in enumerate(self.get("settings", []))
            for line in textwrap.wrap(f"[{i + 1}] {v}", 80, subsequent_indent="    ")
        ]
        return header, rows, notes

    def __repr__(self) -> str:
        from bayesmeta.summary_text import table

        header, rows, notes = self._cells()
        return "\n".join([*table(header, rows, indent=""), *notes])

    def __str__(self) -> str:
        return self.__repr__()

    def to_markdown(self, *args: Any, **kwargs: Any) -> str:  # type: ignore[override]
        """The comparison as a Markdown table (quantities as rows), the settings below."""
        header, rows, notes = self._cells()
        names = ["quantity", *rows[0][1:]]
        lines = ["| " + " | ".join(names) + " |", "|" + "---|" * len(names)]
        lines += ["| " + " | ".join(r) + " |" for r in rows[1:]]
        return "\n".join([*lines, "", *[f"{n}  " for n in notes]]).rstrip() + "\n"


def compare(
    results: Sequence[MetaResult] | Mapping[str, MetaResult],
) -> Comparison:
    """Put results from any engines side by side, one row per result.

    Columns: engine, method, ci_method, k, estimate, se, ci_low, ci_high, tau2,
    tau, i2, pi_low, pi_high, settings (the one-line `MetaResult.describe()`); NaN where a
    result lacks a number. The index is the mapping's keys, or each result's ``label``.

    Classical REML against the exact Bayesian posterior (halfnormal(0.5) prior on tau) for the
    Crins et al. data; Roever (2020, JSS 93(6)) reports mu -1.5915 (REML) and a posterior
    median of -1.5735:

    Examples:
        >>> from bayesmeta import StudyTable, datasets
        >>> from bayesmeta.classical import pool
        >>> from bayesmeta.effects import log_or
        >>> from bayesmeta.posterior import posterior
        >>> d = datasets.load("crins2014")
        >>> es = log_or(d["exp.AR.events"], ci=d["cont.AR.events"],
        ...             n1i=d["exp.total"], n2i=d["cont.total"])
        >>> t = StudyTable.from_arrays(es.yi, es.vi)
        >>> bayes = posterior(t, mu_prior="normal(0, 4)", tau_prior="halfnormal(0.5)")
        >>> table = compare({"REML": pool(t, "REML"), "Bayes": bayes})
        >>> print(table[["estimate", "ci_low", "ci_high", "tau"]].round(4).to_string())
                estimate  ci_low  ci_high     tau
        result
        REML     -1.5915 -2.2463  -0.9367  0.4670
        Bayes    -1.5735 -2.2379  -0.9335  0.3445
    """
    items = results.items() if isinstance(results, Mapping) else ((r.label, r) for r in results)
    rows = []
    for label, r in items:
        rows.append(
            {
                "result": label,
                "engine": r.engine,
                "method": r.method,
                "ci_method": r.ci_method,
                "k": r.k,
                "estimate": r.estimate,
                "se": r.se,
                "ci_low": r.ci_low,
                "ci_high": r.ci_high,
                "tau2": np.nan if r.tau2 is None else r.tau2,
                "tau": np.nan if r.tau is None else r.tau,
                "i2": np.nan if r.i2 is None else r.i2,
                "pi_low": np.nan if r.pi_low is None else r.pi_low,
                "pi_high": np.nan if r.pi_high is None else r.pi_high,
                "settings": r.describe(),
            }
        )
    return Comparison(pd.DataFrame(rows).set_index("result"))
