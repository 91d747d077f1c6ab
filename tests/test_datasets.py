"""Tests for bayesmeta.datasets and the shipped data under data/.

Independent references: the R packages that distribute the classic sets (fixture
tests/fixtures/datasets_r.json, made by tests/fixtures/datasets_r.R with metadat 1.2.0 and
bayesmeta 3.4:  metadat::dat.normand1999; data("CrinsEtAl2014"); data("Rubin1981")), the
shared copies under ../shared, the text of Zhang et al. (2020) (../shared/seeds), and the
numbers that text prints. Tolerances are stated at each assertion.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from scipy.special import gammaln

from bayesmeta import datasets
from bayesmeta._paths import data_dir
from bayesmeta.errors import InputError

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
SEED = SHARED / "seeds" / "000_c7582bb08ed231c9.txt"
FIXTURE = Path(__file__).parent / "fixtures" / "datasets_r.json"

EXPECTED_ROWS = {
    "normand1999": 9,
    "crins2014": 6,
    "rubin1981": 8,
    "morris2008": 5,
    "zhang2020_table1": 22,
    "zhang2020_pooled": 18,
    "zhang2020_arms": 88,
    "zhang2020_adverse": 10,
    "umpierre2011_pooled": 4,
}
CLASSIC = ["normand1999", "crins2014", "rubin1981", "morris2008"]
ZHANG_DOI = "10.14336/AD.2019.0421"


def needs(p: Path) -> None:
    if not p.exists():
        pytest.skip(f"{p} not available")


# ----------------------------------------------------------------------------- the files


def test_every_csv_has_a_sidecar_and_is_listed():
    csvs = sorted(p.stem for p in data_dir().glob("*.csv"))
    assert csvs == sorted(EXPECTED_ROWS)
    for name in csvs:
        assert (data_dir() / f"{name}.toml").exists(), name
    assert list(datasets.list_datasets()["name"]) == csvs
    assert not (data_dir() / ".gitkeep").exists()


@pytest.mark.parametrize("name", sorted(EXPECTED_ROWS))
def test_sidecar_content_and_row_count(name):
    meta = datasets.provenance(name)
    for key in ("title", "citation", "doi", "source_table", "r_equivalent", "license"):
        assert isinstance(meta.get(key), str) and meta[key].strip(), (name, key)
    assert re.search(r"\(\d{4}\)", meta["citation"]), "citation names a year"
    for col in meta["columns"]:
        assert set(col) >= {"name", "type", "unit", "description"}, (name, col)
        assert col["description"].strip(), (name, col["name"])
    df = datasets.load(name)
    assert len(df) == EXPECTED_ROWS[name] == meta["rows"]
    assert df.attrs["provenance"] == meta
    assert datasets.path(name).read_text(encoding="utf-8").count("\n") == len(df) + 1


@pytest.mark.parametrize("name", sorted(EXPECTED_ROWS))
def test_dtypes_follow_the_sidecar(name):
    df = datasets.load(name)
    for col in df.attrs["provenance"]["columns"]:
        s = df[col["name"]]
        if col["type"] == "float":
            assert s.dtype == np.float64
        elif col["type"] == "int":
            assert str(s.dtype) == ("Int64" if s.isna().any() else "int64"), col["name"]
        else:
            assert pd.api.types.is_string_dtype(s.dtype), col["name"]


def test_specific_dtypes_and_missing_values():
    crins = datasets.load("crins2014")
    assert str(crins["exp.SRR.events"].dtype) == "Int64"
    assert crins["exp.SRR.events"].isna().sum() == 3
    assert crins["exp.AR.events"].dtype == np.int64
    t1 = datasets.load("zhang2020_table1")
    assert t1["n_control"].isna().sum() == 12  # 10 rows have a control group
    # the printed "NA" (not available) dose stays text; its value is missing
    na = t1[t1["dose"] == "NA"]
    assert list(na["ref"]) == [25, 44]
    assert na["dose_value"].isna().all() and na["dose_unit"].isna().all()


@pytest.mark.parametrize("name", CLASSIC)
def test_classic_sets_are_unchanged_copies(name):
    src = SHARED / "datasets" / f"{name}.csv"
    needs(src)
    assert datasets.path(name).read_bytes() == src.read_bytes()


@pytest.mark.parametrize("name", ["normand1999", "crins2014", "rubin1981"])
def test_classic_sets_equal_the_r_packages(name):
    """Exact equality with the R data sets (numbers are small integers or 2-decimal values)."""
    ref = json.loads(FIXTURE.read_text())[name]
    df = datasets.load(name)
    assert list(df.columns) == list(ref)
    for col, values in ref.items():
        ours = [None if pd.isna(v) else v for v in df[col].tolist()]
        assert ours == values, col


def test_published_numbers_recompute_from_the_data():
    """Sidecar numbers against the data: Normand yi exact; FE and DL (pooled-SD variance) and
    Morris's bias-corrected standardized mean change to the printed 4 decimals (tol 6e-5)."""
    d = datasets.load("normand1999")
    pub = d.attrs["provenance"]["published"]
    yi = (d.m1i - d.m2i).to_numpy()
    assert yi.tolist() == pub["yi"]
    n1, n2 = d.n1i.to_numpy(), d.n2i.to_numpy()
    sdp2 = ((n1 - 1) * d.sd1i**2 + (n2 - 1) * d.sd2i**2).to_numpy() / (n1 + n2 - 2)
    vi = sdp2 * (1 / n1 + 1 / n2)
    w = 1 / vi
    z = stats.norm.ppf(0.975)
    fe = np.sum(w * yi) / w.sum()
    got = [fe, fe - z / np.sqrt(w.sum()), fe + z / np.sqrt(w.sum())]
    want = [pub["fixed"]["estimate"], pub["fixed"]["ci_low"], pub["fixed"]["ci_high"]]
    assert np.allclose(got, want, atol=6e-5)
    q = np.sum(w * (yi - fe) ** 2)
    tau2 = max(0.0, (q - (len(yi) - 1)) / (w.sum() - np.sum(w**2) / w.sum()))
    ws = 1 / (vi + tau2)
    dl = np.sum(ws * yi) / ws.sum()
    got = [dl, dl - z / np.sqrt(ws.sum()), dl + z / np.sqrt(ws.sum()), tau2]
    dlp = pub["dl"]
    assert np.allclose(
        got, [dlp["estimate"], dlp["ci_low"], dlp["ci_high"], dlp["tau2"]], atol=6e-5
    )

    m = datasets.load("morris2008")

    def c(df):
        return np.exp(0.5 * np.log(2 / df) + gammaln(df / 2) - gammaln((df - 1) / 2))

    g = (
        c(m.n_t - 1) * (m.m_post_t - m.m_pre_t) / m.sd_pre_t
        - c(m.n_c - 1) * (m.m_post_c - m.m_pre_c) / m.sd_pre_c
    )
    assert np.allclose(g, m.attrs["provenance"]["published"]["yi"], atol=6e-5)


