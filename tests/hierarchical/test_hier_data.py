"""MetaData: validation of model input, one-line errors with row and column."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bayesmeta.errors import InputError
from bayesmeta.hierarchical import MetaData
from bayesmeta.studies import StudyTable

PREPOST = pd.DataFrame(
    {
        "study": ["a", "b"],
        "m_pre": [1.0, 2.0],
        "sd_pre": [1.0, 0.5],
        "m_post": [1.5, 1.0],
        "sd_post": [1.2, 0.6],
        "n": [10, 12],
    }
)


def test_from_table_takes_sei_from_vi():
    t = StudyTable.from_arrays([0.1, 0.5], vi=[0.04, 0.09], study=["x", "y"], subgroup=["g", "h"])
    d = MetaData.from_table(t)
    np.testing.assert_allclose(d.sei, [0.2, 0.3], rtol=1e-15)
    assert d.k == 2 and not d.is_prepost and list(d.study) == ["x", "y"]
    assert d.subgroups == (("g", "h"), pytest.approx(np.array([0, 1])))


def test_levels_in_order_of_first_appearance():
    d = MetaData.from_arrays([0, 1, 2, 3], [1, 1, 1, 1], subgroup=["MSC", "BM", "MSC", "HSC"])
    levels, idx = d.subgroups
    assert levels == ("MSC", "BM", "HSC") and idx.tolist() == [0, 1, 0, 2]


def test_from_arrays_rejects_bad_input():
    with pytest.raises(InputError, match="one length"):
        MetaData.from_arrays([0.1, 0.2], [0.1])
    with pytest.raises(InputError, match="must be > 0") as err:
        MetaData.from_arrays([0.1, 0.2], [0.1, 0.0])
    assert err.value.row == 2 and err.value.column == "sei"
    with pytest.raises(InputError, match="not a finite number"):
        MetaData.from_arrays([0.1, np.inf], [0.1, 0.1])


def test_from_prepost_change_scores():
    d = MetaData.from_prepost(PREPOST, source="pp.csv")
    np.testing.assert_allclose(d.yi, [0.5, -1.0], rtol=1e-15)
    assert d.is_prepost and d.sei is None and d.n.tolist() == [10, 12]


@pytest.mark.parametrize(
    ("column", "value", "message"),
    [
        ("sd_pre", 0.0, "must be > 0"),
        ("sd_post", np.nan, "empty cell"),
        ("n", 1, "whole number >= 2"),
        ("n", 7.5, "whole number >= 2"),
        ("m_post", "x", "not a finite number"),
        ("study", "a", "duplicate study label"),
    ],
)
def test_from_prepost_errors_name_row_and_column(column, value, message):
    df = PREPOST.astype(object).copy()
    df.loc[1, column] = value
    with pytest.raises(InputError, match=message) as err:
        MetaData.from_prepost(df, source="pp.csv")
    assert (err.value.file, err.value.row, err.value.column) == ("pp.csv", 2, column)


def test_from_prepost_missing_column():
    with pytest.raises(InputError, match="missing required column 'sd_post'"):
        MetaData.from_prepost(PREPOST.drop(columns="sd_post"))
    with pytest.raises(InputError, match="empty table"):
        MetaData.from_prepost(PREPOST.iloc[:0])


def test_missing_subgroup_or_cluster_column():
    d = MetaData.from_arrays([0.1], [0.1])
    with pytest.raises(InputError, match="subgroup column"):
        d.subgroups  # noqa: B018
    with pytest.raises(InputError, match="cluster"):
        d.clusters  # noqa: B018
