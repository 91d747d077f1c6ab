"""Classical network meta-analysis, identical to metafor's contrast-based model

    rma.mv(yi, V, mods = <treatment design>, intercept = FALSE, random = ~ comp | study,
           rho = 1/2)

(REML, one heterogeneity variance tau^2 shared by all comparisons, correlation 1/2 between
the random effects of a multi-arm study's contrasts; Salanti 2012; this is netmeta's
common-tau^2 model), or its fixed-effect version. The design matrix has a column per
non-reference treatment: +1 for a contrast's treat2, -1 for its treat1.

Also: all pairwise effects (the league table; d_ij = b_i - b_j with
Var = v_i + v_j - 2 c_ij), P-scores (Rücker & Schwarzer 2015, BMC Med Res Methodol 15:58:
P_i = mean over j != i of Phi((b_i - b_j)/se_ij), larger effects better unless
``smaller_better``), and Cochran's Q of the fixed-effect network model split into
heterogeneity within designs (Q of the model with one effect per design and comparison) and
inconsistency between designs (the design-by-treatment interaction, Higgins et al. 2012,
Res Synth Methods 3:98), each with its df and p.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import linalg, stats

from bayesmeta.dependent.fit import MvModel
from bayesmeta.errors import InputError
from bayesmeta.network.data import Contrasts


@dataclass
class SharedTau:
    """R(theta) = tau^2 K, K_ii = 1, K_ij = 1/2 for two contrasts of one study (theta =
    log tau^2).

    Examples:
        >>> import numpy as np
        >>> from bayesmeta.network.classical import SharedTau
        >>> SharedTau(["s", "s", "t"]).R(np.array([0.0]))
        array([[1. , 0.5, 0. ],
               [0.5, 1. , 0. ],
               [0. , 0. , 1. ]])
    """

    study: list[str]

    def __post_init__(self) -> None:
        s = np.asarray(self.study, dtype=object)
        same = (s[:, None] == s[None, :]).astype(float)
        self.K = 0.5 * same + 0.5 * np.eye(len(s))

    @property
    def n_params(self) -> int:
        return 1

    def R(self, theta: np.ndarray) -> np.ndarray:
        return math.exp(theta[0]) * self.K

    def dR(self, theta: np.ndarray) -> list[np.ndarray]:
        return [math.exp(theta[0]) * self.K]

    def start(self, total: float) -> np.ndarray:
        return np.array([math.log(max(total, 1e-6))])

    def components(self, theta: np.ndarray) -> dict[str, Any]:
        return {"tau2": math.exp(theta[0])}


def design_matrix(c: Contrasts, reference: str) -> tuple[np.ndarray, list[str]]:
    """Columns for the non-reference treatments (sorted): +1 for treat2, -1 for treat1.

    Examples:
        >>> import numpy as np
        >>> from bayesmeta.network.classical import design_matrix
        >>> from bayesmeta.network.data import Contrasts
        >>> c = Contrasts(["1", "2"], ["A", "B"], ["B", "C"], np.zeros(2), np.eye(2), "MD",
        ...               ["A", "B", "C"])
        >>> design_matrix(c, "A")
        (array([[ 1.,  0.],
               [-1.,  1.]]), ['B', 'C'])
    """
    if reference not in c.treatments:
        raise InputError(
            f"option --reference: unknown treatment '{reference}' (treatments: "
            f"{', '.join(c.treatments)})"
        )
    others = [t for t in c.treatments if t != reference]
    X = np.zeros((c.k, len(others)))
    for i, (a, b) in enumerate(zip(c.t1, c.t2, strict=True)):
        if b != reference:
            X[i, others.index(b)] += 1.0
        if a != reference:
            X[i, others.index(a)] -= 1.0
    return X, others


def _gls(y: np.ndarray, V: np.ndarray, X: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    c = linalg.cho_factor(V, lower=True)
    ViX = linalg.cho_solve(c, X)
    vb = np.linalg.inv(X.T @ ViX)
    b = vb @ (ViX.T @ y)
    r = y - X @ b
    return b, vb, float(r @ linalg.cho_solve(c, r))


def design_labels(c: Contrasts) -> list[str]:
    """The design (sorted treatments of its study, joined by ":") of each contrast.

    Examples:
        >>> import numpy as np
        >>> from bayesmeta.network.classical import design_labels
        >>> from bayesmeta.network.data import Contrasts
        >>> c = Contrasts(["1", "1", "2"], ["A", "A", "B"], ["B", "C", "C"], np.zeros(3),
        ...               np.eye(3), "MD", ["A", "B", "C"])
        >>> design_labels(c)
        ['A:B:C', 'A:B:C', 'B:C']
    """
    arms: dict[str, set[str]] = {}
    for s, a, b in zip(c.study, c.t1, c.t2, strict=True):
        arms.setdefault(s, set()).update((a, b))
    return [":".join(sorted(arms[s])) for s in c.study]


@dataclass
class NetworkFit:
    """A fitted network: effects against the reference, the league table, P-scores, Q.

    Examples:
        >>> import numpy as np
        >>> from bayesmeta.network.classical import NetworkFit
        >>> f = NetworkFit("FE", "A", ["A", "B"], np.array([0.0, 0.5]),
        ...                np.array([[0.0, 0.0], [0.0, 0.04]]), 0.0, 0.95, 1.0, 1, 0.0, 0)
        >>> round(f.effects()[0]["ci_low"], 4), round(f.p_scores()["B"], 4)
        (0.108, 0.9938)
    """

    method: str
    reference: str
    treatments: list[str]
    beta: np.ndarray  # every treatment against the reference (0 for the reference)
    vb: np.ndarray  # covariance of beta (zero row/column for the reference)
    tau2: float
    level: float
    q: float
    q_df: int
    q_het: float
    q_het_df: int
    smaller_better: bool = False
    loglik: float = float("nan")
    notes: list[str] = field(default_factory=list)

    def pairwise(self) -> tuple[np.ndarray, np.ndarray]:
        """(estimate, se) matrices: row treatment against column treatment."""
        b, vb = self.beta, self.vb
        d = np.diag(vb)
        return b[:, None] - b[None, :], np.sqrt(np.maximum(d[:, None] + d[None, :] - 2 * vb, 0))

    def effects(self) -> list[dict[str, float | str]]:
        z = stats.norm.ppf(0.5 + self.level / 2)
        out: list[dict[str, float | str]] = []
        for i, t in enumerate(self.treatments):
            if t == self.reference:
                continue
            se = math.sqrt(self.vb[i, i])
            out.append(
                {
                    "treatment": t,
                    "estimate": float(self.beta[i]),
                    "se": se,
                    "ci_low": float(self.beta[i] - z * se),
                    "ci_high": float(self.beta[i] + z * se),
                    "pval": float(2 * stats.norm.sf(abs(self.beta[i]) / se)),
                }
            )
        return out

    def p_scores(self) -> dict[str, float]:
        est, se = self.pairwise()
        n = len(self.treatments)
        sign = -1.0 if self.smaller_better else 1.0
        with np.errstate(divide="ignore", invalid="ignore"):
            P = stats.norm.cdf(sign * est / se)
        np.fill_diagonal(P, 0.0)
        return {t: float(P[i].sum() / (n - 1)) for i, t in enumerate(self.treatments)}

    def league(self) -> dict[str, Any]:
        est, se = self.pairwise()
        z = stats.norm.ppf(0.5 + self.level / 2)
        return {
            "treatments": self.treatments,
            "estimate": est.tolist(),
            "se": se.tolist(),
            "ci_low": (est - z * se).tolist(),
            "ci_high": (est + z * se).tolist(),
            "note": "row treatment against column treatment",
        }

    @property
    def q_inc(self) -> float:
        return self.q - self.q_het

    @property
    def q_inc_df(self) -> int:
        return self.q_df - self.q_het_df

    def to_dict(self) -> dict[str, Any]:
        qp = float(stats.chi2.sf(self.q, self.q_df)) if self.q_df > 0 else float("nan")
        return {
            "method": self.method,
            "reference": self.reference,
            "tau2": self.tau2,
            "effects": self.effects(),
            "q": self.q,
            "q_df": self.q_df,
            "q_p": qp,
            "q_heterogeneity": self.q_het,
            "q_heterogeneity_df": self.q_het_df,
            "q_heterogeneity_p": _p(self.q_het, self.q_het_df),
            "q_inconsistency": self.q_inc,
            "q_inconsistency_df": self.q_inc_df,
            "q_inconsistency_p": _p(self.q_inc, self.q_inc_df),
            "p_scores": self.p_scores(),
            "league": self.league(),
            "level": self.level,
        }


def _p(q: float, df: int) -> float | None:
    return float(stats.chi2.sf(max(q, 0.0), df)) if df > 0 else None


def fit_network(
    c: Contrasts,
    reference: str | None = None,
    *,
    method: str = "REML",
    level: float = 0.95,
    smaller_better: bool = False,
) -> NetworkFit:
    """The contrast-based network model (module docstring); ``method`` REML, ML or FE.

    Examples:
        >>> import pandas as pd
        >>> from bayesmeta.network.classical import fit_network
        >>> from bayesmeta.network.data import from_arms
        >>> arms = pd.DataFrame({"study": ["1", "1", "2", "2", "3", "3", "4", "4"],
        ...                      "treatment": ["A", "B", "B", "C", "A", "C", "A", "B"],
        ...                      "mean": [1.0, 1.5, 1.4, 2.1, 0.9, 2.2, 1.1, 1.4],
        ...                      "sd": [1.0] * 8, "n": [40] * 8})
        >>> fit = fit_network(from_arms(arms, "MD"), "A", method="FE")
        >>> [round(e["estimate"], 4) for e in fit.effects()]
        [0.44, 1.22]
    """
    m = method.upper()
    if m not in ("REML", "ML", "FE"):
        raise InputError(f"option --method: REML, ML or FE, not {method!r}")
    ref = reference if reference is not None else c.treatments[0]
    X, others = design_matrix(c, ref)
    if np.linalg.matrix_rank(X) < X.shape[1]:
        raise InputError(
            "the treatment design is not estimable (a treatment is not connected to the reference)"
        )
    b_fe, vb_fe, q = _gls(c.yi, c.V, X)
    q_df = c.k - X.shape[1]
    designs = design_labels(c)
    keys = [f"{d}|{a}|{b}" for d, a, b in zip(designs, c.t1, c.t2, strict=True)]
    levels = list(dict.fromkeys(keys))
    Xd = np.array([[1.0 if k == lv else 0.0 for lv in levels] for k in keys])
    _, _, q_het = _gls(c.yi, c.V, Xd)
    q_het_df = c.k - len(levels)
    tau2 = 0.0
    loglik = float("nan")
    if m == "FE":
        b, vb = b_fe, vb_fe
    else:
        if q_df == 0:
            raise InputError("no residual degrees of freedom for tau^2: use --method FE")
        fit = MvModel(c.yi, c.V, X, SharedTau(c.study)).fit(m)
        b, vb, tau2, loglik = fit.beta, fit.vb, float(fit.components["tau2"]), fit.loglik
    treatments = [ref, *others]
    order = sorted(range(len(treatments)), key=lambda i: treatments[i])
    beta = np.concatenate([[0.0], b])[order]
    V = np.zeros((len(treatments), len(treatments)))
    V[1:, 1:] = vb
    V = V[np.ix_(order, order)]
    return NetworkFit(
        m,
        ref,
        [treatments[i] for i in order],
        beta,
        V,
        tau2,
        level,
        q,
        q_df,
        q_het,
        q_het_df,
        smaller_better,
        loglik,
        list(c.notes),
    )


__all__ = ["NetworkFit", "SharedTau", "design_labels", "design_matrix", "fit_network"]