def test_crins_citation_is_the_pediatric_transplantation_article():
    meta = datasets.provenance("crins2014")
    assert meta["doi"] == "10.1111/petr.12362"
    assert "Pediatric Transplantation 18(8):839-850" in meta["citation"]


# ------------------------------------------------------------------ Zhang 2020, Table 1


def _seed_table1() -> list[list[str]]:
    lines = SEED.read_text(encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("Author and year\t"))
    rows = []
    for line in lines[start + 1 :]:
        if not line.strip():
            break
        rows.append([c.strip() for c in line.split("\t")])
    return rows


def _pair(text: str) -> list[float]:
    return [float(p.strip().rstrip("%")) for p in text.split("/")]


def test_table1_matches_the_text_cell_by_cell():
    """Every printed cell of Table 1 is in the CSV (numbers exact, text verbatim)."""
    needs(SEED)
    seed = _seed_table1()
    t1 = datasets.load("zhang2020_table1")
    assert len(seed) == len(t1) == 22
    for (_, r), cells in zip(t1.iterrows(), seed, strict=True):
        who, country, size, male, age, hist, cell, dose, route, fu = cells
        assert who == f"{r.author} {r.year} [{r.ref}]"
        assert (country, size, hist, cell, route, fu) == (
            r.country,
            r.sample_size,
            r.diabetes_history,
            r.cell_type,
            r.route,
            r.follow_up,
        )
        assert dose.replace("$", "").replace(" \\times ", " × ") == r.dose
        n = [int(x) for x in re.findall(r"\d+", size.split("(")[0])]
        ctrl = [] if pd.isna(r.n_control) else [int(r.n_control)]
        assert n == [r.n_treated, *ctrl]
        assert size.endswith(f"({r.disease})")
        tail = [] if pd.isna(r.male_pct_control) else [r.male_pct_control]
        assert _pair(male) == [r.male_pct_treated, *tail]
        tail = [] if pd.isna(r.age_control) else [r.age_control]
        assert _pair(age) == [r.age_treated, *tail]
        ref_year = re.search(rf"^- \[{r.ref}\] [^(]*\((\d{{4}})\)", SEED.read_text(), re.M)
        assert int(ref_year.group(1)) == r.ref_year


