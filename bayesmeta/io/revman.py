"""RevMan 5 review files (``.rm5`` XML) and RevMan's CSV export of analyses: read, recompute.

`read_revman(path)` returns every analysis (an outcome, or a subgroup of one) as a
`RevManAnalysis`: its study data (2x2 counts, means and SDs, or generic estimates with SEs),
the method, measure and model RevMan used, and the numbers RevMan stored beside the data.
`recompute(analysis)` redoes the analysis with this package's classical engine:

* dichotomous, ``MH``: `bayesmeta.classical.mantel_haenszel` (RevMan's Greenland-Robins RD
  variance); ``PETO``: `bayesmeta.classical.peto`; ``IV``: inverse variance on the escalc
  study estimates (1/2 added to tables with a zero; double zeros dropped for OR and RR);
* continuous: MD (``vi = sd1^2/n1 + sd2^2/n2``) or SMD (RevMan's Hedges' g:
  ``g = d (1 - 3/(4N - 9))``, ``vi = N/(n1 n2) + g^2/(2 (N - 3.94))``), inverse variance;
* generic inverse variance: the stored estimates and SEs (log scale for ratio measures);
* random effects: DerSimonian-Laird; for MH analyses with RevMan's Q (inverse-variance
  weights around the MH estimate, as R meta's ``Q.Cochrane``), for others the usual DL.

Ratios are reported as RevMan prints them (OR, not log OR), weights in percent. The file
format is described in ``docs/revman.md``.
"""

from __future__ import annotations

import csv
import io
import math
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import special, stats

from bayesmeta.errors import InputError, NotEstimable
from bayesmeta.io.analysis import RATIO_MEASURES, STORED_KEYS, RevManAnalysis, _num

__all__ = [
    "RATIO_MEASURES",
    "STORED_KEYS",
    "RevManAnalysis",
    "compare_all",
    "compare_stored",
    "read_revman",
    "recompute",
]

DATA_TYPES = {"DICH": "dichotomous", "CONT": "continuous", "IV": "generic"}
CSV_TYPES = {"DIC": "dichotomous", "CON": "continuous", "GIV": "generic", "IV": "generic"}


def _unescape(name: str) -> str:
    """RevMan's XML-escaped characters in identifiers: ``_x002d_`` -> ``-``."""
    return re.sub(r"_x([0-9a-fA-F]{4})_", lambda m: chr(int(m.group(1), 16)), name)


# ------------------------------------------------------------------ .rm5 (XML)
def _stored_total(el: ET.Element) -> dict[str, float | None]:
    g = el.get
    return {
        "estimate": _num(g("EFFECT_SIZE")),
        "ci_low": _num(g("CI_START")),
        "ci_high": _num(g("CI_END")),
        "tau2": _num(g("TAU2")),
        "q": _num(g("CHI2")),
        "i2": _num(g("I2")),
        "z": _num(g("Z")),
        "z_p": _num(g("P_Z")),
    }


def _rm5_studies(el: ET.Element, kind: str, names: dict[str, str]) -> pd.DataFrame:
    rows = []
    for d in el.findall(f"{kind}_DATA"):
        sid = d.get("STUDY_ID", "")
        row: dict[str, Any] = {"study": names.get(sid, _unescape(sid.removeprefix("STD-")))}
        if kind == "DICH":
            for a, b in (
                ("events_1", "EVENTS_1"),
                ("total_1", "TOTAL_1"),
                ("events_2", "EVENTS_2"),
                ("total_2", "TOTAL_2"),
                ("o_e", "O_E"),
                ("var", "VAR"),
            ):
                row[a] = _num(d.get(b))
        elif kind == "CONT":
            for a, b in (
                ("mean_1", "MEAN_1"),
                ("sd_1", "SD_1"),
                ("total_1", "TOTAL_1"),
                ("mean_2", "MEAN_2"),
                ("sd_2", "SD_2"),
                ("total_2", "TOTAL_2"),
            ):
                row[a] = _num(d.get(b))
        else:
            row["estimate"], row["se"] = _num(d.get("EFFECT_SIZE")), _num(d.get("SE"))
            row["log_estimate"] = _num(d.get("LOG_EFFECT_SIZE"))
        row.update(
            stored_estimate=_num(d.get("EFFECT_SIZE")),
            stored_se=_num(d.get("SE")),
            stored_ci_low=_num(d.get("CI_START")),
            stored_ci_high=_num(d.get("CI_END")),
            stored_weight=_num(d.get("WEIGHT")),
        )
        rows.append(row)
    return (
        pd.DataFrame(rows).astype({k: float for k in rows[0] if k != "study"})
        if rows
        else pd.DataFrame()
    )


def _swapped(st: pd.DataFrame, swap: bool) -> pd.DataFrame:
    """RevMan's "swap events and non-events" (``SWAP_EVENTS="YES"``): the non-events are
    analysed, so events become total - events in both groups."""
    if not swap or st.empty or "events_1" not in st.columns:
        return st
    return st.assign(events_1=st["total_1"] - st["events_1"],
                     events_2=st["total_2"] - st["events_2"])  # fmt: skip


def _model(el: ET.Element) -> str:
    return "random" if el.get("RANDOM", "NO").upper() == "YES" else "fixed"


