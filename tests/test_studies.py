"""StudyTable validation: every bad input is one InputError naming file, row and column."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bayesmeta.errors import InputError
from bayesmeta.studies import StudyTable


def test_reads_vi_and_sei(write_csv):
    t = StudyTable.read_csv(write_csv("study,yi,vi\nA,1.0,0.25\nB,2.0,1.0\n"))
    assert t.k == 2
    np.testing.assert_allclose(t.sei, [0.5, 1.0], rtol=0, atol=0)
    t2 = StudyTable.read_csv(write_csv("study,yi,sei\nA,1.0,0.5\nB,2.0,1.0\n"))
    np.testing.assert_allclose(t2.vi, [0.25, 1.0], rtol=1e-15)
    assert t2.variance == "vi = sei^2"


@pytest.mark.parametrize(
    ("text", "row", "column", "fragment"),
    [
        ("study,vi\nA,1\n", None, "yi", "missing required column 'yi'"),
        ("study,yi\nA,1\n", None, "vi", "missing required column 'vi' or 'sei'"),
        ("study,yi,vi\nA,1,0.1\nB,x,0.2\n", 2, "yi", "not a finite number"),
        ("study,yi,vi\nA,1,0.1\nB,2,\n", 2, "vi", "empty cell"),
        ("study,yi,vi\nA,1,0.1\nB,2,-0.2\n", 2, "vi", "must be > 0"),
        ("study,yi,sei\nA,1,0\n", 1, "sei", "must be > 0"),
        ("study,yi,vi\nA,1,0.1\nA,2,0.2\n", 2, "study", "duplicate study label 'A'"),
        ("study,yi,vi\n,1,0.1\n", 1, "study", "empty cell"),
        ("study,yi,vi\nA,1,1\nB,2,1\n,3,2\n", 3, "study", "empty cell"),  # text column
        ("study,yi,vi\nA,1,1\n  ,3,2\n", 2, "study", "empty cell"),
        ("study,yi,vi\nA,inf,0.1\n", 1, "yi", "not a finite number"),
    ],
)
def test_bad_input_is_located(write_csv, text, row, column, fragment):
    path = write_csv(text)
    with pytest.raises(InputError) as info:
        StudyTable.read_csv(path)
    err = info.value
    assert err.file == str(path)
    assert err.row == row
    assert err.column == column
    assert fragment in err.message
    assert "\n" not in str(err)


def test_empty_table_and_missing_file(write_csv, tmp_path):
    with pytest.raises(InputError, match="empty table"):
        StudyTable.read_csv(write_csv("study,yi,vi\n"))
    with pytest.raises(InputError, match="empty file"):
        StudyTable.read_csv(write_csv(""))
    with pytest.raises(InputError, match="file not found"):
        StudyTable.read_csv(tmp_path / "nope.csv")


def test_subgroup_cluster_covariates_and_subset(write_csv):
    path = write_csv(
        "study,yi,vi,cell,trial,dose\na,1,0.1,MSC,1,2.5\nb,2,0.2,MNC,1,3.0\nc,3,0.3,MSC,2,1.0\n"
    )
    t = StudyTable.read_csv(path, subgroup="cell", cluster="trial", covariates=["dose"])
    assert list(t.subgroup) == ["MSC", "MNC", "MSC"]
    assert list(t.cluster) == ["1", "1", "2"]
    sub = t.subset(t.subgroup == "MSC")
    assert sub.k == 2
    np.testing.assert_array_equal(sub.covariates["dose"].to_numpy(), [2.5, 1.0])
    assert list(sub.to_frame().columns) == ["study", "yi", "vi", "subgroup", "cluster", "dose"]
    with pytest.raises(InputError, match="missing required column 'arm'"):
        StudyTable.read_csv(path, subgroup="arm")


def test_from_arrays_validates():
    t = StudyTable.from_arrays([1.0, 2.0], sei=[0.1, 0.2])
    assert list(t.study) == ["1", "2"]
    with pytest.raises(InputError, match="must be > 0"):
        StudyTable.from_arrays([1.0], [0.0])
    with pytest.raises(InputError, match="empty table"):
        StudyTable.from_frame(pd.DataFrame({"study": [], "yi": [], "vi": []}))


def test_from_arrays_takes_numpy_and_pandas_labels() -> None:
    """Labels may be a list, a NumPy array or a pandas Series (not only a list)."""
    for make in (list, np.asarray, pd.Series):
        t = StudyTable.from_arrays(
            [0.1, 0.2, 0.3],
            vi=[0.01, 0.02, 0.03],
            study=make(["a", "b", "c"]),
            subgroup=make(["x", "x", "y"]),
        )
        assert list(t.study) == ["a", "b", "c"]
        assert list(t.subgroup) == ["x", "x", "y"]


def test_repr_is_a_short_summary():
    t = StudyTable.from_arrays(np.arange(8) / 10, sei=np.full(8, 0.2), measure="SMD")
    text = repr(t)
    lines = text.splitlines()
    assert lines[0] == "StudyTable(k = 8; measure SMD; vi = sei^2; columns: study, yi, vi)"
    assert len(lines) == 1 + 1 + 5 + 1  # header, column names, 5 rows, "... 3 rows more"
    assert lines[-1] == "... 3 rows more"
    assert "array(" not in text and "dtype" not in text
    one = StudyTable.from_arrays([0.1, 0.2], vi=[0.1, 0.1], subgroup=["a", "b"])
    assert "columns: study, yi, vi, subgroup" in repr(one) and "more" not in repr(one)
    assert "measure not given" in repr(one)


def test_repr_html_for_notebooks():
    t = StudyTable.from_arrays(np.arange(12) / 10, vi=np.full(12, 0.04), study=list("ABCDEFGHIJKL"))
    page = t._repr_html_()
    assert page.startswith("<p><b>StudyTable(k = 12;")
    assert page.count("<tr") == 1 + 10  # header row and the first 10 studies
    assert "2 rows more" in page and "<td>A</td>" in page and "<td>K</td>" not in page
