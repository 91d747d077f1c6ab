"""Cochrane data packages: both column layouts read from a folder, a ZIP and the Cochrane
Library's nested ZIP; every stored number of the package fixtures (metafor 3.8.1's REML,
Paule-Mandel, DerSimonian-Laird, Hartung-Knapp-Sidik-Jonkman and prediction intervals,
written by tests/fixtures/make_datapackage_fixtures.R) reproduced to its printed precision;
a perturbed stored number is caught; bad packages are one line; the real packages in
../shared/revman are reproduced (skipped when absent)."""

from __future__ import annotations

import io
import json
import math
import shutil
import zipfile
from pathlib import Path

import pytest

from bayesmeta.cli import main
from bayesmeta.errors import InputError
from bayesmeta.io import compare_all, read_revman
from bayesmeta.io.datapackage import find_package, is_datapackage, read_datapackage

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "datapackages"
NEWER, OLDER = FIX / "CD900001", FIX / "CD900002.zip"
SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "revman"


def csv_texts(folder: Path) -> dict[str, str]:
    return {p.name: p.read_text(encoding="utf-8") for p in folder.rglob("*.csv")}


def write_package(tmp: Path, files: dict[str, str], ident: str = "CD000009") -> Path:
    """A ZIP holding ``<ident>-analysis-data/<ident>-<name>`` for each file."""
    path = tmp / f"{ident}.zip"
    with zipfile.ZipFile(path, "w") as z:
        for name, text in files.items():
            z.writestr(f"{ident}-analysis-data/{ident}-{name}", text)
    return path


# ------------------------------------------------------------------ own packages (metafor)
@pytest.mark.parametrize("source", [NEWER, OLDER])
def test_every_stored_number_reproduced(source):
    entries = compare_all(read_revman(source))
    assert entries and all(e["match"] for e in entries), [
        (e["name"], e["mismatches"]) for e in entries if not e["match"]
    ]
    assert all(e["estimable"] for e in entries)


def test_newer_layout_settings_are_followed():
    analyses = {a.label.split()[0]: a for a in read_datapackage(NEWER)}
    a = analyses["1.1"]
    assert (a.measure, a.model, a.data_type) == ("RR", "random", "dichotomous")
    assert a.settings["layout"] == "newer"
    assert (a.settings["estimator"], a.settings["ci_method"], a.settings["prediction"]) == (
        "REML", "hksj", True)  # fmt: skip
    assert a.favours == ("Favours treatment", "Favours control")
    assert analyses["2.1"].settings["estimator"] == "PM"
    assert analyses["2.1"].data_type == "generic" and analyses["2.1"].settings["log_scale"]
    assert [s.name for s in analyses["1.2"].subgroups] == ["random", "alternate", "systematic"]
    entries = {f"{e['comparison']}.{e['outcome']}": e for e in compare_all(list(analyses.values()))
               if e["subgroup"] is None}  # fmt: skip
    e = entries["1.1"]
    assert e["settings"] == {"layout": "newer", "estimator": "REML", "ci_method": "hksj",
                             "prediction": True, "level": 0.95, "log_scale": True}  # fmt: skip
    st, rc = e["prediction"]["stored"], e["prediction"]["recomputed"]
    assert rc["pi_low"] == pytest.approx(st["pi_low"], rel=1e-12)
    assert rc["pi_high"] == pytest.approx(st["pi_high"], rel=1e-12)
    test = entries["1.2"]["subgroup_test"]
    assert test["recomputed"]["q"] == pytest.approx(test["stored"]["q"], rel=1e-12)
    assert test["recomputed"]["df"] == 2


def test_older_layout_nested_zip_and_risk_of_bias():
    analyses = read_datapackage(OLDER)
    assert [a.settings["layout"] for a in analyses] == ["older", "older"]
    assert analyses[0].settings["estimator"] == "DL" and analyses[0].settings["ci_method"] == "wald"
    rob = analyses[0].risk_of_bias
    assert rob is not None and list(rob.columns) == ["study", "Random sequence generation"]
    assert set(rob["study"]) == set(analyses[0].studies["study"])
    assert set(rob["Random sequence generation"]) <= {"Low risk", "Unclear risk", "High risk"}