def _favours(el: ET.Element) -> tuple[str, str] | None:
    """The outcome's GRAPH_LABEL_1 / GRAPH_LABEL_2 (RevMan's "Favours ..." labels)."""
    left, right = (el.findtext(f"GRAPH_LABEL_{i}") or "" for i in (1, 2))
    return (left.strip(), right.strip()) if left.strip() or right.strip() else None


def read_rm5(path: str | Path) -> list[RevManAnalysis]:
    """Every DICH/CONT/IV outcome (with its subgroups) of a RevMan 5 ``.rm5`` file.

    Examples:
        >>> from pathlib import Path
        >>> from bayesmeta.io.revman import read_rm5
        >>> _ = Path("t.rm5").write_text(
        ...     '<COCHRANE_REVIEW><STUDIES><STUDY ID="STD-A_x002d_1" NAME="A-1"/></STUDIES>'
        ...     '<ANALYSES_AND_DATA><COMPARISON NO="1"><CONT_OUTCOME NO="2" METHOD="IV" '
        ...     'EFFECT_MEASURE="MD" RANDOM="NO" EFFECT_SIZE=""><NAME>Pain</NAME>'
        ...     '<CONT_DATA STUDY_ID="STD-A_x002d_1" MEAN_1="5" SD_1="2" TOTAL_1="10" '
        ...     'MEAN_2="6" SD_2="2" TOTAL_2="12"/></CONT_OUTCOME></COMPARISON>'
        ...     '</ANALYSES_AND_DATA></COCHRANE_REVIEW>')
        >>> a = read_rm5("t.rm5")[0]
        >>> a.label, a.method, a.studies["study"].tolist(), a.stored["estimate"]
        ('1.2 Pain', 'IV', ['A-1'], None)
    """
    p = Path(path)
    try:
        root = ET.parse(p).getroot()
    except ET.ParseError as exc:
        raise InputError(f"not an XML file ({exc})", file=str(p)) from None
    if root.tag != "COCHRANE_REVIEW":
        raise InputError(f"XML but not a RevMan review (root <{root.tag}>)", file=str(p))
    names = {s.get("ID", ""): s.get("NAME", "") for s in root.iter("STUDY")}
    data = root.find("ANALYSES_AND_DATA")
    if data is None:
        raise InputError("the review holds no ANALYSES_AND_DATA section", file=str(p))
    out = []
    for comp in data.findall("COMPARISON"):
        cno = int(_num(comp.get("NO")) or 0)
        for oc in comp:  # in the file's order
            kind = oc.tag.removesuffix("_OUTCOME")
            if not oc.tag.endswith("_OUTCOME"):
                continue
            if kind not in DATA_TYPES:  # IPD, "other data": listed as skipped, with why
                out.append(RevManAnalysis(
                    cno, int(_num(oc.get("NO")) or 0), None, (oc.findtext("NAME") or "").strip(),
                    kind.lower(), (oc.get("METHOD") or "").upper(), "", _model(oc),
                    source=str(p),
                    settings={"unsupported": f"{oc.tag} outcomes (no pooled study data) are "
                              "not analysed"},
                ))  # fmt: skip
                continue
            ono = int(_num(oc.get("NO")) or 0)
            method = (oc.get("METHOD") or "IV").upper()
            measure = (oc.get("EFFECT_MEASURE") or "").upper()
            a = RevManAnalysis(
                cno,
                ono,
                None,
                (oc.findtext("NAME") or "").strip(),
                DATA_TYPES[kind],
                "PETO" if method in ("PETO", "EXP_O_E_VAR") else method,
                "OR" if measure == "PETO_OR" else measure,
                _model(oc),
                stored=_stored_total(oc),
                source=str(p),
                method_code=method,
                favours=_favours(oc),
                settings={"log_data": True} if (oc.get("LOG_DATA") or "").upper() == "YES"
                else {},
            )  # fmt: skip
            swap = (oc.get("SWAP_EVENTS") or "").upper() == "YES"
            subs = oc.findall(f"{kind}_SUBGROUP")
            frames = []
            for sg in subs:
                sno = int(_num(sg.get("NO")) or 0)
                st = _swapped(_rm5_studies(sg, kind, names), swap)
                s = RevManAnalysis(
                    cno,
                    ono,
                    sno,
                    (sg.findtext("NAME") or "").strip(),
                    a.data_type,
                    a.method,
                    a.measure,
                    a.model,
                    studies=st,
                    stored=_stored_total(sg),
                    source=str(p),
                    method_code=method,
                    favours=a.favours,
                    settings=dict(a.settings),
                )
                a.subgroups.append(s)
                frames.append(st.assign(subgroup=s.name))
            a.studies = (
                pd.concat(frames, ignore_index=True)
                if frames
                else _swapped(_rm5_studies(oc, kind, names), swap)
            )
            out.append(a)  # one with no study data is reported "not estimable", not fatal
    if not any(not a.studies.empty for a in out):
        raise InputError("the review holds no analyses with study data", file=str(p))
    return out


# ------------------------------------------------------------------ CSV export
CSV_COLUMNS = (
    "Comparison Number",
    "Outcome Number",
    "Subgroup Number",
    "Name",
    "Data Type",
    "Statistical Method",
    "Effect Measure",
    "Analysis Model",
    "Events 1",
    "Mean 1",
    "SD 1",
    "Total 1",
    "Events 2",
    "Mean 2",
    "SD 2",
    "Total 2",
    "Effect Estimate",
    "SE",
    "CI Start",
    "CI End",
    "Weight",
    "Q",
    "P(Q)",
    "I²(Q)",
    "Tau²",
    "Z",
    "P(Z)",
)


