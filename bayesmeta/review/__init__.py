"""The reference review's re-analysis (Zhang et al. 2020): spec, checks, reproduce, report.

* `bayesmeta.review.spec`: `load_spec()` reads and validates ``models/zhang2020.toml``;
* `bayesmeta.review.published`: what a rounded published row implies (SE, z, p, symmetry,
  Q from p, the fixed-effect Q decomposition);
* `bayesmeta.review.conjugate`: the Bayesian re-analysis of a published estimate;
* `bayesmeta.review.celltype`: the cell-type hierarchical model (exact engine + PyMC);
* `bayesmeta.review.checks`: consistency findings on the review's own numbers;
* `bayesmeta.review.studylevel`: the analysis from per-arm forest-plot values;
* `bayesmeta.review.reanalysis`: `reproduce(out, studies, seed, progress)` (the CLI's
  ``bayesmeta reproduce``), writing comparison.csv, report.md/.html and figures.

Importing this package is light; ``reproduce`` imports ArviZ, and PyMC only when sampling.
``load_spec`` and ``reproduce`` are importable from here.

Examples:
    >>> from bayesmeta.review import load_spec
    >>> spec = load_spec()
    >>> print(spec.review["id"], len(spec.analyses))
    zhang2020 18
"""

from __future__ import annotations

from typing import Any

__all__ = ["load_spec", "reproduce"]


def __getattr__(name: str) -> Any:
    """Lazy ``load_spec`` and ``reproduce`` (importing the package stays light)."""
    if name == "load_spec":
        from bayesmeta.review.spec import load_spec

        return load_spec
    if name == "reproduce":
        from bayesmeta.review.reanalysis import reproduce

        return reproduce
    raise AttributeError(name)
