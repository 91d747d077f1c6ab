"""The result of a dependent-effects model: metafor-style print, a summary table, the JSON
object of ``bayesmeta pool --cluster`` and a forest plot by cluster or outcome."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd


def _p(p: float) -> str:
    return "<.0001" if p < 1e-4 else f"{p:.4f}"


def _stars(p: float) -> str:
    return "***" if p < 0.001 else "**" if p < 0.01 else "*" if p < 0.05 else "." if p < 0.1 else ""


@dataclass
class DependentResult:
    """Multilevel, multivariate or cluster-robust random-effects result.

    ``coef`` holds arrays ``estimate``, ``se``, ``stat``, ``pval``, ``ci_low``, ``ci_high``
    by coefficient ``names``; ``sigma2`` (multilevel: outer level first) or ``tau2`` and
    ``rho_between`` (multivariate); ``robust`` the cluster-robust tests when asked for.

    Examples:
        >>> from bayesmeta.dependent.api import multilevel
        >>> r = multilevel([0.1, 0.3, 0.2, 0.6, 0.5, 0.9], [0.01] * 6, list("aabbcc"))
        >>> print(str(r).splitlines()[0])
        Multivariate Meta-Analysis Model (k = 6; method: REML)
        >>> sorted(r.to_dict())[:4]
        ['ci_high', 'ci_low', 'coefficients', 'estimate']
    """

    kind: str
    method: str
    test: str
    level: float
    k: int
    n_clusters: int
    names: list[str]
    coef: dict[str, np.ndarray]
    vb: np.ndarray
    loglik: float
    q: float
    q_df: int
    q_p: float
    qm: tuple[float, float, float] | None = None
    sigma2: list[float] | None = None
    sigma2_ci: list[tuple[float, float]] | None = None
    levels: list[str] | None = None
    n_levels: list[int] | None = None
    i2: float | None = None
    i2_levels: list[float] | None = None
    struct: str | None = None
    tau2: dict[str, float] | None = None
    rho_between: np.ndarray | None = None
    rho_within: float | None = None
    iterations: int = 0
    robust: dict[str, Any] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    # -- numbers ---------------------------------------------------------------------------
    @property
    def estimate(self) -> float:
        """The first coefficient (the pooled effect of an intercept-only model)."""
        return float(self.coef["estimate"][0])

    @property
    def summary(self) -> pd.DataFrame:
        """One row per coefficient: estimate, se, z (or t), pval, ci_low, ci_high and, with
        robust inference, robust_se, robust_df, robust_pval, robust_ci_low, robust_ci_high."""
        c = self.coef
        df = pd.DataFrame({"estimate": c["estimate"], "se": c["se"],
                           "tval" if self.test == "t" else "zval": c["stat"], "pval": c["pval"],
                           "ci_low": c["ci_low"], "ci_high": c["ci_high"]},
                          index=self.names)  # fmt: skip
        if self.robust:
            r = self.robust
            for key in ("se", "df", "pval", "ci_low", "ci_high"):
                df[f"robust_{key}"] = r[key]
        return df

    def _robust_dict(self, j: int) -> dict[str, float]:
        r = self.robust or {}
        return {"type": r["kind"], "se": float(r["se"][j]), "df": float(r["df"][j]),
                "ci_low": float(r["ci_low"][j]), "ci_high": float(r["ci_high"][j]),
                "pval": float(r["pval"][j])}  # fmt: skip

    def to_dict(self) -> dict[str, Any]:
        """The JSON object of ``bayesmeta pool --cluster`` (docs/dependent-effects.md)."""
        c = self.coef
        out: dict[str, Any] = {
            "model": self.kind, "method": self.method, "test": self.test, "level": self.level,
            "k": self.k, "n_clusters": self.n_clusters, "estimate": float(c["estimate"][0]),
            "se": float(c["se"][0]), "ci_low": float(c["ci_low"][0]),
            "ci_high": float(c["ci_high"][0]), "pval": float(c["pval"][0]),
            "q": float(self.q), "q_df": int(self.q_df), "q_p": float(self.q_p),
            "coefficients": [
                {"name": n, "estimate": float(c["estimate"][j]), "se": float(c["se"][j]),
                 "ci_low": float(c["ci_low"][j]), "ci_high": float(c["ci_high"][j]),
                 "pval": float(c["pval"][j]),
                 **({"robust": self._robust_dict(j)} if self.robust else {})}
                for j, n in enumerate(self.names)
            ],
        }  # fmt: skip
        if not math.isnan(self.loglik):
            out["loglik"] = float(self.loglik)
        if self.qm is not None:
            out["qm"], out["qm_df"], out["qm_p"] = (float(x) for x in self.qm)
        if self.sigma2 is not None:
            out["sigma2"] = [float(s) for s in self.sigma2]
            out["levels"] = self.levels
            if self.sigma2_ci is not None:
                out["sigma2_ci"] = [[float(a), float(b)] for a, b in self.sigma2_ci]
            if self.i2 is not None:
                out["i2"] = float(self.i2)
                out["i2_levels"] = [float(x) for x in self.i2_levels or []]
        if self.kind == "multivariate":
            out["struct"] = self.struct
            out["rho_within"] = self.rho_within
            out["tau2"] = {k: float(v) for k, v in (self.tau2 or {}).items()}
            R = np.asarray(self.rho_between)
            out["rho_between"] = float(R[0, 1]) if R.shape == (2, 2) else R.tolist()
            out["outcomes"] = self.outcomes
        elif self.kind == "random-effects" and self.tau2 is not None:
            out["tau2"] = float(next(iter(self.tau2.values())))
        if self.robust:
            out["robust"] = self._robust_dict(0)
        return out

    @property
    def outcomes(self) -> list[dict[str, Any]]:
        """Per-outcome estimates of a multivariate model."""
        c = self.coef
        return [{"outcome": n, "estimate": float(c["estimate"][j]), "se": float(c["se"][j]),
                 "ci_low": float(c["ci_low"][j]), "ci_high": float(c["ci_high"][j]),
                 "pval": float(c["pval"][j]),
                 **({"robust": self._robust_dict(j)} if self.robust else {})}
                for j, n in enumerate(self.names)]  # fmt: skip

    # -- printing --------------------------------------------------------------------------
    def __str__(self) -> str:
        title = ("Random-Effects Model" if self.kind == "random-effects"
                 else "Multivariate Meta-Analysis Model")  # fmt: skip
        lines = [f"{title} (k = {self.k}; method: {self.method})", ""]
        if self.sigma2 is not None:
            lines.append("Variance Components:")
            lines.append("")
            rows = []
            for j, s2 in enumerate(self.sigma2):
                row = {"estim": f"{s2:.4f}", "sqrt": f"{math.sqrt(s2):.4f}",
                       "nlvls": str((self.n_levels or [0] * 9)[j]),
                       "factor": (self.levels or ["?"] * 9)[j]}  # fmt: skip
                if self.sigma2_ci is not None:
                    a, b = self.sigma2_ci[j]
                    row["ci"] = f"[{a:.4f}, {b:.4f}]"
                if self.i2_levels is not None:
                    row["I^2"] = f"{self.i2_levels[j]:.2f}%"
                rows.append(row)
            df = pd.DataFrame(rows, index=[f"sigma^2.{j + 1}" for j in range(len(rows))])
            lines += ["  " + line for line in df.to_string().splitlines()]
            if self.i2 is not None:
                lines.append(f"  multilevel I^2 (total): {self.i2:.2f}%")
            lines.append("")
        if self.kind == "multivariate" and self.tau2 is not None:
            lines.append(f"Variance Components (outer factor: cluster, {self.n_clusters} levels; "
                         f"inner factor: outcome; struct = {self.struct}):")  # fmt: skip
            lines.append("")
            for name, t2 in self.tau2.items():
                lines.append(f"  tau^2 {name:<12} {t2:.4f}  (sqrt {math.sqrt(t2):.4f})")
            R = np.asarray(self.rho_between)
            if R.shape == (2, 2):
                lines.append(f"  rho (between clusters)  {R[0, 1]:.4f}")
            else:
                lines.append("  rho (between clusters):")
                lines += ["    " + line for line in
                          pd.DataFrame(R, index=self.names, columns=self.names).round(4)
                          .to_string().splitlines()]  # fmt: skip
            if self.rho_within is not None:
                lines.append(f"  within-cluster sampling correlation (vcalc rho): "
                             f"{self.rho_within:g}")  # fmt: skip
            lines.append("")
        if self.kind == "random-effects" and self.tau2 is not None:
            t2 = next(iter(self.tau2.values()))
            lines += [f"tau^2 (estimated amount of total heterogeneity): {t2:.4f} "
                      f"(tau = {math.sqrt(t2):.4f})", ""]  # fmt: skip
        lines += ["Test for (Residual) Heterogeneity:",
                  f"Q(df = {self.q_df}) = {self.q:.4f}, p-val {_pv(self.q_p)}", ""]  # fmt: skip
        if self.qm is not None:
            q, m, p = self.qm
            stat = (
                f"F(df1 = {m:g}, df2 = {self.k - len(self.names)}) = {q:.4f}"
                if self.test == "t"
                else f"QM(df = {m:g}) = {q:.4f}"
            )
            lines += ["Test of Moderators:", f"{stat}, p-val {_pv(p)}", ""]
        lines.append("Model Results:")
        lines.append("")
        c = self.coef
        stat = "tval" if self.test == "t" else "zval"
        tab = pd.DataFrame({"estimate": c["estimate"], "se": c["se"], stat: c["stat"],
                            "pval": [_p(p) for p in c["pval"]], "ci.lb": c["ci_low"],
                            "ci.ub": c["ci_high"], "": [_stars(p) for p in c["pval"]]},
                           index=self.names)  # fmt: skip
        lines += tab.to_string(float_format=lambda x: f"{x:.4f}").splitlines()
        if self.robust:
            r = self.robust
            lines += ["", f"Cluster-robust inference ({r['kind']}"
                      + (", Satterthwaite df, clubSandwich" if r["kind"] == "CR2" else
                         ", small-sample factor n/(n-p), df = n - p") + f"; {r['n_clusters']}"
                      " clusters):", ""]  # fmt: skip
            rt = pd.DataFrame({"estimate": c["estimate"], "se": r["se"], "tval": r["tval"],
                               "df": r["df"], "pval": [_p(p) for p in r["pval"]],
                               "ci.lb": r["ci_low"], "ci.ub": r["ci_high"]},
                              index=self.names)  # fmt: skip
            lines += rt.to_string(float_format=lambda x: f"{x:.4f}").splitlines()
        lines += ["", "---", f"{self.level:.0%} intervals; "
                  + ("z tests" if self.test == "z" else f"t tests on {self.k - len(self.names)} df")
                  + "; variance components by " + self.method]  # fmt: skip
        return "\n".join(lines)

    def print_summary(self) -> None:
        """Print the metafor-style summary."""
        print(self)

    def plot_forest(self, yi: Any, vi: Any, group: Any, labels: Any = None) -> Any:
        """Forest plot of the effect sizes grouped by cluster (or outcome) with the pooled
        estimate(s); returns a matplotlib Figure."""
        from bayesmeta.plots.dependent import grouped_forest

        return grouped_forest(np.asarray(yi, float), np.asarray(vi, float),
                              [str(g) for g in group], self.names, self.coef,
                              labels=labels, level=self.level)  # fmt: skip


def _pv(p: float) -> str:
    return "< .0001" if p < 1e-4 else f"= {p:.4f}"


__all__ = ["DependentResult"]