#: RevMan's CSV export prints 8 decimals: half a unit in the last place (plus float slack)
CSV_ROUNDING = 5.0e-9 * 1.001


def read_revman_csv(path: str | Path) -> list[RevManAnalysis]:
    """Every analysis of RevMan's CSV export (UTF-8, BOM optional): a row with a Data Type is
    a total (outcome or subgroup); the study rows that follow belong to it.

    Examples:
        >>> from pathlib import Path
        >>> from bayesmeta.io.revman import CSV_COLUMNS, read_revman_csv
        >>> rows = [",".join(CSV_COLUMNS), "1,1,0,Pain,CON,IV,MD,Random" + "," * 19,
        ...         "1,1,0,A,,,,,,5,2,10,,6,2,12" + "," * 11]
        >>> _ = Path("e.csv").write_text("\\n".join(rows) + "\\n", encoding="utf-8-sig")
        >>> a = read_revman_csv("e.csv")[0]
        >>> a.model, a.data_type, a.studies[["mean_1", "total_2"]].values.tolist()
        ('random', 'continuous', [[5.0, 12.0]])
    """
    p = Path(path)
    try:
        text = p.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InputError("not UTF-8 text (RevMan's CSV export is UTF-8)", file=str(p)) from None
    rows = list(csv.reader(io.StringIO(text)))
    if not rows:
        raise InputError("empty file", file=str(p))
    header = [h.strip() for h in rows[0]]
    missing = [c for c in CSV_COLUMNS if c not in header]
    if missing:
        raise InputError(
            f"not a RevMan CSV export: missing column(s) {', '.join(missing)}", file=str(p)
        )
    ix = {h: i for i, h in enumerate(header)}

    def get(r: list[str], col: str) -> str:
        i = ix[col]
        return r[i].strip() if i < len(r) else ""

    out: list[RevManAnalysis] = []
    by_outcome: dict[tuple[int, int], RevManAnalysis] = {}
    current: RevManAnalysis | None = None
    study_rows: dict[int, list[dict[str, Any]]] = {}
    for n, r in enumerate(rows[1:], start=1):
        if not any(x.strip() for x in r):
            continue
        cno, ono = (
            int(_num(get(r, "Comparison Number")) or 0),
            int(_num(get(r, "Outcome Number")) or 0),
        )
        sno = int(_num(get(r, "Subgroup Number")) or 0)
        dtype = get(r, "Data Type").upper()
        if ono == 0:
            current = None
            continue  # a comparison's heading
        if dtype:
            if dtype not in CSV_TYPES:
                raise InputError(
                    f"unknown Data Type {dtype!r}", file=str(p), row=n, column="Data Type"
                )
            method = get(r, "Statistical Method").upper()
            model = "random" if get(r, "Analysis Model").lower().startswith("random") else "fixed"
            measure = get(r, "Effect Measure").upper().replace("PETO OR", "OR")
            stored = {
                "estimate": _num(get(r, "Effect Estimate")),
                "ci_low": _num(get(r, "CI Start")),
                "ci_high": _num(get(r, "CI End")),
                "tau2": _num(get(r, "Tau²")),
                "q": _num(get(r, "Q")),
                "i2": _num(get(r, "I²(Q)")),
                "z": _num(get(r, "Z")),
                "z_p": _num(get(r, "P(Z)")),
            }
            a = RevManAnalysis(
                cno,
                ono,
                sno or None,
                get(r, "Name"),
                CSV_TYPES[dtype],
                "PETO" if method in ("PETO", "EXP_O_E_VAR") else method,
                measure,
                model,
                stored=stored,
                rounding=CSV_ROUNDING,
                source=str(p),
                method_code=method,
            )
            if sno and (cno, ono) in by_outcome:
                by_outcome[(cno, ono)].subgroups.append(a)
            else:
                by_outcome[(cno, ono)] = a
                out.append(a)
            current = a
            study_rows[id(a)] = []
            continue
        if current is None:
            raise InputError("a study row with no total row before it", file=str(p), row=n)
        row: dict[str, Any] = {"study": get(r, "Name")}
        if current.data_type == "dichotomous":
            for a_, c in (
                ("events_1", "Events 1"),
                ("total_1", "Total 1"),
                ("events_2", "Events 2"),
                ("total_2", "Total 2"),
            ):
                row[a_] = _num(get(r, c))
        elif current.data_type == "continuous":
            for a_, c in (
                ("mean_1", "Mean 1"),
                ("sd_1", "SD 1"),
                ("total_1", "Total 1"),
                ("mean_2", "Mean 2"),
                ("sd_2", "SD 2"),
                ("total_2", "Total 2"),
            ):
                row[a_] = _num(get(r, c))
        else:
            row["estimate"], row["se"] = _num(get(r, "Effect Estimate")), _num(get(r, "SE"))
            row["log_estimate"] = None
        row.update(
            stored_estimate=_num(get(r, "Effect Estimate")),
            stored_se=_num(get(r, "SE")),
            stored_ci_low=_num(get(r, "CI Start")),
            stored_ci_high=_num(get(r, "CI End")),
            stored_weight=_num(get(r, "Weight")),
        )
        row["_line"] = n
        study_rows[id(current)].append(row)
    analyses: list[RevManAnalysis] = []
    for a in out:
        parts = a.subgroups or [a]
        frames = []
        for s in parts:
            rows_s = study_rows.get(id(s), [])
            if not rows_s:  # not estimable: reported by compare_all, the file goes on
                s.studies = pd.DataFrame()
                continue
            df = pd.DataFrame(rows_s).drop(columns="_line")
            s.studies = df
            frames.append(df.assign(subgroup=s.name) if a.subgroups else df)
        a.studies = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
        analyses.append(a)
    if not any(not a.studies.empty for a in analyses):
        raise InputError("no analyses with study rows (a total row without study rows)",
                         file=str(p))  # fmt: skip
    return analyses


