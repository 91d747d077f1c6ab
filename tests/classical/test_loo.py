"""Leave-one-out against metafor 3.8.1 ``leave1out(rma(yi, vi, method = M, test = T))``.

Columns estimate, se, ci.lb, ci.ub, Q, Qp, tau2, I2, H2 (tests/fixtures/make_metafor_fixtures.R).
Tolerance: relative 1e-6, absolute 1e-10.
"""

import json
from pathlib import Path

import numpy as np
import pytest

from bayesmeta.classical import leave_one_out
from bayesmeta.errors import InputError

FIX = json.loads((Path(__file__).parents[1] / "fixtures" / "metafor.json").read_text())
DATA = FIX["datasets"]
CASES = [
    (d, m, t)
    for d in DATA
    for m in DATA[d]["fits"]
    for t in DATA[d]["fits"][m]
    if "loo" in DATA[d]["fits"][m][t]
]
COLS = {
    "estimate": "estimate",
    "se": "se",
    "ci_low": "ci_lb",
    "ci_high": "ci_ub",
    "q": "Q",
    "q_p": "Qp",
    "i2": "I2",
    "h2": "H2",
}


@pytest.mark.parametrize(("name", "method", "test"), CASES)
def test_leave_one_out_matches_metafor(name, method, test):
    ds, ref = DATA[name], DATA[name]["fits"][method][test]["loo"]
    lo = leave_one_out(ds["yi"], ds["vi"], method, test, study=ds["study"])
    assert list(lo.index) == ds["study"]
    for ours, theirs in COLS.items():
        np.testing.assert_allclose(lo[ours], ref[theirs], rtol=1e-6, atol=1e-10, err_msg=ours)
    if method == "FE":
        assert lo["tau2"].isna().all()
    else:
        np.testing.assert_allclose(lo["tau2"], ref["tau2"], rtol=1e-6, atol=1e-10)


def test_leave_one_out_edge_cases():
    with pytest.raises(InputError, match="at least 2"):
        leave_one_out([0.1], [0.01])
    lo = leave_one_out([0.1, 0.5], [0.01, 0.02], "REML")
    assert lo["estimate"].tolist() == [0.5, 0.1]
    assert lo["tau2"].isna().all() and lo["q"].isna().all()
    failed = leave_one_out(DATA["bcg"]["yi"], DATA["bcg"]["vi"], "REML", control={"maxiter": 1})
    assert failed["estimate"].isna().any()
    assert any("did not converge" in w for w in failed.attrs["warnings"])