def test_folder_and_zip_read_the_same(tmp_path):
    z = tmp_path / "CD900001.zip"
    with zipfile.ZipFile(z, "w") as zf:
        for p in NEWER.rglob("*.csv"):
            zf.write(p, p.relative_to(NEWER.parent).as_posix())
    a, b = compare_all(read_revman(NEWER)), compare_all(read_revman(z))
    strip = [{k: v for k, v in e.items() if k != "studies"} for e in a]
    assert strip == [{k: v for k, v in e.items() if k != "studies"} for e in b]
    assert (
        is_datapackage(z) and is_datapackage(NEWER) and not is_datapackage(FIX / "PROVENANCE.txt")
    )


@pytest.mark.parametrize(("column", "factor"), [("Mean", 1.0001), ("Heterogeneity Tau²", 1.01),
                                                ("PI end", 1.001), ("Weight", 1.001)])  # fmt: skip
def test_a_perturbed_stored_number_is_caught(tmp_path, column, factor):
    files = csv_texts(NEWER)
    name = (
        "CD900001-data-rows.csv"
        if column == "Weight"
        else ("CD900001-overall-estimates-and-settings.csv")
    )
    import csv as csvmod

    rows = list(csvmod.reader(io.StringIO(files[name])))
    j = rows[0].index(column)
    rows[1][j] = repr(float(rows[1][j]) * factor)
    buf = io.StringIO()
    csvmod.writer(buf, lineterminator="\n").writerows(rows)
    files[name] = buf.getvalue()
    pkg = write_package(tmp_path, {k.removeprefix("CD900001-"): v for k, v in files.items()},
                        "CD900001")  # fmt: skip
    first = compare_all(read_revman(pkg))[0]
    assert first["match"] is False and first["mismatches"]


def test_printed_precision_crlf_and_quoted_na(tmp_path):
    # numbers rounded to 6 decimals, CRLF line ends and "#N/A" quoted, as CD011506 has them;
    # the MD and its CI: metafor rma(yi = c(-1, -2), vi = c(0.5, 0.25), method = "FE"):
    # -1.666667 [-2.466819, -0.866515], Q 1.333333 (I² 25 %), z -4.082483, p 0.000045
    settings = (
        "Analysis group,Analysis number,Analysis name,Data type,Log-scale data,"
        "Statistical method,Effect measure,Analysis model,Heterogeneity estimator,CI method,"
        "CI/PI level,Prediction interval,Mean,CI start,CI end,Heterogeneity Chi²,"
        "Heterogeneity df,Heterogeneity I²,Effect Z,Effect P\r\n"
        '1,1,Pain,Contrast level,false,IV,Mean Difference,Fixed effect,"#N/A",Wald,95%,false,'
        "-1.666667,-2.466819,-0.866515,1.333333,1,25.0,4.082483,0.000045\r\n"
    )
    rows = (
        "Analysis group,Analysis number,Analysis name,Subgroup,Study,Study year,GIV Mean,GIV SE,"
        "Weight,Mean,CI start,CI end\r\n"
        "1,1,Pain,,A,2001,-1,0.707107,33.333333,-1.0,-2.385929,0.385929\r\n"
        "1,1,Pain,,B,2002,-2,0.5,66.666667,-2.0,-2.979982,-1.020018\r\n"
        '1,1,Pain,,C,2003,"#N/A","#N/A",,,,\r\n'
    )
    pkg = write_package(tmp_path, {"overall-estimates-and-settings.csv": settings,
                                   "data-rows.csv": rows})  # fmt: skip
    (e,) = compare_all(read_revman(pkg))
    assert e["match"], e["mismatches"]
    assert e["recomputed"]["estimate"] == pytest.approx(-1.666667, abs=5e-7)
    assert e["k"] == 3


def test_stored_zeros_mean_nothing_stored(tmp_path):
    settings = (
        "Analysis group,Analysis number,Analysis name,Data type,Log-scale data,"
        "Statistical method,Effect measure,Analysis model,Study CI,Estimate CI,Mean,CI start,"
        "CI end,Heterogeneity Chi²,Heterogeneity df,Effect Z\n"
        "1,1,Score,Continuous,false,IV,Std. Mean Difference,Fixed effect,95%,95%,0,0,0,0,1,0\n"
    )
    rows = (
        "Analysis group,Analysis number,Analysis name,Subgroup,Study,Study year,Experimental mean,"
        "Experimental SD,Experimental N,Control mean,Control SD,Control N,Weight,Mean,CI start,"
        "CI end\n1,1,Score,,A,2001,5,4.7,13,6.5,3.8,13,0,0,0,0\n"
        "1,1,Score,,B,2002,4.9,1.71,30,6.1,2.3,50,0,0,0,0\n"
    )
    pkg = write_package(tmp_path, {"overall-estimates-and-settings.csv": settings,
                                   "data-rows.csv": rows})  # fmt: skip
    (e,) = compare_all(read_revman(pkg))
    assert e["match"] and all(v is None for v in e["stored"].values())
    assert e["recomputed"]["estimate"] is not None