def read_revman(path: str | Path) -> list[RevManAnalysis]:
    """The analyses of a RevMan 5 ``.rm5`` file, of RevMan's CSV export, or of a Cochrane data
    package (a ZIP or its folder; `bayesmeta.io.datapackage`), told apart by content.

    Examples:
        >>> from pathlib import Path
        >>> from bayesmeta.io import read_revman
        >>> _ = Path("r.csv").write_text(
        ...     "Comparison Number,Outcome Number,Subgroup Number,Name,Data Type,"
        ...     "Statistical Method,Effect Measure,Analysis Model,Events 1,Mean 1,SD 1,Total 1,"
        ...     "Events 2,Mean 2,SD 2,Total 2,Effect Estimate,SE,CI Start,CI End,Weight,Q,P(Q),"
        ...     "I²(Q),Tau²,Z,P(Z)\\n1,1,0,Death,DIC,MH,OR,Fixed,,,,,,,,,,,,,,,,,,,\\n"
        ...     "1,1,0,A,,,,,4,,,123,11,,,139,,,,,,,,,,,\\n"
        ...     "1,1,0,B,,,,,6,,,306,29,,,303,,,,,,,,,,,\\n",
        ...     encoding="utf-8")
        >>> [a.label for a in read_revman("r.csv")], read_revman("r.csv")[0].studies.shape
        (['1.1 Death'], (2, 10))
    """
    p = Path(path)
    if not p.exists():
        raise InputError("file not found", file=str(p))
    raw = b"" if p.is_dir() else p.read_bytes()[:4]
    if p.is_dir() or raw.startswith(b"PK"):
        from bayesmeta.io.datapackage import read_datapackage

        return read_datapackage(p)
    head = p.read_bytes()[:200].lstrip(b"\xef\xbb\xbf").lstrip()
    if head.startswith(b"<"):
        return read_rm5(p)
    return read_revman_csv(p)


