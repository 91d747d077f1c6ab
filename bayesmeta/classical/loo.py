"""Leave-one-out sensitivity analysis, as metafor ``leave1out(rma(...))``.

Each study is omitted in turn and the model refitted with the same estimator, test, level and
control settings. Columns: estimate, se, ci_low, ci_high, q, q_p, tau2, i2, h2 (metafor's
``estimate, se, ci.lb, ci.ub, Q, Qp, tau2, I2, H2``). Deviations from metafor, by design: when
only one study remains, tau^2, Q, I^2 and H^2 are NaN (metafor reports 0, 0, 0, 1); the CI
of that one study is then a z interval whatever the test, as metafor 3.8.1 falls back to z
(``leave1out(rma(c(.1, .4), c(.01, .02), test = "knha"))``: 0.4 [0.1228, 0.6772] and
0.1 [-0.0960, 0.2960]); for fixed-effect fits tau2 is NaN (metafor omits it).
A refit that fails (e.g. no convergence) gives a row of NaN, as metafor's ``try()`` does; the
reasons are listed in ``DataFrame.attrs["warnings"]``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from bayesmeta.classical.linalg import Control, check_arrays
from bayesmeta.classical.pooling import rma
from bayesmeta.errors import ConvergenceError, InputError

COLUMNS = ("estimate", "se", "ci_low", "ci_high", "q", "q_p", "tau2", "i2", "h2")


def leave_one_out(
    yi: Any,
    vi: Any,
    method: str = "REML",
    test: str = "z",
    level: float = 0.95,
    study: Any = None,
    control: Control | dict[str, Any] | None = None,
) -> pd.DataFrame:
    """Refit without each study in turn, as metafor ``leave1out(rma(...))``.

    Args:
        yi: effect sizes (k >= 2).
        vi: sampling variances (> 0).
        method: tau^2 estimator (default REML), as `rma()`.
        test: ``"z"`` (default), ``"knha"`` or ``"adhoc"``, as `rma()`.
        level: confidence level (default 0.95).
        study: study labels for the index (default None: "1", "2", ...).
        control: metafor-style settings (`Control` or dict; default None).

    Returns:
        One row per omitted study (index ``omitted``: its label), columns as the module
        docstring; ``attrs["warnings"]`` lists refits that failed.

    Examples:
        Same as metafor `leave1out(rma(yi, vi))` on Normand (1999): -14.6014, tau^2 793.5962.

        >>> from bayesmeta.datasets import load
        >>> from bayesmeta.effects import md
        >>> d = load("normand1999")
        >>> es = md(d.m1i, d.sd1i, d.n1i, d.m2i, d.sd2i, d.n2i)
        >>> from bayesmeta.classical import leave_one_out
        >>> loo = leave_one_out(es.yi, es.vi, study=d.source)
        >>> print(loo.loc["Edinburgh", ["estimate", "tau2"]].round(4).tolist())
        [-14.6014, 793.5962]
    """
    y, v, _ = check_arrays(yi, vi)
    k = y.size
    if k < 2:
        raise InputError("leave-one-out needs at least 2 studies")
    labels = [str(i + 1) for i in range(k)] if study is None else [str(s) for s in study]
    rows = []
    notes: list[str] = []
    for i in range(k):
        keep = np.arange(k) != i
        row = dict.fromkeys(COLUMNS, math.nan)
        try:
            # one study left: metafor's leave1out() falls back to z intervals
            one_test = test if keep.sum() > 1 else "z"
            fit = rma(y[keep], v[keep], method, one_test, level, control=control)
        except ConvergenceError as exc:
            notes.append(f"without {labels[i]}: {exc}")
            rows.append(row)
            continue
        row.update(
            estimate=float(fit.beta[0]),
            se=float(fit.se[0]),
            ci_low=float(fit.ci_low[0]),
            ci_high=float(fit.ci_high[0]),
        )
        if fit.k > 1:
            row.update(q=fit.qe, q_p=fit.qe_p, i2=fit.i2, h2=fit.h2)
            if not fit.is_fe:
                row["tau2"] = fit.tau2
        rows.append(row)
    out = pd.DataFrame(rows, columns=list(COLUMNS), index=pd.Index(labels, name="omitted"))
    out.attrs["warnings"] = notes
    return out