def test_table1_parsed_columns_follow_the_stated_rules():
    """months: y x 12, m x 1, w x 12/52 (4 decimals, tol 5e-5); dose value and unit."""
    t1 = datasets.load("zhang2020_table1")
    factor = {"y": 12.0, "m": 1.0, "w": 12 / 52}
    for _, r in t1.iterrows():
        num, unit = re.fullmatch(r"([\d.]+) ([mw])", r.follow_up).groups()
        assert abs(r.follow_up_months - float(num) * factor[unit]) < 5e-5
        h = r.diabetes_history
        if h == "New onset":
            assert pd.isna(r.diabetes_history_months) and pd.isna(r.diabetes_history_upper_months)
            continue
        lt, num, unit = re.fullmatch(r"(<)?\s*([\d.]+)\s*(?:/\s*[\d.]+\s*)?([ymw])", h).groups()
        months = float(num) * factor[unit]
        point, upper = r.diabetes_history_months, r.diabetes_history_upper_months
        if lt:
            assert pd.isna(point) and abs(upper - months) < 5e-5
        else:
            assert pd.isna(upper) and abs(point - months) < 5e-5
        if r.dose != "NA":
            mant, exp = re.fullmatch(r"([\d.]+) × 10\^(\d+)( /kg)?", r.dose).groups()[:2]
            assert r.dose_value == pytest.approx(float(mant) * 10 ** int(exp), rel=1e-12)
            assert r.dose_unit == ("cells/kg" if r.dose.endswith("/kg") else "cells")
    skyler = t1[t1.ref == 47].iloc[0]
    assert skyler.follow_up == "12 w" and skyler.follow_up_months == pytest.approx(2.7692, abs=5e-5)


# The review's own totals, quoted from its text ("Characteristics of the included studies",
# "Outcome of stem cell therapy for T1DM / T2DM", "Adverse events").
TEXT_TOTALS = {
    "T1DM": {"studies": 10, "patients": 226, "controls": 33, "mean_age": 19.51},
    "T2DM": {"studies": 11, "patients": 386, "controls": 148, "mean_age": 52.91},
}
TEXT_BY_CELL = {  # (disease, cell type): (studies, patients incl. controls, treated)
    ("T1DM", "BM-HSC"): (8, 179, 169),
    ("T1DM", "MSC"): (2, 47, 24),
    ("T2DM", "MSC"): (6, 180, 124),
    ("T2DM", "BM-MNC"): (6, 216, 114),
}


def test_sidecar_holds_the_text_totals():
    pub = datasets.provenance("zhang2020_table1")["published"]
    for disease, totals in TEXT_TOTALS.items():
        assert pub[disease] == totals
    got = {
        (b["disease"], b["cell_type"]): (b["studies"], b["patients"]) for b in pub["by_cell_type"]
    }
    assert got == {k: v[:2] for k, v in TEXT_BY_CELL.items()}
    treated = {(b["disease"], b["cell_type"]): b["patients"] for b in pub["treated"]}
    assert treated == {k: v[2] for k, v in TEXT_BY_CELL.items()}


def _controls(rows: pd.DataFrame) -> int:
    """Control patients with each control group counted once."""
    groups = rows.dropna(subset=["control_group"]).drop_duplicates("control_group")
    return int(groups["n_control"].sum())


def test_review_totals_by_disease():
    t1 = datasets.load("zhang2020_table1")
    for disease, want in TEXT_TOTALS.items():
        rows = t1[t1.disease == disease]
        treated, controls = int(rows.n_treated.sum()), _controls(rows)
        assert rows.ref.nunique() == want["studies"]
        assert controls == want["controls"]
        assert treated + controls == want["patients"]
    # T2DM adds up only with ref 23's two arms sharing ONE control group of 10
    t2 = t1[t1.disease == "T2DM"]
    shared = t2[t2.ref == 23]
    assert len(shared) == 2 and shared.control_group.nunique() == 1
    assert set(shared.n_control) == {10}
    assert int(t2.n_treated.sum() + t2.n_control.sum()) == 396  # counted twice: not 386
    assert t1.ref.nunique() == 21
    assert t1.dropna(subset=["n_control"]).ref.nunique() == 9  # "only nine articles ..."