# ------------------------------------------------------------------ recompute
def _revman_smd(s: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    n1, n2 = s["total_1"].to_numpy(float), s["total_2"].to_numpy(float)
    sd = np.sqrt(((n1 - 1) * s["sd_1"] ** 2 + (n2 - 1) * s["sd_2"] ** 2) / (n1 + n2 - 2))
    n = n1 + n2
    g = (s["mean_1"] - s["mean_2"]).to_numpy(float) / sd.to_numpy(float) * (1 - 3 / (4 * n - 9))
    return g, n / (n1 * n2) + g**2 / (2 * (n - 3.94))


def study_estimates(a: RevManAnalysis) -> tuple[np.ndarray, np.ndarray]:
    """yi (log scale for ratios), vi of every study, as RevMan's inverse-variance methods
    (NaN where a study is not estimable).

    Examples:
        >>> import pandas as pd
        >>> from bayesmeta.io.revman import RevManAnalysis, study_estimates
        >>> s = pd.DataFrame({"study": ["A"], "mean_1": [5.0], "sd_1": [2.0], "total_1": [10.0],
        ...                   "mean_2": [6.0], "sd_2": [2.0], "total_2": [12.0]})
        >>> yi, vi = study_estimates(RevManAnalysis(1, 1, None, "Pain", "continuous", "IV",
        ...                                         "MD", "fixed", studies=s))
        >>> yi.tolist(), vi.round(4).tolist()
        ([-1.0], [0.7333])
    """
    s = a.studies
    if a.data_type == "continuous":
        if a.measure == "SMD":
            return _revman_smd(s)
        n1, n2 = s["total_1"].to_numpy(float), s["total_2"].to_numpy(float)
        yi = (s["mean_1"] - s["mean_2"]).to_numpy(float)
        return yi, (s["sd_1"] ** 2 / n1 + s["sd_2"] ** 2 / n2).to_numpy(float)
    if a.data_type == "generic":
        est = s["estimate"].to_numpy(float)
        se = s["se"].to_numpy(float)
        if a.ratio and a.settings.get("log_scale"):
            return est, se**2  # a data package's GIV Mean / SE are on the log scale
        if a.ratio:
            logged = s.get("log_estimate")
            if logged is not None and np.all(np.isfinite(logged.to_numpy(float))):
                est = logged.to_numpy(float)
            elif _entered_as_ratio(s, est, se):
                est = np.log(est)
        return est, se**2
    if oe_data(a):  # Peto's O - E and variance: yi = (O - E)/V, vi = 1/V
        with np.errstate(divide="ignore", invalid="ignore"):
            v = s["var"].to_numpy(float)
            return s["o_e"].to_numpy(float) / v, 1.0 / v
    from bayesmeta.classical.mantel_haenszel import study_level

    a1, n1 = s["events_1"].to_numpy(float), s["total_1"].to_numpy(float)
    c1, n2 = s["events_2"].to_numpy(float), s["total_2"].to_numpy(float)
    for ev, tot, col in ((a1, n1, "events_1"), (c1, n2, "events_2")):
        bad = np.flatnonzero((ev > tot) | (ev < 0))
        if bad.size:
            i = int(bad[0])
            raise InputError(
                f"{ev[i]:g} events: outside 0 to the group size {tot[i]:g} (it exceeds the "
                "group size or is negative)",
                row=i + 1,
                column=col,
            )
    with np.errstate(divide="ignore", invalid="ignore"):
        return study_level(a.measure, a1, n1 - a1, c1, n2 - c1, keep00=a.measure == "RD")


def oe_data(a: RevManAnalysis) -> bool:
    """True when the analysis holds O - E and variance per study (RevMan's ``EXP_O_E_VAR``
    method, a data package's ``O-E and variance`` data) rather than 2x2 counts.

    Examples:
        >>> import pandas as pd
        >>> from bayesmeta.io.revman import RevManAnalysis, oe_data
        >>> s = pd.DataFrame({"study": ["A"], "o_e": [-2.1], "var": [5.3]})
        >>> oe_data(RevManAnalysis(1, 1, None, "Survival", "dichotomous", "PETO", "OR", "fixed",
        ...                        studies=s, method_code="EXP_O_E_VAR"))
        True
    """
    s = a.studies
    if not {"o_e", "var"} <= set(s.columns) or s[["o_e", "var"]].isna().all().all():
        return False
    counts = {"events_1", "total_1"} <= set(s.columns) and not s[["events_1", "total_1"]].isna(
    ).all().all()  # fmt: skip
    return a.method_code.upper() == "EXP_O_E_VAR" or not counts


def _entered_as_ratio(s: pd.DataFrame, est: np.ndarray, se: np.ndarray) -> bool:
    """Is a generic ratio's stored estimate a ratio (its CI = exp(log est +- z se))?"""
    lo = s["stored_ci_low"].to_numpy(float)
    ok = np.isfinite(lo) & (est > 0)
    if not ok.any():
        return False
    return bool(np.allclose(np.log(est[ok]) - 1.959964 * se[ok], np.log(lo[ok]), atol=1e-3))


def recompute(a: RevManAnalysis) -> dict[str, Any]:
    """The analysis redone (module docstring): ``{"estimate", "ci_low", "ci_high", "tau2",
    "q", "i2", "z", "z_p", "k", "studies": [...]}`` on RevMan's printed scale.

    Same as metafor `rma.peto(ai = c(4, 6), n1i = c(123, 306), ci = c(11, 29), n2i = c(139,
    303))`: OR 0.2894 (exp of log OR -1.2401):

    Examples:
        >>> import pandas as pd
        >>> from bayesmeta.io.revman import RevManAnalysis, recompute
        >>> studies = pd.DataFrame({"study": ["A", "B"], "events_1": [4.0, 6.0],
        ...     "total_1": [123.0, 306.0], "events_2": [11.0, 29.0], "total_2": [139.0, 303.0]})
        >>> r = recompute(RevManAnalysis(1, 1, None, "Death", "dichotomous", "PETO", "OR",
        ...                              "fixed", studies=studies))
        >>> round(r["estimate"], 4), r["k"], [round(s["weight"], 1) for s in r["studies"]]
        (0.2894, 2, [30.0, 70.0])
    """
    from bayesmeta.classical.mantel_haenszel import mantel_haenszel, peto

    s = a.studies
    yi, vi = study_estimates(a)
    ok = np.isfinite(yi) & np.isfinite(vi) & (vi > 0)
    if not ok.any():
        raise InputError(f"comparison {a.comparison}, outcome {a.outcome}: no estimable study")
    level = float(a.settings.get("level", 0.95))
    z975 = float(-special.ndtri((1 - a.settings.get("study_level", level)) / 2))
    crit = float(-special.ndtri((1 - level) / 2))
    tau2 = 0.0
    df_t: float | None = None  # the t distribution's df under HKSJ
    pi: tuple[float, float] | None = None
    if a.data_type == "dichotomous" and a.method in ("MH", "PETO") and not oe_data(a):
        cells = (
            s["events_1"].to_numpy(float),
            (s["total_1"] - s["events_1"]).to_numpy(float),
            s["events_2"].to_numpy(float),
            (s["total_2"] - s["events_2"]).to_numpy(float),
        )
        fit = (
            peto(*cells)
            if a.method == "PETO"
            else mantel_haenszel(
                *cells, a.measure, rd_variance="greenland-robins", convention="revman"
            )
        )
        est, se, q, df = fit.estimate, fit.se, float(fit.q or 0.0), int(fit.q_df or 0)
        weight = fit.studies["weight"].to_numpy(float) if fit.studies is not None else None
        if a.model == "random" and a.method == "MH":
            w = 1 / vi[ok]
            tau2 = max(0.0, (q - df) / (w.sum() - (w**2).sum() / w.sum())) if df > 0 else 0.0
    else:
        w = 1 / vi[ok]
        est = float(w @ yi[ok] / w.sum())
        q = float(np.sum(w * (yi[ok] - est) ** 2))
        df = int(ok.sum()) - 1
        se = math.sqrt(1 / w.sum())
        weight = None
        if a.model == "random":
            tau2 = max(0.0, (q - df) / (w.sum() - (w**2).sum() / w.sum())) if df > 0 else 0.0
    estimator = a.settings.get("estimator", "DL")
    hksj = a.settings.get("ci_method") == "hksj"
    if a.model == "random" and (estimator != "DL" or hksj or a.settings.get("prediction")):
        from bayesmeta.classical.pooling import prediction_interval, rma

        if not (a.method == "MH" and estimator == "DL"):  # MH keeps RevMan's DL of MH's Q
            tau2 = rma(yi[ok], vi[ok], method=estimator).tau2 if ok.sum() > 1 else 0.0
        re_fit = rma(yi[ok], vi[ok], method="DL", test="knha" if hksj else "z", level=level,
                     tau2=tau2)  # fmt: skip
        est, se, crit = float(re_fit.beta[0]), float(re_fit.se[0]), float(re_fit.crit)
        df_t = float(re_fit.ddf) if hksj and re_fit.ddf is not None else None
        pi = prediction_interval(re_fit) if a.settings.get("prediction") else None
        wfull = np.where(ok, 1 / (vi + tau2), 0.0)
        weight = 100 * wfull / wfull.sum()
    elif a.model == "random":
        ws = 1 / (vi[ok] + tau2)
        est = float(ws @ yi[ok] / ws.sum())
        se = math.sqrt(1 / ws.sum())
        wfull = np.where(ok, 1 / (vi + tau2), 0.0)
        weight = 100 * wfull / wfull.sum()
    elif weight is None:
        wfull = np.where(ok, 1 / np.where(ok, vi, 1.0), 0.0)
        weight = 100 * wfull / wfull.sum()
    i2 = max(0.0, 100 * (q - df) / q) if q > 0 and df > 0 else 0.0
    if a.settings.get("layout") and df == 0 and len(s) > 1:
        i2 = 100.0  # RevMan Web: one estimable study among several stores I² = 100 (0/0)
    zval = abs(est) / se if se > 0 else math.nan
    if df_t is not None and math.isfinite(zval):
        p_val: float | None = float(2 * stats.t.sf(zval, df_t))
    else:
        p_val = float(2 * special.ndtr(-zval)) if math.isfinite(zval) else None
    back = math.exp if a.ratio else (lambda x: x)
    with np.errstate(invalid="ignore", over="ignore"):
        sy, sse = yi, np.sqrt(vi)
        st_est = np.exp(sy) if a.ratio else sy
        st_lo = np.exp(sy - z975 * sse) if a.ratio else sy - z975 * sse
        st_hi = np.exp(sy + z975 * sse) if a.ratio else sy + z975 * sse
    studies = [
        {"study": str(n), "estimate": _f(e), "ci_low": _f(lo), "ci_high": _f(hi), "weight": _f(wt)}
        for n, e, lo, hi, wt in zip(s["study"], st_est, st_lo, st_hi, weight, strict=True)
    ]
    return {
        "estimate": back(est),
        "ci_low": back(est - crit * se),
        "ci_high": back(est + crit * se),
        "tau2": tau2,
        "q": q,
        "i2": i2,
        "z": zval,
        "z_p": p_val,
        "pi_low": None if pi is None else back(pi[0]),
        "pi_high": None if pi is None else back(pi[1]),
        "t_df": df_t,
        "log_estimate": est,  # the analysis scale (log for ratios), for the subgroup test
        "se": se,
        "k": int(len(s)),
        "studies": studies,
    }


def _f(x: Any) -> float | None:
    x = float(x)
    return x if math.isfinite(x) else None


def compare_stored(a: RevManAnalysis, rtol: float = 1e-6) -> dict[str, Any]:
    """`recompute` beside RevMan's stored numbers: the ``bayesmeta revman --json`` entry of one
    analysis, with ``match`` True when every stored number agrees to ``rtol`` relative, or
    to the rounding of the file (``RevManAnalysis.rounding``; absolute 1e-9 near 0).

    Examples:
        >>> import pandas as pd
        >>> from bayesmeta.io.revman import RevManAnalysis, compare_stored
        >>> studies = pd.DataFrame({"study": ["A", "B"], "estimate": [0.2, 0.4],
        ...                         "se": [0.1, 0.2]})
        >>> a = RevManAnalysis(1, 1, None, "Score", "generic", "IV", "MD", "fixed",
        ...                    studies=studies, stored={"estimate": 0.24, "q": 0.8})
        >>> e = compare_stored(a)
        >>> e["match"], e["recomputed"]["estimate"], round(e["recomputed"]["q"], 3)
        (True, 0.24, 0.8)
    """
    rec = recompute(a)
    tol = max(1e-9, a.rounding)
    mismatches = []
    keys = (*STORED_KEYS, "pi_low", "pi_high") if a.settings.get("prediction") else STORED_KEYS
    for key in keys:
        got, want = rec.get(key), a.stored.get(key)
        if want is None or got is None:
            continue
        if not math.isclose(got, want, rel_tol=rtol, abs_tol=max(tol, a.tolerances.get(key, 0))):
            mismatches.append(key)
    for row, (_, srow) in zip(rec["studies"], a.studies.iterrows(), strict=True):
        for key, col in (
            ("estimate", "stored_estimate"),
            ("ci_low", "stored_ci_low"),
            ("ci_high", "stored_ci_high"),
            ("weight", "stored_weight"),
        ):
            want = _num(srow.get(col))
            got = row[key]
            if want is None or got is None or (key != "weight" and a.data_type == "generic"
                                               and not a.settings.get("log_scale")):  # fmt: skip
                continue
            printed = _num(srow.get(f"tol_{key}")) or 0.0
            if not math.isclose(got, want, rel_tol=rtol, abs_tol=max(tol, printed)):
                mismatches.append(f"{row['study']}:{key}")
    return {
        "comparison": a.comparison,
        "outcome": a.outcome,
        "subgroup": a.subgroup,
        "name": a.name,
        "data_type": a.data_type,
        "method": "Peto" if a.method == "PETO" else a.method,
        "measure": a.measure,
        "model": a.model,
        "k": rec["k"],
        "stored": {k: a.stored.get(k) for k in STORED_KEYS},
        "recomputed": {k: rec[k] for k in STORED_KEYS},
        "_fit": (rec["log_estimate"], rec["se"]),
        "studies": rec["studies"],
        "match": not mismatches,
        "mismatches": mismatches,
        **_package_parts(a, rec),
    }


def _package_parts(a: RevManAnalysis, rec: dict[str, Any]) -> dict[str, Any]:
    """A data package's ``settings`` and, where it has them, its ``prediction`` intervals."""
    if not a.settings.get("layout"):  # a data package
        return {}
    keep = ("layout", "estimator", "ci_method", "prediction", "level", "log_scale")
    out: dict[str, Any] = {"settings": {k: a.settings.get(k) for k in keep}}
    if a.settings.get("prediction") or a.stored.get("pi_low") is not None:
        out["prediction"] = {
            "stored": {"pi_low": a.stored.get("pi_low"), "pi_high": a.stored.get("pi_high")},
            "recomputed": {"pi_low": rec.get("pi_low"), "pi_high": rec.get("pi_high")},
        }
    return out


def unsupported(a: RevManAnalysis) -> str | None:
    """Why this package cannot recompute ``a`` (None if it can): dichotomous data with
    neither counts nor O - E and variance, generic data without estimates, or what a data
    package's reader found unsupported (``settings["unsupported"]``).

    Examples:
        >>> import pandas as pd
        >>> from bayesmeta.io.revman import RevManAnalysis, unsupported
        >>> oe = pd.DataFrame({"study": ["A"], "events_1": [float("nan")],
        ...                    "total_1": [float("nan")]})
        >>> unsupported(RevManAnalysis(1, 1, None, "Survival", "dichotomous", "PETO", "OR",
        ...                            "fixed", studies=oe, method_code="EXP_O_E_VAR"))
        'dichotomous data with neither 2x2 counts nor O - E and variance'
    """
    s = a.studies
    if a.settings.get("unsupported"):
        return str(a.settings["unsupported"])
    if (
        a.data_type == "dichotomous"
        and not oe_data(a)
        and (
            {"events_1", "total_1"} - set(s.columns)
            or s[["events_1", "total_1"]].isna().all().all()
        )
    ):
        return "dichotomous data with neither 2x2 counts nor O - E and variance"
    if a.data_type == "generic" and s[["estimate", "se"]].isna().all().all():
        return "generic inverse-variance data without estimates and SEs"
    return None


def _located(a: RevManAnalysis, err: InputError) -> InputError:
    where = f"comparison {a.comparison}, outcome {a.outcome}"
    if a.subgroup:
        where += f", subgroup {a.subgroup}"
    row = f", study '{a.studies['study'].iloc[err.row - 1]}'" if err.row else ""
    return InputError(f"{where}{row}: {err.message}", file=a.source or None)


def not_estimable(a: RevManAnalysis) -> str | None:
    """Why RevMan shows ``a`` as "Not estimable" (None if it is estimable): no study data, or
    no study with an estimate (double-zero 2x2 tables for OR/RR, missing or zero SDs or
    totals, missing generic estimates).

    Examples:
        >>> import pandas as pd
        >>> from bayesmeta.io.revman import RevManAnalysis, not_estimable
        >>> zero = pd.DataFrame({"study": ["A", "B"], "events_1": [0.0, 0.0],
        ...     "total_1": [10.0, 12.0], "events_2": [0.0, 0.0], "total_2": [11.0, 9.0]})
        >>> not_estimable(RevManAnalysis(1, 1, None, "Death", "dichotomous", "MH", "RR",
        ...                              "fixed", studies=zero))
        'no estimable study (no events in either group, or missing data)'
        >>> not_estimable(RevManAnalysis(1, 2, None, "Pain", "continuous", "IV", "MD", "fixed"))
        'no study data'
    """
    if a.studies.empty:
        return "no study data"
    with np.errstate(all="ignore"):
        yi, vi = study_estimates(a)
    if not np.any(np.isfinite(yi) & np.isfinite(vi) & (vi > 0)):
        return "no estimable study (no events in either group, or missing data)"
    return None


def _skipped(a: RevManAnalysis, why: str, estimable: bool) -> dict[str, Any]:
    return {"comparison": a.comparison, "outcome": a.outcome, "subgroup": a.subgroup,
            "name": a.name, "data_type": a.data_type, "method": a.method,
            "measure": a.measure, "model": a.model, "k": int(len(a.studies)),
            "estimable": estimable, "skipped": why, "match": None, "mismatches": [],
            "studies": [], "stored": {k: a.stored.get(k) for k in STORED_KEYS},
            "recomputed": {k: None for k in STORED_KEYS}}  # fmt: skip


def _entry(a: RevManAnalysis, rtol: float) -> dict[str, Any]:
    if a.settings.get("unsupported"):
        return _skipped(a, str(a.settings["unsupported"]), True)
    if a.studies.empty:
        return _skipped(a, "not estimable: no study data", False)
    why = unsupported(a)
    if why:
        return _skipped(a, why, True)
    try:
        why = not_estimable(a)
        if why:
            return _skipped(a, f"not estimable: {why}", False)
        entry = compare_stored(a, rtol)
    except NotEstimable as err:
        return _skipped(a, f"not estimable: {err.message}", False)
    except InputError as err:  # bad data in one analysis: reported, and the file goes on
        located = _located(a, err)
        return _skipped(a, f"bad data: {located.message}", False)
    rec = entry["recomputed"]
    est = rec["estimate"]
    if est is None or not math.isfinite(est) or (a.ratio and est <= 0):
        return _skipped(a, "not estimable: the pooled estimate is not finite (no events in "
                        "one group across the studies)", False)  # fmt: skip
    for key, value in rec.items():  # e.g. z of a zero SE: not a number, so null in JSON
        if isinstance(value, float) and not math.isfinite(value):
            rec[key] = None
    entry["estimable"] = True
    return entry


def compare_all(analyses: list[RevManAnalysis], rtol: float = 1e-6) -> list[dict[str, Any]]:
    """`compare_stored` for every analysis and each of its subgroups. A subgroup's study
    weights are percentages of its outcome's total, as RevMan prints them.

    Same as metafor `rma.mh(ai = c(4, 6), n1i = c(123, 306), ci = c(11, 29), n2i = c(139,
    303))`: OR 0.241351 (stored here as RevMan would store it):

    Examples:
        >>> import pandas as pd
        >>> from bayesmeta.io import RevManAnalysis, compare_all
        >>> studies = pd.DataFrame({"study": ["A", "B"], "events_1": [4.0, 6.0],
        ...     "total_1": [123.0, 306.0], "events_2": [11.0, 29.0], "total_2": [139.0, 303.0]})
        >>> a = RevManAnalysis(1, 1, None, "Death", "dichotomous", "MH", "OR", "fixed",
        ...                    studies=studies, stored={"estimate": 0.241351})
        >>> e = compare_all([a], rtol=1e-4)[0]
        >>> round(e["recomputed"]["estimate"], 4), e["match"]
        (0.2414, True)
    """
    out = []
    for a in analyses:
        top = _entry(a, rtol)
        out.append(top)
        if top["match"] is None:  # skipped, with its reason
            continue
        start = 0
        done: list[dict[str, Any]] = []
        for s in a.subgroups:
            entry = _entry(s, rtol)
            n = len(s.studies)
            if entry["match"] is None:  # a subgroup RevMan shows as not estimable
                start += n
                out.append(entry)
                continue
            for row, parent in zip(
                entry["studies"], top["studies"][start : start + n], strict=True
            ):
                row["weight"] = parent["weight"]
            entry["mismatches"] = [m for m in entry["mismatches"] if not m.endswith(":weight")]
            for row, (_, srow) in zip(entry["studies"], s.studies.iterrows(), strict=True):
                want = _num(srow.get("stored_weight"))
                if (
                    want is not None
                    and row["weight"] is not None
                    and not math.isclose(
                        row["weight"], want, rel_tol=rtol, abs_tol=max(1e-9, s.rounding)
                    )
                ):
                    entry["mismatches"].append(f"{row['study']}:weight")
            entry["match"] = not entry["mismatches"]
            start += n
            out.append(entry)
            done.append(entry)
        if len(done) >= 2:
            _subgroup_test(a, top, done, rtol)
    for e in out:
        e.pop("_fit", None)
    return out


def _subgroup_test(
    a: RevManAnalysis, top: dict[str, Any], parts: list[dict[str, Any]], rtol: float
) -> None:
    """RevMan's test for subgroup differences: the fixed-effect Q of the subgroup estimates
    (Deeks & Higgins 2010), set beside the stored one when the file has it."""
    est = np.array([p["_fit"][0] for p in parts])
    se = np.array([p["_fit"][1] for p in parts])
    w = 1 / se**2
    q = float(w @ (est - (w @ est) / w.sum()) ** 2)
    df = len(parts) - 1
    rec = {"q": q, "df": df, "p": float(stats.chi2.sf(q, df)),
           "i2": max(0.0, 100 * (q - df) / q) if q > 0 else 0.0}  # fmt: skip
    stored = {"q": a.stored.get("subgroup_q"), "df": a.stored.get("subgroup_df"),
              "p": a.stored.get("subgroup_p")}  # fmt: skip
    top["subgroup_test"] = {"stored": stored, "recomputed": rec}
    want = stored["q"]
    if want is not None and not math.isclose(
        q, want, rel_tol=rtol, abs_tol=max(1e-9, a.rounding, a.tolerances.get("subgroup_q", 0))
    ):
        top["mismatches"].append("subgroup_q")
        top["match"] = False
