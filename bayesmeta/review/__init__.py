"""The reference review's re-analysis (Zhang et al. 2020): spec, checks, reproduce, report.

* :mod:`~bayesmeta.review.spec`: ``load_spec()`` reads and validates ``models/zhang2020.toml``;
* :mod:`~bayesmeta.review.published`: what a rounded published row implies (SE, z, p, symmetry,
  Q from p, the fixed-effect Q decomposition);
* :mod:`~bayesmeta.review.conjugate`: the Bayesian re-analysis of a published estimate;
* :mod:`~bayesmeta.review.celltype`: the cell-type hierarchical model (exact engine + PyMC);
* :mod:`~bayesmeta.review.checks`: consistency findings on the review's own numbers;
* :mod:`~bayesmeta.review.studylevel`: the analysis from per-arm forest-plot values;
* :mod:`~bayesmeta.review.reproduce`: ``reproduce(out, studies, seed, progress)`` (the CLI's
  ``bayesmeta reproduce``), writing comparison.csv, report.md/.html and figures.

Importing this package is light; ``reproduce`` imports ArviZ, and PyMC only when sampling.
"""

from __future__ import annotations

from typing import Any

__all__ = ["load_spec", "reproduce"]


def __getattr__(name: str) -> Any:
    if name == "load_spec":
        from bayesmeta.review.spec import load_spec

        return load_spec
    if name == "reproduce":
        from bayesmeta.review.reproduce import reproduce

        return reproduce
    raise AttributeError(name)
