"""Random-effects structures of dependent effect sizes: the marginal covariance
M(theta) = V + R(theta) and its derivatives, as metafor's ``rma.mv`` defines them.

* `Nested`: ``random = ~ 1 | cluster/study`` (and deeper nestings): one variance
  sigma_l^2 per level, R = sum_l sigma_l^2 Z_l Z_l' with Z_l the indicator of level l's
  units; theta_l = log sigma_l^2.
* `OutcomeByCluster`: ``random = ~ outcome | cluster`` with ``struct = "CS"`` (one tau^2,
  one rho), ``"HCS"`` (tau_j^2 per outcome, one rho) or ``"UN"`` (a free covariance matrix
  G of the outcomes); R_ij = G[o_i, o_j] when i and j share a cluster. theta: log tau^2 and
  atanh(rho) (CS, HCS; for CS with p outcomes rho is mapped into (-1/(p-1), 1)), or the
  log-Cholesky factor of G (UN), so every theta gives a valid G.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

STRUCTS = ("UN", "CS", "HCS")


def _codes(values: Sequence[Any]) -> tuple[np.ndarray, list[str]]:
    labels = [str(x) for x in values]
    levels = list(dict.fromkeys(labels))
    index = {v: i for i, v in enumerate(levels)}
    return np.array([index[v] for v in labels]), levels


@dataclass
class Nested:
    """Nested random intercepts; ``levels`` are the unit labels of each level, outermost first
    (a unit of level l is identified by its labels at levels 0..l).

    Examples:
        >>> import numpy as np
        >>> from bayesmeta.dependent.structures import Nested
        >>> s = Nested([["a", "a", "b"], ["1", "2", "1"]], names=["district", "school"])
        >>> s.R(np.log([2.0, 1.0]))
        array([[3., 2., 0.],
               [2., 3., 0.],
               [0., 0., 3.]])
    """

    levels: list[list[str]]
    names: list[str]

    def __post_init__(self) -> None:
        k = len(self.levels[0])
        self.Z: list[np.ndarray] = []
        self.n_levels: list[int] = []
        path = [""] * k
        for lab in self.levels:
            path = [f"{p}\x1f{x}" for p, x in zip(path, lab, strict=True)]
            codes, lv = _codes(path)
            self.Z.append((codes[:, None] == codes[None, :]).astype(float))
            self.n_levels.append(len(lv))

    @property
    def n_params(self) -> int:
        return len(self.Z)

    def R(self, theta: np.ndarray) -> np.ndarray:
        return sum((math.exp(t) * Z for t, Z in zip(theta, self.Z, strict=True)),
                   np.zeros_like(self.Z[0]))  # fmt: skip

    def dR(self, theta: np.ndarray) -> list[np.ndarray]:
        return [math.exp(t) * Z for t, Z in zip(theta, self.Z, strict=True)]

    def start(self, total: float) -> np.ndarray:
        return np.full(self.n_params, math.log(max(total, 1e-8) / self.n_params))

    def components(self, theta: np.ndarray) -> dict[str, Any]:
        return {"sigma2": [math.exp(t) for t in theta]}


@dataclass
class OutcomeByCluster:
    """``~ outcome | cluster`` with ``struct`` CS, HCS or UN (module docstring).

    Examples:
        >>> import numpy as np
        >>> from bayesmeta.dependent.structures import OutcomeByCluster
        >>> s = OutcomeByCluster(["t1", "t1", "t2"], ["a", "b", "a"], "CS")
        >>> s.G(np.array([np.log(2.0), np.arctanh(0.5)]))
        array([[2., 1.],
               [1., 2.]])
    """

    cluster: Sequence[Any]
    outcome: Sequence[Any]
    struct: str = "UN"

    def __post_init__(self) -> None:
        c, self.clusters = _codes(self.cluster)
        o, levels = _codes(self.outcome)
        order = sorted(range(len(levels)), key=lambda i: levels[i])  # metafor: sorted levels
        rank = np.empty(len(levels), int)
        rank[order] = np.arange(len(levels))
        self.o = rank[o]
        self.outcomes = [levels[i] for i in order]
        self.p = len(self.outcomes)
        self.S = (c[:, None] == c[None, :]).astype(float)
        self.E = np.zeros((len(self.o), self.p))
        self.E[np.arange(len(self.o)), self.o] = 1.0
        if self.struct not in STRUCTS:
            raise ValueError(self.struct)

    @property
    def n_params(self) -> int:
        p = self.p
        return {"CS": 2, "HCS": p + 1, "UN": p * (p + 1) // 2}[self.struct]

    def _rho(self, z: float) -> tuple[float, float]:
        """rho and d rho / d z: tanh for HCS; for CS mapped into (-1/(p-1), 1)."""
        if self.struct == "CS" and self.p > 2:
            lo = -1.0 / (self.p - 1)
            u = 0.5 * (1.0 + math.tanh(z))
            return lo + (1.0 - lo) * u, (1.0 - lo) * 0.5 * (1.0 - math.tanh(z) ** 2)
        return math.tanh(z), 1.0 - math.tanh(z) ** 2

    def _z(self, rho: float) -> float:
        rho = min(max(rho, -0.99), 0.99)
        if self.struct == "CS" and self.p > 2:
            lo = -1.0 / (self.p - 1)
            u = min(max((rho - lo) / (1.0 - lo), 0.01), 0.99)
            return math.atanh(2.0 * u - 1.0)
        return math.atanh(rho)

    def _L(self, theta: np.ndarray) -> np.ndarray:
        L = np.zeros((self.p, self.p))
        L[np.tril_indices(self.p)] = theta
        d = np.arange(self.p)
        L[d, d] = np.exp(L[d, d])
        return L

    def G(self, theta: np.ndarray) -> np.ndarray:
        p = self.p
        if self.struct == "UN":
            L = self._L(theta)
            return np.asarray(L @ L.T)
        if self.struct == "CS":
            t2 = math.exp(theta[0])
            rho, _ = self._rho(theta[1])
            return t2 * ((1 - rho) * np.eye(p) + rho * np.ones((p, p)))
        tau = np.exp(0.5 * theta[:p])
        rho, _ = self._rho(theta[p])
        C = np.full((p, p), rho)
        np.fill_diagonal(C, 1.0)
        return np.asarray(np.outer(tau, tau) * C)

    def dG(self, theta: np.ndarray) -> list[np.ndarray]:
        p = self.p
        if self.struct == "UN":
            L = self._L(theta)
            out = []
            for a, b in zip(*np.tril_indices(p), strict=True):
                dL = np.zeros((p, p))
                dL[a, b] = L[a, b] if a == b else 1.0
                out.append(dL @ L.T + L @ dL.T)
            return out
        if self.struct == "CS":
            t2 = math.exp(theta[0])
            rho, dr = self._rho(theta[1])
            G = t2 * ((1 - rho) * np.eye(p) + rho * np.ones((p, p)))
            return [G, t2 * dr * (np.ones((p, p)) - np.eye(p))]
        G = self.G(theta)
        out = []
        for m in range(p):
            D = np.zeros((p, p))
            D[m, :] += 0.5 * G[m, :]
            D[:, m] += 0.5 * G[:, m]
            out.append(D)
        tau = np.exp(0.5 * theta[:p])
        _, dr = self._rho(theta[p])
        out.append(dr * np.outer(tau, tau) * (np.ones((p, p)) - np.eye(p)))
        return out

    def R(self, theta: np.ndarray) -> np.ndarray:
        return np.asarray(self.S * (self.E @ self.G(theta) @ self.E.T))

    def dR(self, theta: np.ndarray) -> list[np.ndarray]:
        return [self.S * (self.E @ D @ self.E.T) for D in self.dG(theta)]

    def start(self, total: float) -> np.ndarray:
        t2 = max(total, 1e-8)
        if self.struct == "UN":
            L = np.eye(self.p) * math.sqrt(t2)
            th = L[np.tril_indices(self.p)].copy()
            d = [i * (i + 1) // 2 + i for i in range(self.p)]
            th[d] = np.log(np.diag(L))
            return th
        if self.struct == "CS":
            return np.array([math.log(t2), self._z(0.3)])
        return np.concatenate([np.full(self.p, math.log(t2)), [self._z(0.3)]])

    def components(self, theta: np.ndarray) -> dict[str, Any]:
        G = self.G(theta)
        sd = np.sqrt(np.diag(G))
        corr = G / np.outer(sd, sd)
        tau2 = {o: float(G[i, i]) for i, o in enumerate(self.outcomes)}
        return {"tau2": tau2, "G": G, "rho": corr}


__all__ = ["STRUCTS", "Nested", "OutcomeByCluster"]