def test_review_totals_by_cell_type():
    """Per cell type the text counts ref 23's shared control group in both T2DM subgroups."""
    t1 = datasets.load("zhang2020_table1")
    for (disease, cell), (studies, patients, treated) in TEXT_BY_CELL.items():
        rows = t1[(t1.disease == disease) & (t1.cell_type == cell)]
        assert rows.ref.nunique() == studies
        assert int(rows.n_treated.sum()) == treated
        assert int(rows.n_treated.sum()) + _controls(rows) == patients
    assert 180 + 216 == TEXT_TOTALS["T2DM"]["patients"] + 10


def test_review_mean_ages_are_patient_weighted_over_all_groups():
    """Printed to 2 decimals: |weighted mean - printed| <= 0.005."""
    t1 = datasets.load("zhang2020_table1")
    for disease, want in TEXT_TOTALS.items():
        rows = t1[t1.disease == disease]
        ctl = rows.dropna(subset=["control_group"]).drop_duplicates("control_group")
        n = np.r_[rows.n_treated, ctl.n_control.astype(float)]
        age = np.r_[rows.age_treated, ctl.age_control]
        assert abs(np.sum(n * age) / n.sum() - want["mean_age"]) <= 0.005
    # counting ref 23's control twice would print 52.92, not 52.91
    t2 = t1[t1.disease == "T2DM"].dropna(subset=["n_control"])
    t2all = t1[t1.disease == "T2DM"]
    n = np.r_[t2all.n_treated, t2.n_control.astype(float)]
    age = np.r_[t2all.age_treated, t2.age_control]
    assert round(np.sum(n * age) / n.sum(), 2) == 52.92


def test_review_study_level_claims():
    t1 = datasets.load("zhang2020_table1")
    assert (t1.year.min(), t1.year.max()) == (2007, 2017)
    assert set(t1.country) == {"China", "Poland", "Brazil", "Sweden", "India", "USA"}
    assert t1.follow_up_months.min() == pytest.approx(12 * 12 / 52, abs=5e-5)  # "12 weeks"
    assert t1.follow_up_months.max() == 48
    assert t1.diabetes_history_months.max() == pytest.approx(15.8 * 12)
    # year mismatches between Table 1 and the reference list, reported as findings
    diff = t1[t1.year != t1.ref_year]
    assert sorted(zip(diff.ref, diff.year, diff.ref_year, strict=True)) == [
        (24, 2010, 2011),
        (27, 2014, 2015),
    ]


# --------------------------------------------------------------- Zhang 2020, pooled + arms


def test_pooled_is_the_published_copy_plus_unit_and_figure():
    src = SHARED / "published" / "zhang2020_pooled.csv"
    needs(src)
    ours = pd.read_csv(datasets.path("zhang2020_pooled"), dtype=str, keep_default_na=False)
    theirs = pd.read_csv(src, dtype=str, keep_default_na=False)
    pd.testing.assert_frame_equal(ours[list(theirs.columns)], theirs)
    assert list(ours.columns) == [*theirs.columns, "unit", "figure"]


def test_pooled_units_figures_and_model_rule():
    p = datasets.load("zhang2020_pooled")
    assert set(p.unit) == {"not stated"}
    figure = {
        ("T1DM", "c_peptide"): 2,
        ("T1DM", "hba1c"): 3,
        ("T2DM", "c_peptide"): 4,
        ("T2DM", "hba1c"): 5,
        ("T2DM", "insulin_dose"): 6,
        ("T2DM", "fpg"): 7,
    }
    assert all(figure[(r.disease, r.outcome)] == r.figure for r in p.itertuples())
    if SEED.exists():
        text = SEED.read_text(encoding="utf-8")
        for n in range(2, 8):
            assert f"These results are shown in Figure {n}." in text
    for r in p.itertuples():
        if r.model == "single":
            assert r.k == 1 and pd.isna(r.heterogeneity_p)
            continue
        pval = 0.0 if r.heterogeneity_p == "<0.001" else float(r.heterogeneity_p)
        assert r.model == ("random" if pval < 0.1 else "fixed"), r
        # symmetric Wald interval, all three printed to 2 decimals
        assert abs(r.md - (r.ci_low + r.ci_high) / 2) <= 0.005 + 1e-9


