"""`network()`: one call for a network meta-analysis, classical always, Bayesian (PyMC, NICE
TSD2) on request, in one result that prints like netmeta and gives the JSON object of
``bayesmeta network``."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import pandas as pd

from bayesmeta.errors import InputError
from bayesmeta.network.classical import NetworkFit, design_labels, fit_network
from bayesmeta.network.data import LOG_SCALE, Contrasts, from_arms, from_contrasts


@dataclass
class NetworkResult:
    """Classical (and optionally Bayesian) network meta-analysis of one network.

    Examples:
        >>> import pandas as pd
        >>> from bayesmeta.network.api import network
        >>> arms = pd.DataFrame({"study": ["1", "1", "2", "2", "3", "3", "4", "4"],
        ...                      "treatment": ["A", "B", "B", "C", "A", "C", "A", "B"],
        ...                      "mean": [1.0, 1.5, 1.4, 2.1, 0.9, 2.2, 1.1, 1.4],
        ...                      "sd": [1.0] * 8, "n": [40] * 8})
        >>> res = network(arms, "MD", reference="A", method="FE")
        >>> res.to_dict()["treatments"], round(res.classical.effects()[0]["estimate"], 4)
        (['A', 'B', 'C'], 0.44)
    """

    contrasts: Contrasts
    classical: NetworkFit
    bayesian: Any = None

    @property
    def measure(self) -> str:
        return self.contrasts.measure

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "treatments": self.classical.treatments,
            "measure": self.measure,
            "k_studies": len(self.contrasts.studies),
            "k_contrasts": self.contrasts.k,
            "scale": "log" if self.measure in LOG_SCALE else "identity",
            "notes": self.contrasts.notes,
            "classical": self.classical.to_dict(),
        }
        if self.bayesian is not None:
            out["bayesian"] = self.bayesian.to_dict()
        return out

    def _edges(self) -> dict[tuple[str, str], int]:
        arms: dict[str, set[str]] = {}
        c = self.contrasts
        for s, a, b in zip(c.study, c.t1, c.t2, strict=True):
            arms.setdefault(s, set()).update((a, b))
        edges: dict[tuple[str, str], int] = {}
        for ts in arms.values():
            t = sorted(ts)
            for i in range(len(t)):
                for j in range(i + 1, len(t)):
                    edges[(t[i], t[j])] = edges.get((t[i], t[j]), 0) + 1
        return edges

    def plot_network(self) -> Any:
        """The network graph (node area by patients, edge width by studies)."""
        from bayesmeta.plots.network import network_graph

        return network_graph(
            self.classical.treatments, self._edges(), self.contrasts.n_by_treatment or None
        )

    def plot_forest(self) -> Any:
        """Every treatment against the reference (classical; Bayesian in red if fitted)."""
        from bayesmeta.plots.network import effects_forest

        rows = [dict(r, engine="classical") for r in self.classical.effects()]
        if self.bayesian is not None:
            rows += [dict(r, engine="bayesian") for r in self.bayesian.to_dict()["effects"]]
        rows.sort(key=lambda r: (str(r["treatment"]), r["engine"]))
        return effects_forest(
            rows, self.classical.reference, log=self.measure in LOG_SCALE, xlabel=self.measure
        )

    def plot_rankogram(self) -> Any:
        """Posterior rank probabilities (needs the Bayesian fit)."""
        from bayesmeta.plots.network import rankogram

        if self.bayesian is None:
            raise InputError("the rankogram needs the Bayesian fit (engine='pymc')")
        return rankogram(self.bayesian.to_dict()["rank_probabilities"])

    def plot(self) -> Any:
        """The three figures side by side in one Figure (graph, forest, rankogram if
        Bayesian)."""
        from bayesmeta.plots._style import pyplot
        from bayesmeta.plots.network import effects_forest, network_graph, rankogram

        plt = pyplot()
        n = 3 if self.bayesian is not None else 2
        fig, axes = plt.subplots(1, n, figsize=(5.5 * n, 5))
        network_graph(
            self.classical.treatments,
            self._edges(),
            self.contrasts.n_by_treatment or None,
            ax=axes[0],
        )
        rows = [dict(r, engine="classical") for r in self.classical.effects()]
        if self.bayesian is not None:
            rows += [dict(r, engine="bayesian") for r in self.bayesian.to_dict()["effects"]]
            rankogram(self.bayesian.to_dict()["rank_probabilities"], ax=axes[2])
        rows.sort(key=lambda r: (str(r["treatment"]), r["engine"]))
        effects_forest(
            rows,
            self.classical.reference,
            log=self.measure in LOG_SCALE,
            xlabel=self.measure,
            ax=axes[1],
        )
        fig.tight_layout()
        return fig

    def __str__(self) -> str:
        c, f = self.contrasts, self.classical
        ratio = self.measure in LOG_SCALE
        tr = math.exp if ratio else (lambda v: v)
        designs = len(set(design_labels(c)))
        model = (
            "Common (fixed) effect model"
            if f.method == "FE"
            else f"Random effects model ({f.method}, common tau^2, multi-arm correlation 1/2)"
        )
        lines = [
            f"Number of studies: k = {len(c.studies)}",
            f"Number of pairwise comparisons: m = {c.k}",
            f"Number of treatments: n = {len(f.treatments)}",
            f"Number of designs: d = {designs}",
            "",
            model,
            "",
        ]
        lines.append(
            f"Treatment estimate (sm = '{self.measure}', comparison: other treatments "
            f"vs '{f.reference}'):"
        )
        rows = []
        for e in f.effects():
            rows.append(
                {
                    "": e["treatment"],
                    self.measure: f"{tr(float(e['estimate'])):.4f}",
                    f"{f.level:.0%}-CI": f"[{tr(float(e['ci_low'])):.4f}; "
                    f"{tr(float(e['ci_high'])):.4f}]",
                    "p-value": _pv(float(e["pval"])),
                }
            )
        lines += pd.DataFrame(rows).to_string(index=False).splitlines()
        lines.append("")
        if f.method != "FE":
            lines.append(f"tau^2 = {f.tau2:.4f}; tau = {math.sqrt(f.tau2):.4f}")
            lines.append("")
        lines.append("Tests of heterogeneity (within designs) and inconsistency (between designs):")
        q = pd.DataFrame(
            {
                "Q": [f.q, f.q_het, f.q_inc],
                "d.f.": [f.q_df, f.q_het_df, f.q_inc_df],
                "p-value": [
                    _chi(f.q, f.q_df),
                    _chi(f.q_het, f.q_het_df),
                    _chi(f.q_inc, f.q_inc_df),
                ],
            },
            index=["Total", "Within designs", "Between designs"],
        )
        lines += q.to_string(float_format=lambda v: f"{v:.2f}").splitlines()
        lines.append("")
        better = "smaller" if f.smaller_better else "larger"
        lines.append(f"P-scores ({better} effects better):")
        ps = sorted(f.p_scores().items(), key=lambda kv: -kv[1])
        lines += [f"  {t:<24} {p:.4f}" for t, p in ps]
        for n in c.notes:
            lines.append(f"Note: {n}")
        if self.bayesian is not None:
            lines += ["", str(self.bayesian)]
        return "\n".join(lines)

    def print_summary(self) -> None:
        print(self)


def _pv(p: float) -> str:
    return "< 0.0001" if p < 1e-4 else f"{p:.4f}"


def _chi(q: float, df: int) -> str:
    from scipy import stats

    return "--" if df <= 0 else _pv(float(stats.chi2.sf(max(q, 0.0), df)))


def network(
    data: pd.DataFrame | Contrasts,
    measure: str | None = None,
    *,
    reference: str | None = None,
    method: str = "REML",
    level: float = 0.95,
    smaller_better: bool = False,
    add_to: str = "only0",
    allow_single_arm: bool = False,
    engine: str | None = None,
    tau_prior: str | None = None,
    draws: int | None = None,
    chains: int = 4,
    seed: int = 20201,
    progress: bool = False,
    source: str | None = None,
) -> NetworkResult:
    """Network meta-analysis of arm-level or contrast-level ``data`` (see
    `bayesmeta.network.data`): the classical model (`bayesmeta.network.classical`) and, with
    ``engine="pymc"``, the Bayesian TSD2 model (`bayesmeta.hierarchical.network`);
    ``method="FE"`` makes both fixed-effect models.

    Examples:
        >>> import pandas as pd
        >>> from bayesmeta.network.api import network
        >>> d = pd.DataFrame({"study": ["1", "2", "3"], "treat1": ["A", "A", "B"],
        ...                   "treat2": ["B", "C", "C"], "yi": [0.3, 0.5, 0.1],
        ...                   "vi": [0.04, 0.05, 0.05]})
        >>> r = network(d, reference="A", method="FE", allow_single_arm=True)
        >>> [round(e["estimate"], 4) for e in r.classical.effects()]
        [0.3286, 0.4643]
    """
    if not 0 < level < 1:
        raise InputError(f"option --level: must lie in (0, 1) (got {level})")
    if isinstance(data, Contrasts):
        c = data
    elif "treatment" in data.columns:
        if measure is None:
            raise InputError("option --measure: give OR, RR, RD, MD or SMD for arm-level data")
        c = from_arms(
            data, measure, source=source, add_to=add_to, allow_single_arm=allow_single_arm
        )
    else:
        c = from_contrasts(
            data, measure or "GENERIC", source=source, allow_single_arm=allow_single_arm
        )
    fit = fit_network(c, reference, method=method, level=level, smaller_better=smaller_better)
    res = NetworkResult(c, fit)
    if engine not in (None, "classical"):
        if engine != "pymc":
            raise InputError(
                f"option --engine: pymc (the classical analysis always runs), not {engine!r}"
            )
        from bayesmeta.hierarchical.network import bayesian_network

        res.bayesian = bayesian_network(
            c,
            fit.reference,
            tau_prior=tau_prior,
            fixed=fit.method == "FE",
            level=level,
            smaller_better=smaller_better,
            draws=draws,
            chains=chains,
            seed=seed,
            progress=progress,
        )
    return res


__all__ = ["NetworkResult", "network"]