def test_swapped_events_are_analysed_as_non_events(tmp_path):
    settings = (
        "Analysis group,Analysis number,Analysis name,Data type,Log-scale data,Statistical method,"
        "Effect measure,Analysis model,Swap event and non-event,Study CI,Estimate CI\n"
        "1,1,Alive,Dichotomous,true,IV,Risk Ratio,Fixed effect,true,95%,95%\n"
    )
    rows = ("Analysis group,Analysis number,Analysis name,Subgroup,Study,Study year,"
            "Experimental cases,Experimental N,Control cases,Control N\n"
            "1,1,Alive,,A,2001,4,10,6,12\n")  # fmt: skip
    pkg = write_package(tmp_path, {"overall-estimates-and-settings.csv": settings,
                                   "data-rows.csv": rows})  # fmt: skip
    (e,) = compare_all(read_revman(pkg))
    assert e["recomputed"]["estimate"] == pytest.approx((6 / 10) / (6 / 12), rel=1e-12)


def test_unsupported_analyses_are_skipped_with_their_reason(tmp_path):
    """O-E and variance data are pooled by Peto's method (log OR = (O - E) / V for one
    study); a rate ratio is skipped with its reason."""
    settings = (
        "Analysis group,Analysis number,Analysis name,Data type,Log-scale data,Statistical method,"
        "Effect measure,Analysis model,Study CI,Estimate CI\n"
        "1,1,Survival,O-E and variance,true,Peto,Peto Odds Ratio,Fixed effect,95%,95%\n"
        "1,2,Rates,Contrast level,true,IV,Rate Ratio,Fixed effect,95%,95%\n"
        "1,3,Score,Contrast level,false,IV,Mean Difference,Fixed effect,95%,95%\n"
    )
    rows = ("Analysis group,Analysis number,Analysis name,Subgroup,Study,Study year,GIV Mean,"
            "GIV SE,O-E,Variance\n1,1,Survival,,A,2001,,,-2.1,5.3\n1,2,Rates,,A,2001,0.2,0.1,,\n"
            "1,3,Score,,A,2001,0.5,0.25,,\n1,3,Score,,B,2002,0.7,0.5,,\n")  # fmt: skip
    pkg = write_package(tmp_path, {"overall-estimates-and-settings.csv": settings,
                                   "data-rows.csv": rows})  # fmt: skip
    e1, e2, e3 = compare_all(read_revman(pkg))
    assert e1["recomputed"]["estimate"] == pytest.approx(math.exp(-2.1 / 5.3), rel=1e-12)
    assert "Rate Ratio" in e2["skipped"]
    assert e3["match"] and e3["recomputed"]["estimate"] == pytest.approx(
        (0.5 / 0.0625 + 0.7 / 0.25) / (1 / 0.0625 + 1 / 0.25), rel=1e-12)  # fmt: skip


# ------------------------------------------------------------------ bad packages
def _zip(tmp: Path, members: dict[str, bytes], name: str = "p.zip") -> Path:
    path = tmp / name
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for k, v in members.items():
            z.writestr(k, v)
    return path