def test_arms_rows_match_pooled_rows():
    """Subgroup rows pool k arms; overall rows pool k distinct trials and all subgroup arms."""
    p = datasets.load("zhang2020_pooled")
    a = datasets.load("zhang2020_arms")
    t1 = datasets.load("zhang2020_table1")
    assert set(a.arm) <= set(t1.arm)
    key = ["disease", "outcome", "subgroup"]
    assert set(map(tuple, a[key].drop_duplicates().to_numpy())) == set(
        map(tuple, p[key].to_numpy())
    )
    for r in p.itertuples():
        arms = a[(a.disease == r.disease) & (a.outcome == r.outcome) & (a.subgroup == r.subgroup)]
        assert sorted(arms.ref.unique()) == sorted(int(x) for x in r.refs.split(";"))
        assert arms.ref.nunique() == r.k
        if r.subgroup != "all":
            assert len(arms) == r.k and set(arms.cell_type) == {r.subgroup}
        else:
            subs = p[(p.disease == r.disease) & (p.outcome == r.outcome) & (p.subgroup != "all")]
            assert len(arms) == subs.k.sum()
        merged = arms.merge(t1[["arm", "n_treated", "follow_up_months"]], on="arm")
        assert (merged.n_treated_x == merged.n_treated_y).all()
        assert (merged.follow_up_months_x == merged.follow_up_months_y).all()
    # k counts arms everywhere except the T2DM overall rows (ref 23 has two arms)
    n_arms = a.groupby(key).size()
    differ = {k for k, v in n_arms.items() if v != p.set_index(key).loc[k, "k"]}
    assert differ == {("T2DM", o, "all") for o in ("c_peptide", "hba1c", "insulin_dose", "fpg")}


def test_arm_sample_sizes_against_the_printed_n():
    """Table 1 arm totals vs the Results' n: exactly these five rows disagree (reported)."""
    p = datasets.load("zhang2020_pooled").set_index(["disease", "outcome", "subgroup"])
    a = datasets.load("zhang2020_arms")
    summed = a.groupby(["disease", "outcome", "subgroup"]).n_treated.sum()
    mismatch = {
        k: (int(p.loc[k, "n_treated"]), int(v))
        for k, v in summed.items()
        if v != p.loc[k, "n_treated"]
    }
    assert mismatch == {
        ("T1DM", "c_peptide", "all"): (115, 114),
        ("T1DM", "c_peptide", "MSC"): (10, 9),
        ("T1DM", "hba1c", "all"): (112, 113),
        ("T1DM", "hba1c", "MSC"): (8, 9),
        ("T2DM", "insulin_dose", "BM-MNC"): (31, 38),
    }
    ids = {f["id"] for f in datasets.provenance("zhang2020_arms")["findings"]}
    assert {"n-T1DM-cpeptide-MSC", "n-T1DM-hba1c-MSC", "n-T2DM-insulin-BM-MNC"} <= ids


def test_insulin_overall_pools_six_arms():
    """Fixed-effect IV combination of the two subgroup rows reproduces the overall row (tol 0.01,
    inputs rounded to 2 decimals); splitting Cochran's Q gives p = 0.13 only on (arms - 1) df."""
    p = datasets.load("zhang2020_pooled")
    a = datasets.load("zhang2020_arms")
    ins = p[(p.disease == "T2DM") & (p.outcome == "insulin_dose")].set_index("subgroup")
    z = stats.norm.ppf(0.975)
    subs = ins.loc[["MSC", "BM-MNC"]]
    se = (subs.ci_high - subs.ci_low) / (2 * z)
    w = 1 / se**2
    mu = float(np.sum(w * subs.md) / w.sum())
    half = z / np.sqrt(w.sum())
    allrow = ins.loc["all"]
    assert np.allclose(
        [mu, mu - half, mu + half], [allrow.md, allrow.ci_low, allrow.ci_high], atol=0.01
    )
    q_within = sum(stats.chi2.isf(float(r.heterogeneity_p), r.k - 1) for r in subs.itertuples())
    q = q_within + float(np.sum(w * (subs.md - mu) ** 2))
    n_arms = int(
        ((a.disease == "T2DM") & (a.outcome == "insulin_dose") & (a.subgroup == "all")).sum()
    )
    assert n_arms == 6
    assert abs(stats.chi2.sf(q, n_arms - 1) - float(allrow.heterogeneity_p)) < 0.005
    assert stats.chi2.sf(q, int(allrow.k) - 1) < 0.1  # 5 trials would have meant random effects


# ------------------------------------------------------------------------------ the loader


