"""RevMan 5 files: read, recompute, compare with the stored numbers.

The project's own test files are written here from R metafor 3.8.1 results (fixture
tests/fixtures/mh_peto.json, ``revman_cases``, made by tests/fixtures/make_mh_fixtures.R):
the study data and, as "RevMan's stored results", metafor's numbers (rma.mh, rma.peto, rma
DL / FE on escalc). Each case is written as a .rm5 XML file (ISO-8859-1, study IDs with
RevMan's ``_x002d_`` escapes, empty attributes) and as a CSV export (BOM, CRLF, 8 decimals),
read back, recomputed and compared to 1e-6 relative (the CSV to its 8-decimal rounding).
The real RevMan file in ../shared/revman is checked when it is there.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from xml.sax.saxutils import quoteattr

import pytest

from bayesmeta.cli import main
from bayesmeta.errors import InputError
from bayesmeta.io import compare_all, read_revman

FIX = json.loads((Path(__file__).parents[1] / "fixtures" / "mh_peto.json").read_text())
CASES = FIX["revman_cases"]
SHARED = Path(__file__).resolve().parents[3] / "shared" / "revman"
KIND = {"dichotomous": "DICH", "continuous": "CONT"}
CSV_TYPE = {"dichotomous": "DIC", "continuous": "CON"}


def _g(v):
    return "" if v is None else repr(float(v))


def _study_id(name: str) -> str:
    return "STD-" + "".join(c if c.isalnum() else f"_x{ord(c):04x}_" for c in name)


def _data_attrs(case, i):
    if case["data_type"] == "dichotomous":
        keys = ("events_1", "total_1", "events_2", "total_2")
    else:
        keys = ("mean_1", "sd_1", "total_1", "mean_2", "sd_2", "total_2")
    return {k.upper(): case[k][i] for k in keys}


def write_rm5(path: Path, cases: dict) -> None:
    names = sorted({s for c in cases.values() for s in c["study"]})
    lines = [
        '<?xml version="1.0" encoding="ISO-8859-1" standalone="no"?>',
        '<COCHRANE_REVIEW REVMAN_VERSION="5" ID="1">',
        "<STUDIES_AND_REFERENCES><STUDIES>",
        "<INCLUDED_STUDIES>",
    ]
    lines += [f'<STUDY ID={quoteattr(_study_id(n))} NAME={quoteattr(n)} YEAR=""/>' for n in names]
    lines += [
        "</INCLUDED_STUDIES></STUDIES></STUDIES_AND_REFERENCES>",
        "<ANALYSES_AND_DATA>",
        '<COMPARISON ID="CMP-001" NO="1"><NAME>Tests</NAME>',
    ]
    for no, (key, c) in enumerate(cases.items(), start=1):
        kind = KIND[c["data_type"]]
        t = c["total"]
        method = {"PETO": "PETO", "MH": "MH", "IV": "IV"}[c["method"]]
        measure = "PETO_OR" if c["method"] == "PETO" else c["measure"]
        attrs = (
            f'CHI2="{_g(t["q"])}" CI_END="{_g(t["ci_high"])}" CI_START="{_g(t["ci_low"])}" '
            f'EFFECT_MEASURE="{measure}" EFFECT_SIZE="{_g(t["estimate"])}" I2="{_g(t["i2"])}" '
            f'METHOD="{method}" NO="{no}" P_Z="{_g(t["z_p"])}" TAU2="{_g(t["tau2"])}" '
            f'Z="{_g(t["z"])}" RANDOM="{"YES" if c["model"] == "random" else "NO"}" UNITS=""'
        )
        lines.append(f"<{kind}_OUTCOME {attrs}><NAME>{key}</NAME>")
        groups = c.get("subgroup") or [None] * len(c["study"])
        order = list(dict.fromkeys(groups))
        for gno, g in enumerate(order, start=1):
            if g is not None:
                st = c["subgroups"][g]
                lines.append(
                    f'<{kind}_SUBGROUP NO="{gno}" CHI2="{_g(st["q"])}" '
                    f'EFFECT_SIZE="{_g(st["estimate"])}" CI_START="{_g(st["ci_low"])}" '
                    f'CI_END="{_g(st["ci_high"])}" I2="{_g(st["i2"])}" Z="{_g(st["z"])}" '
                    f'P_Z="{_g(st["z_p"])}" TAU2="0.0"><NAME>{g}</NAME>'
                )
            for i, gi in enumerate(groups):
                if gi != g:
                    continue
                a = " ".join(f'{k}="{_g(v)}"' for k, v in _data_attrs(c, i).items())
                srow = c.get("studies")
                if srow:
                    vals = {
                        "EFFECT_SIZE": srow["estimate"][i],
                        "CI_START": srow["ci_low"][i],
                        "CI_END": srow["ci_high"][i],
                        "WEIGHT": srow["weight"][i],
                    }
                    a += "".join(f' {k}="{_g(v)}"' for k, v in vals.items())
                lines.append(
                    f'<{kind}_DATA STUDY_ID={quoteattr(_study_id(c["study"][i]))} {a} SE=""/>'
                )
            if g is not None:
                lines.append(f"</{kind}_SUBGROUP>")
        lines.append(f"</{kind}_OUTCOME>")
    lines += ["</COMPARISON>", "</ANALYSES_AND_DATA>", "</COCHRANE_REVIEW>"]
    path.write_bytes("\n".join(lines).encode("iso-8859-1"))


def _d8(v):
    return "" if v is None else f"{float(v):.8f}".rstrip("0").rstrip(".")


def write_csv(path: Path, cases: dict) -> None:
    head = (
        "Comparison Number,Outcome Number,Subgroup Number,Name,Data Type,Statistical Method,"
        "Effect Measure,Analysis Model,Events 1,Mean 1,SD 1,Total 1,Events 2,Mean 2,SD 2,"
        "Total 2,Effect Estimate,SE,CI Start,CI End,Weight,Q,P(Q),I²(Q),Tau²,Z,P(Z),Qint,"
        "P(Qint),I²(Qint),df,Group Label 1,Group Label 2"
    )
    rows = [head, "1,0,0,Tests" + "," * 29]

    def total(no, sno, name, c, t):
        return ",".join(
            [
                "1",
                str(no),
                str(sno),
                name,
                CSV_TYPE[c["data_type"]],
                c["method"].replace("PETO", "Peto"),
                "Peto OR" if c["method"] == "PETO" else c["measure"],
                "Random" if c["model"] == "random" else "Fixed",
                *[""] * 8,
                _d8(t["estimate"]),
                "",
                _d8(t["ci_low"]),
                _d8(t["ci_high"]),
                "100",
                _d8(t["q"]),
                "",
                _d8(t["i2"]),
                _d8(t["tau2"]),
                _d8(t["z"]),
                _d8(t["z_p"]),
                "",
                "",
                "",
                "",
                "",
                "",
            ]
        )

    for no, (key, c) in enumerate(cases.items(), start=1):
        groups = c.get("subgroup") or [None] * len(c["study"])
        rows.append(total(no, 0, key, c, c["total"]))
        for gno, g in enumerate(dict.fromkeys(groups), start=1):
            if g is not None:
                rows.append(total(no, gno, g, c, c["subgroups"][g]))
            for i, gi in enumerate(groups):
                if gi != g:
                    continue
                d = _data_attrs(c, i)
                cells = [
                    d.get(k)
                    for k in (
                        "EVENTS_1",
                        "MEAN_1",
                        "SD_1",
                        "TOTAL_1",
                        "EVENTS_2",
                        "MEAN_2",
                        "SD_2",
                        "TOTAL_2",
                    )
                ]
                s = c.get("studies")
                est = (
                    [s[k][i] for k in ("estimate", "ci_low", "ci_high", "weight")]
                    if s
                    else [None] * 4
                )
                name = c["study"][i].replace(",", " ")
                rows.append(
                    ",".join(
                        [
                            "1",
                            str(no),
                            str(gno if g else 0),
                            name,
                            "",
                            "",
                            "",
                            "",
                            *["" if v is None else _d8(v) for v in cells],
                            _d8(est[0]),
                            "",
                            _d8(est[1]),
                            _d8(est[2]),
                            _d8(est[3]),
                            *[""] * 12,
                        ]
                    )
                )
    path.write_bytes(("\ufeff" + "\r\n".join(rows) + "\r\n").encode("utf-8"))


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("revman")
    write_rm5(d / "tests.rm5", CASES)
    write_csv(d / "tests.csv", CASES)
    return d


@pytest.mark.parametrize("name", ["tests.rm5", "tests.csv"])
def test_every_stored_number_is_reproduced(files, name):
    analyses = read_revman(files / name)
    assert [a.name for a in analyses] == list(CASES)
    entries = compare_all(analyses)
    assert len(entries) == len(CASES) + 2  # the BCG outcome has two subgroups
    for e in entries:
        assert e["match"], (name, e["name"], e["mismatches"])
        assert e["recomputed"]["estimate"] is not None


def test_the_reader_keeps_names_methods_and_subgroups(files):
    a = {x.name: x for x in read_revman(files / "tests.rm5")}
    bcg = a["bcg_mh_or"]
    assert (bcg.method, bcg.measure, bcg.model, bcg.data_type) == (
        "MH",
        "OR",
        "fixed",
        "dichotomous",
    )
    assert [s.name for s in bcg.subgroups] == ["random allocation", "other allocation"]
    assert a["yusuf_peto"].method == "PETO" and a["bcg_iv_rd_random"].model == "random"
    assert set(bcg.studies["study"]) == set(CASES["bcg_mh_or"]["study"])  # escapes undone
    first = CASES["bcg_mh_or"]["total"]["estimate"]
    assert bcg.stored["estimate"] == pytest.approx(first, rel=1e-15)


def test_cli_json_and_text(files, capsys):
    assert main(["revman", str(files / "tests.rm5"), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["file"].endswith("tests.rm5") and all(a["match"] for a in out["analyses"])
    keys = {
        "comparison",
        "outcome",
        "subgroup",
        "name",
        "data_type",
        "method",
        "measure",
        "model",
        "k",
        "stored",
        "recomputed",
        "studies",
        "match",
    }
    assert keys <= set(out["analyses"][0])
    assert main(["revman", str(files / "tests.csv")]) == 0
    text = capsys.readouterr().out
    assert "all 8 analyses match" in text


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"not xml, not csv", "not a RevMan CSV export: missing column"),
        (b"<?xml version='1.0'?><html/>", "XML but not a RevMan review"),
        (b"<COCHRANE_REVIEW><ANALYSES", "not an XML file"),
        (
            "Comparison Number,Outcome Number,Subgroup Number,Name,Data Type,Statistical Method,"
            "Effect Measure,Analysis Model,Events 1,Mean 1,SD 1,Total 1,Events 2,Mean 2,SD 2,"
            "Total 2,Effect Estimate,SE,CI Start,CI End,Weight,Q,P(Q),I²(Q),Tau²,Z,P(Z)\n"
            "1,1,0,X,DIC,MH,OR,Fixed\n".encode(),
            "a total row without study rows",
        ),
    ],
)
def test_bad_files_are_one_line(tmp_path, capsys, content, expected):
    f = tmp_path / "bad.rm5"
    f.write_bytes(content)
    assert main(["revman", str(f)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and expected in err and "bad.rm5" in err
    with pytest.raises(InputError):
        read_revman(f)


@pytest.mark.skipif(not SHARED.exists(), reason="../shared/revman is not beside this clone")
@pytest.mark.parametrize("name", ["Fleiss1993.rm5", "Fleiss1993_CR.csv"])
def test_real_revman_file(name):
    """RevMan 5.0.23's own results (Fleiss 1993): MH OR to 1e-6 relative (the .rm5 keeps ~16
    digits), the CSV export to its 8 decimals."""
    entries = compare_all(read_revman(SHARED / name))
    assert all(e["match"] for e in entries), [e["mismatches"] for e in entries]
    mh = entries[0]
    assert mh["method"] == "MH" and mh["stored"]["estimate"] is not None
    assert math.isclose(mh["recomputed"]["estimate"], mh["stored"]["estimate"], rel_tol=1e-6)


def test_report_gives_every_analysis_three_ways(files, tmp_path, capsys):
    """--out: one section per analysis with RevMan's result, Cochrane 2025 and the exact
    Bayesian re-analysis (its default prior named), a sensitivity line, a verdict and a
    forest plot; revman.json holds the same numbers; the input is never written."""
    out = tmp_path / "rep"
    src = files / "tests.rm5"
    before = src.read_bytes()
    assert main(["revman", str(src), "--out", str(out)]) == 0
    capsys.readouterr()
    text = (out / "report.md").read_text()
    assert text.count("\n## ") == 8 and text.count("**Verdict:**") == 8
    assert (
        "Cochrane 2025 (REML, HKSJ)" in text
        and "exact Bayes (mu flat, tau halfnormal(0.5))" in text
    )
    assert len(list((out / "figures").glob("forest_*.png"))) == 8
    dump = json.loads((out / "revman.json").read_text())
    bcg = dump["analyses"][0]
    assert bcg["match"] and set(bcg["verdict"]) == {
        "RevMan's analysis",
        "Cochrane 2025",
        "exact Bayes",
    }
    assert bcg["bayes"]["tau_prior"] == "halfnormal(0.5)"  # log-ratio default
    assert "<img" in (out / "report.html").read_text()
    assert src.read_bytes() == before
    assert main(["revman", str(src), "--out", str(files)]) == 2  # the folder holds the input
    assert "never overwritten" in capsys.readouterr().err


def test_unsupported_analyses_are_skipped_and_bad_data_named(tmp_path, capsys):
    """O - E / V data without counts is pooled as Peto's method does; counts that
    contradict each other skip their analysis with the reason naming comparison, outcome and
    study, and the run goes on."""
    head = ('<?xml version="1.0" encoding="ISO-8859-1"?><COCHRANE_REVIEW><ANALYSES_AND_DATA>'
            '<COMPARISON NO="2">')  # fmt: skip
    oe = ('<DICH_OUTCOME NO="1" METHOD="EXP_O_E_VAR" EFFECT_MEASURE="PETO_OR" RANDOM="NO">'
          '<NAME>Survival</NAME><DICH_DATA STUDY_ID="STD-A" O_E="-2.1" VAR="5.3"/>'
          '<DICH_DATA STUDY_ID="STD-B" O_E="-1.0" VAR="4.0"/></DICH_OUTCOME>')  # fmt: skip
    ok = ('<DICH_OUTCOME NO="2" METHOD="MH" EFFECT_MEASURE="OR" RANDOM="NO"><NAME>Death</NAME>'
          '<DICH_DATA STUDY_ID="STD-A" EVENTS_1="4" TOTAL_1="123" EVENTS_2="11" TOTAL_2="139"/>'
          '<DICH_DATA STUDY_ID="STD-B" EVENTS_1="6" TOTAL_1="306" EVENTS_2="29" TOTAL_2="303"/>'
          "</DICH_OUTCOME>")  # fmt: skip
    tail = "</COMPARISON></ANALYSES_AND_DATA></COCHRANE_REVIEW>"
    f = tmp_path / "mixed.rm5"
    f.write_text(head + oe + ok + tail)
    (oe_entry, _) = compare_all(read_revman(f))
    # Peto's O - E and variance: log OR = sum(O - E) / sum V, var = 1 / sum V,
    # Q = sum (O - E)^2 / V - (sum(O - E))^2 / sum V (Yusuf et al. 1985)
    rc = oe_entry["recomputed"]
    assert rc["estimate"] == pytest.approx(math.exp(-3.1 / 9.3), rel=1e-12)
    se = 1 / math.sqrt(9.3)
    assert rc["ci_high"] == pytest.approx(math.exp(-3.1 / 9.3 + 1.959963984540054 * se), rel=1e-12)
    assert rc["q"] == pytest.approx(2.1**2 / 5.3 + 1.0 / 4.0 - 3.1**2 / 9.3, rel=1e-12)
    assert main(["revman", str(f)]) == 0
    out = capsys.readouterr().out
    assert "all 2 analyses match" in out
    f.write_text(head + oe + ok.replace('EVENTS_1="6"', 'EVENTS_1="400"') + ok.replace(
        'NO="2"', 'NO="3"') + tail)  # fmt: skip
    assert main(["revman", str(f), "--json"]) == 0  # the bad analysis is skipped, named
    entries = json.loads(capsys.readouterr().out)["analyses"]
    bad = entries[1]
    assert bad["match"] is None and bad["estimable"] is False
    assert "comparison 2, outcome 2, study 'B'" in bad["skipped"]
    assert "exceeds the group size" in bad["skipped"]
    assert entries[2]["match"] is True  # the rest of the file is recomputed


def test_swapped_events_in_rm5(tmp_path):
    """SWAP_EVENTS="YES": RevMan analyses the non-events (metafor rma.mh(ai = c(119, 300),
    n1i = c(123, 306), ci = c(128, 274), n2i = c(139, 303), measure = "RR"): RR 1.0739670)."""
    f = tmp_path / "swap.rm5"
    f.write_text(
        '<COCHRANE_REVIEW><ANALYSES_AND_DATA><COMPARISON NO="1"><DICH_OUTCOME NO="1" '
        'METHOD="MH" EFFECT_MEASURE="RR" RANDOM="NO" SWAP_EVENTS="YES"><NAME>Alive</NAME>'
        '<DICH_DATA STUDY_ID="STD-A" EVENTS_1="4" TOTAL_1="123" EVENTS_2="11" TOTAL_2="139"/>'
        '<DICH_DATA STUDY_ID="STD-B" EVENTS_1="6" TOTAL_1="306" EVENTS_2="29" TOTAL_2="303"/>'
        "</DICH_OUTCOME></COMPARISON></ANALYSES_AND_DATA></COCHRANE_REVIEW>"
    )
    (e,) = compare_all(read_revman(f))
    assert e["recomputed"]["estimate"] == pytest.approx(1.0739670, rel=1e-7)


def test_mh_random_effects_take_tau2_from_the_mh_based_q():
    """RevMan's random-effects MH analysis (R meta's Q.Cochrane): tau^2 = (Q_MH - df) /
    (sum w - sum w^2 / sum w), with Q_MH and the study variances from metafor's rma.mh
    (fixture), then inverse-variance pooling with w* = 1 / (v + tau^2)."""
    import numpy as np
    import pandas as pd

    from bayesmeta.io.revman import RevManAnalysis, recompute

    rec = FIX["sets"]["bcg"]
    ref = rec["mh_OR"]
    studies = pd.DataFrame({
        "study": [f"T{i}" for i in range(len(rec["ai"]))],
        "events_1": rec["ai"], "total_1": np.add(rec["ai"], rec["bi"]),
        "events_2": rec["ci"], "total_2": np.add(rec["ci"], rec["di"]),
    })  # fmt: skip
    a = RevManAnalysis(1, 1, None, "BCG", "dichotomous", "MH", "OR", "random", studies=studies)
    got = recompute(a)
    y, v = np.asarray(ref["yi"]), np.asarray(ref["vi"])
    w = 1 / v
    tau2 = max(0.0, (ref["QE"] - (len(y) - 1)) / (w.sum() - (w**2).sum() / w.sum()))
    ws = 1 / (v + tau2)
    est = float(ws @ y / ws.sum())
    assert got["tau2"] == pytest.approx(tau2, rel=1e-9)
    assert got["estimate"] == pytest.approx(math.exp(est), rel=1e-9)
    assert got["ci_high"] == pytest.approx(
        math.exp(est + 1.959963984540054 / math.sqrt(ws.sum())), rel=1e-9
    )


# ------------------------------------------------------------------ not estimable
NE_FILE = Path(__file__).resolve().parents[1] / "fixtures" / "not_estimable.rm5"


def test_not_estimable_outcomes_are_reported_and_the_run_goes_on():
    """Outcomes and subgroups RevMan shows as "Not estimable" (no study data; only
    double-zero tables; no events in one group, so the MH risk ratio is undefined) are
    reported with ``estimable: False`` and their reason; the rest is recomputed. The
    estimable subgroup equals metafor `rma.mh(ai = c(4, 6), n1i = c(10, 20), ci = c(3, 5),
    n2i = c(12, 22))` (metafor 3.8.1): OR 1.6358885017 [0.5451957755, 4.9085691973]."""
    entries = compare_all(read_revman(NE_FILE))
    got = {(e["outcome"], e["subgroup"]): e for e in entries}
    assert set(got) == {(1, None), (2, None), (3, None), (4, None), (4, 1), (4, 2), (4, 3)}
    for key, reason in (
        ((1, None), "no study data"),
        ((2, None), "no estimable study"),
        ((3, None), "MH risk ratio undefined"),
        ((4, 2), "no estimable study"),
        ((4, 3), "no study data"),
    ):
        e = got[key]
        assert e["estimable"] is False and reason in e["skipped"] and e["match"] is None
        assert all(v is None for v in e["recomputed"].values())
    for key in ((4, None), (4, 1)):
        e = got[key]
        assert e["estimable"] is True
        rc = e["recomputed"]
        assert rc["estimate"] == pytest.approx(1.6358885017, rel=1e-9)
        assert (rc["ci_low"], rc["ci_high"]) == pytest.approx((0.5451957755, 4.9085691973),
                                                              rel=1e-9)  # fmt: skip
    assert got[(4, None)]["k"] == 3  # RevMan counts the double-zero study


def test_not_estimable_cli_json_and_report(tmp_path, capsys):
    assert main(["revman", str(NE_FILE), "--json"]) == 0
    obj = json.loads(capsys.readouterr().out)
    assert [e["estimable"] for e in obj["analyses"]] == [False, False, False, True, True,
                                                         False, False]  # fmt: skip
    assert main(["revman", str(NE_FILE), "--out", str(tmp_path / "rep")]) == 0
    text = (tmp_path / "rep" / "report.md").read_text()
    assert text.count("Skipped: not estimable") == 5
    assert (tmp_path / "rep" / "figures" / "forest_1_4.png").exists()


def test_nothing_estimable_is_one_line(tmp_path, capsys):
    f = tmp_path / "zero.rm5"
    f.write_text(
        '<COCHRANE_REVIEW><STUDIES><STUDY ID="STD-A" NAME="A"/></STUDIES><ANALYSES_AND_DATA>'
        '<COMPARISON NO="1"><DICH_OUTCOME NO="1" METHOD="MH" EFFECT_MEASURE="OR" RANDOM="NO">'
        '<NAME>X</NAME><DICH_DATA STUDY_ID="STD-A" EVENTS_1="0" TOTAL_1="5" EVENTS_2="0" '
        'TOTAL_2="5"/></DICH_OUTCOME></COMPARISON></ANALYSES_AND_DATA></COCHRANE_REVIEW>'
    )
    assert main(["revman", str(f)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no analysis in the file is estimable" in err


def test_other_outcomes_are_listed_as_skipped(tmp_path):
    f = tmp_path / "other.rm5"
    f.write_text(
        '<COCHRANE_REVIEW><ANALYSES_AND_DATA><COMPARISON NO="1">'
        '<OTHER_OUTCOME NO="1"><NAME>Narrative</NAME></OTHER_OUTCOME>'
        '<CONT_OUTCOME NO="2" METHOD="IV" EFFECT_MEASURE="MD" RANDOM="NO"><NAME>Pain</NAME>'
        '<CONT_DATA STUDY_ID="STD-A" MEAN_1="5" SD_1="2" TOTAL_1="10" MEAN_2="6" SD_2="2" '
        'TOTAL_2="12"/></CONT_OUTCOME></COMPARISON></ANALYSES_AND_DATA></COCHRANE_REVIEW>'
    )
    other, pain = compare_all(read_revman(f))
    assert other["match"] is None and "OTHER_OUTCOME outcomes" in other["skipped"]
    assert pain["recomputed"]["estimate"] == pytest.approx(-1.0, rel=1e-12)


def test_csv_export_outcome_without_studies_is_not_estimable(tmp_path):
    header = (
        "Comparison Number,Outcome Number,Subgroup Number,Name,Data Type,Statistical Method,"
        "Effect Measure,Analysis Model,Events 1,Mean 1,SD 1,Total 1,Events 2,Mean 2,SD 2,"
        "Total 2,Effect Estimate,SE,CI Start,CI End,Weight,Q,P(Q),I²(Q),Tau²,Z,P(Z)\n"
    )
    rows = (
        "1,1,0,Empty,DIC,MH,OR,Fixed" + "," * 19 + "\n"
        "1,2,0,Death,DIC,MH,OR,Fixed" + "," * 19 + "\n"
        "1,2,0,A,,,,,4,,,123,11,,,139" + "," * 11 + "\n"
        "1,2,0,B,,,,,6,,,306,29,,,303" + "," * 11 + "\n"
    )
    f = tmp_path / "export.csv"
    f.write_text(header + rows, encoding="utf-8")
    empty, death = compare_all(read_revman(f))
    assert empty["estimable"] is False and "no study data" in empty["skipped"]
    assert death["estimable"] is True and death["k"] == 2


def test_generic_log_data_outcome_is_a_ratio(tmp_path):
    """An IV outcome with LOG_DATA="YES" and a measure RevMan does not name as a ratio (a rate
    ratio): pooled on the log scale from LOG_EFFECT_SIZE and printed as a ratio; metafor
    rma(yi = log(c(0.8, 0.5)), sei = c(0.2, 0.25), method = "FE"): exp(b) = 0.6659374."""
    f = tmp_path / "rate.rm5"
    rows = "".join(
        f'<IV_DATA STUDY_ID="STD-{n}" EFFECT_SIZE="{r}" LOG_EFFECT_SIZE="{math.log(r)!r}" '
        f'SE="{se}"/>'
        for n, r, se in (("A", 0.8, 0.2), ("B", 0.5, 0.25))
    )
    f.write_text(
        '<COCHRANE_REVIEW><ANALYSES_AND_DATA><COMPARISON NO="1"><IV_OUTCOME NO="1" METHOD="IV" '
        'EFFECT_MEASURE="Rate Ratio" LOG_DATA="YES" RANDOM="NO"><NAME>Falls</NAME>'
        f"{rows}</IV_OUTCOME></COMPARISON></ANALYSES_AND_DATA></COCHRANE_REVIEW>"
    )
    (e,) = compare_all(read_revman(f))
    assert e["recomputed"]["estimate"] == pytest.approx(0.6659374, rel=1e-6)