@pytest.mark.parametrize(
    ("members", "expected"),
    [
        ({"readme.txt": b"hello"}, "no data-package CSV files"),
        ({"X-analysis-data/X-data-rows.csv": b"a\n1\n"}, "missing *-overall-estimates"),
        (
            {"X-analysis-data/X-parameters.csv": b"a\n", "X-analysis-data/X-data-rows.csv": b"a\n"},
            "diagnostic test accuracy",
        ),
        ({"../evil-data-rows.csv": b"a\n"}, "points outside the package"),
        ({"/abs/X-data-rows.csv": b"a\n"}, "points outside the package"),
        (
            {
                "X-analysis-data/X-overall-estimates-and-settings.csv": b"x" * (3 << 20),
                "X-analysis-data/X-data-rows.csv": b"a\n",
            },
            "ZIP refused",
        ),
    ],
)
def test_bad_packages_are_one_line(tmp_path, capsys, members, expected):
    path = _zip(tmp_path, members)
    with pytest.raises(InputError) as info:
        find_package(path)
    assert expected in info.value.message
    assert main(["revman", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and expected in err and "p.zip" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.zip"]  # nothing extracted


def test_not_a_zip_and_orphan_rows(tmp_path, capsys):
    bad = tmp_path / "x.zip"
    bad.write_bytes(b"PK\x03\x04 broken")
    assert main(["revman", str(bad)]) == 2
    assert "not a ZIP file" in capsys.readouterr().err
    settings = (
        "Analysis group,Analysis number,Analysis name,Data type,Statistical method,"
        "Effect measure,Analysis model\n1,1,A,Continuous,IV,Mean Difference,Fixed effect\n"
    )
    rows = ("Analysis group,Analysis number,Analysis name,Subgroup,Study,Experimental mean,"
            "Experimental SD,Experimental N,Control mean,Control SD,Control N\n"
            "1,1,A,,S1,1,1,10,2,1,10\n2,7,B,,S2,1,1,10,2,1,10\n")  # fmt: skip
    pkg = write_package(tmp_path, {"overall-estimates-and-settings.csv": settings,
                                   "data-rows.csv": rows})  # fmt: skip
    assert main(["revman", str(pkg)]) == 2
    err = capsys.readouterr().err
    assert "analysis 2.7 has data rows but no row in overall-estimates" in err


def test_inconsistent_totals_are_one_line(tmp_path, capsys):
    settings = ("Analysis group,Analysis number,Analysis name,Data type,Statistical method,"
                "Effect measure,Analysis model,Experimental N,Control N\n"
                "1,3,A,Continuous,IV,Mean Difference,Fixed effect,20,30\n")  # fmt: skip
    rows = ("Analysis group,Analysis number,Analysis name,Subgroup,Study,Experimental mean,"
            "Experimental SD,Experimental N,Control mean,Control SD,Control N\n"
            "1,3,A,,S1,1,1,10,2,1,10\n1,3,A,,S2,1,1,10,2,1,10\n")  # fmt: skip
    pkg = write_package(tmp_path, {"overall-estimates-and-settings.csv": settings,
                                   "data-rows.csv": rows})  # fmt: skip
    assert main(["revman", str(pkg)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "analysis 1.3: inconsistent totals: 'Control N' is 30" in err


def test_cli_json_and_report(tmp_path, capsys):
    assert main(["revman", str(NEWER), "--json"]) == 0
    obj = json.loads(capsys.readouterr().out)
    first = obj["analyses"][0]
    assert {"comparison", "outcome", "subgroup", "name", "data_type", "method", "measure",
            "model", "k", "stored", "recomputed", "studies", "match", "settings",
            "prediction"} <= set(first)  # fmt: skip
    out = tmp_path / "rep"
    assert main(["revman", str(OLDER), "--out", str(out)]) == 0
    text = (out / "report.md").read_text()
    assert text.count("## ") == 2 and "Match with RevMan: yes" in text
    assert len(list((out / "figures").glob("*.png"))) == 2


# ------------------------------------------------------------------ the real packages
@pytest.mark.skipif(not SHARED.exists(), reason="../shared/revman is not beside this clone")
@pytest.mark.parametrize("name", ["Fleiss1993.zip", "CD013776", "CD011506"])
def test_real_packages(name, tmp_path):
    """Three real packages (older layout in RevMan Web's ZIP; two 2026 reviews in the newer
    layout, one with rounded numbers, quoted #N/A and CRLF): every stored number reproduced,
    including RevMan Web's I² = 100 for one estimable study among several (CD011506 1.12)."""
    src = SHARED / name
    if src.is_dir():  # read from a copy: the shared folder is read-only
        src = Path(shutil.copytree(src, tmp_path / name))
    entries = compare_all(read_revman(src))
    bad = [(e["name"], e["mismatches"]) for e in entries if e["match"] is False]
    assert bad == []
    assert sum(e["match"] is True for e in entries) == {"Fleiss1993.zip": 2, "CD013776": 24,
                                                        "CD011506": 13}[name]  # fmt: skip