def test_unknown_name_lists_available():
    with pytest.raises(InputError) as err:
        datasets.load("eight_schools")
    msg = str(err.value)
    assert "unknown data set 'eight_schools'" in msg
    for name in EXPECTED_ROWS:
        assert name in msg
    with pytest.raises(InputError):
        datasets.provenance("")
    with pytest.raises(InputError):
        datasets.path(3)  # type: ignore[arg-type]


def test_name_is_normalised_and_path_exists():
    assert datasets.path(" Rubin1981.csv ") == data_dir() / "rubin1981.csv"
    assert datasets.path("rubin1981").exists()
    assert datasets.load("RUBIN1981").school.tolist() == list("ABCDEFGH")


def _tiny(tmp_path, monkeypatch, csv: str, toml: str | None) -> None:
    (tmp_path / "tiny.csv").write_text(csv)
    if toml is not None:
        (tmp_path / "tiny.toml").write_text(toml)
    monkeypatch.setattr(datasets, "data_dir", lambda: tmp_path)


SIDE = """title = "t"
citation = "c (2000)"
license = "l"
derivation = "d"
[[columns]]
name = "a"
type = "int"
[[columns]]
name = "b"
type = "str"
"""


def test_missing_sidecar_and_bad_sidecar(tmp_path, monkeypatch):
    _tiny(tmp_path, monkeypatch, "a,b\n1,x\n", None)
    with pytest.raises(InputError, match="sidecar missing"):
        datasets.load("tiny")
    (tmp_path / "tiny.toml").write_text("title = \n")
    with pytest.raises(InputError, match="not valid TOML"):
        datasets.provenance("tiny")
    (tmp_path / "tiny.toml").write_text(SIDE.replace('type = "str"', 'type = "text"'))
    with pytest.raises(InputError, match="needs a name and a type"):
        datasets.provenance("tiny")
    (tmp_path / "tiny.toml").write_text(SIDE.replace('license = "l"\n', ""))
    with pytest.raises(InputError, match="lacks 'license'"):
        datasets.provenance("tiny")


def test_header_mismatch_and_bad_cells(tmp_path, monkeypatch):
    _tiny(tmp_path, monkeypatch, "b,a\nx,1\n", SIDE)
    with pytest.raises(InputError, match="does not match"):
        datasets.load("tiny")
    (tmp_path / "tiny.csv").write_text("a,b\n1,x\nzz,y\n")
    with pytest.raises(InputError) as err:
        datasets.load("tiny")
    assert (err.value.row, err.value.column) == (2, "a")
    (tmp_path / "tiny.csv").write_text("a,b\n1.5,x\n")
    with pytest.raises(InputError, match="not an integer"):
        datasets.load("tiny")


def test_missing_values(tmp_path, monkeypatch):
    _tiny(tmp_path, monkeypatch, "a,b\n1,NA\nNA,\n,z\n", SIDE)
    df = datasets.load("tiny")
    assert str(df.a.dtype) == "Int64" and df.a.isna().tolist() == [False, True, True]
    assert df.b.tolist()[0] == "NA" and df.b.isna().tolist() == [False, True, False]
    listing = datasets.list_datasets()
    assert listing.to_dict("records")[0] == {
        "name": "tiny",
        "title": "t",
        "rows": 3,
        "citation": "c (2000)",
        "doi": "",
        "license": "l",
    }


def test_adverse_events_are_the_texts():
    """Each count's printed percentage (in the seed text) equals events / n to its rounding,
    and the seed's adverse-event paragraphs contain every 'n patients' count used."""
    d = datasets.load("zhang2020_adverse")
    printed = {  # (events, n): the percentage the text prints next to the count
        (10, 169): 5.9, (3, 169): 1.8, (1, 169): 0.59, (3, 124): 2.42, (1, 124): 0.81,
        (7, 114): 6.14, (1, 114): 0.88, (3, 114): 2.63,
    }  # fmt: skip
    for (x, n), pct in printed.items():
        assert round(100 * x / n, len(str(pct).split(".")[1])) == pct
        assert ((d["events"] == x) & (d["n"] == n)).any()
    needs(SEED)
    text = SEED.read_text(encoding="utf-8")
    for phrase in (
        "Among the 24 patients who underwent MSC",
        "Of the 169 patients",
        "10 patients (5.9%) reported infection",
        "3 of the 124 patients (2.42%)",
        "Of the 114 patients receiving BM-MNC",
        "nausea and vomiting occurred in 7",
    ):
        assert phrase in text, phrase
