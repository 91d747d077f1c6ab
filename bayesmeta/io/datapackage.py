"""Cochrane data packages (RevMan Web's statistical data export) read into `RevManAnalysis`.

A package is a ZIP (or its unpacked folder) holding ``<ID>-analysis-data/`` with three CSV
files, and optionally ``<ID>-study-data/`` with ``<ID>-risk-of-bias.csv`` and
``<ID>-study-information.csv``; the Cochrane Library serves it inside an outer ZIP as
``<ID>-files/<ID>-data.zip``. All three shapes are read, in memory (nothing is extracted).

* ``overall-estimates-and-settings.csv``: one row per analysis: data type, statistical
  method, effect measure, model and the stored totals.
* ``data-rows.csv``: one row per study and analysis: arm data, ``GIV Mean``/``GIV SE``,
  ``O-E``/``Variance`` and the stored study ``Weight``, ``Mean``, ``CI start``, ``CI end``.
* ``subgroup-estimates.csv``: the stored subgroup totals.

Two column layouts exist. The older one (packages written until September 2024) has
``Study CI`` and ``Estimate CI`` and always pools random effects with DerSimonian-Laird and
Wald intervals. The newer one has ``Heterogeneity estimator``, ``Tau² CI``, ``Prediction
interval``, ``CI method``, ``CI/PI level``, ``PI start``/``PI end`` and ``Effect T``. Columns
are found by name, so an added or reordered column changes nothing.

Values as RevMan writes them: ``#N/A`` (quoted or not) and empty cells are missing; with
``Log-scale data`` true, ``GIV Mean``/``GIV SE`` are on the log scale while ``Mean``, ``CI
start``, ``CI end`` are on the ratio scale of the forest plot (Cochrane's data-package
notes; R meta ``read.cdir`` takes the same view). An analysis whose stored ``Mean``, ``CI
start`` and ``CI end`` are all 0 stored no result (RevMan Web writes zeros there). Each stored
number is compared to the precision it is printed with (half a unit in its last digit).
"""

from __future__ import annotations

import csv
import io
import math
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import pandas as pd

from bayesmeta.errors import InputError
from bayesmeta.io.analysis import STORED_KEYS, RevManAnalysis

#: Refuse a ZIP that unpacks to more than this, or compresses better than MAX_RATIO.
MAX_UNPACKED, MAX_RATIO = 1 << 30, 100.0
_SUFFIXES = {
    "settings": "-overall-estimates-and-settings.csv",
    "rows": "-data-rows.csv",
    "subgroups": "-subgroup-estimates.csv",
    "rob": "-risk-of-bias.csv",
    "info": "-study-information.csv",
    "dta": "-parameters.csv",
}
_TYPES = {
    "dichotomous": "dichotomous",
    "continuous": "continuous",
    "contrast level": "generic",
    "o-e and variance": "dichotomous",  # Peto's O - E and V per study (no counts)
}
_MEASURES = {
    "odds ratio": "OR",
    "odds ratio (non-event)": "OR",
    "peto odds ratio": "OR",
    "risk ratio": "RR",
    "risk ratio (non-event)": "RR",
    "risk difference": "RD",
    "mean difference": "MD",
    "std. mean difference": "SMD",
    "standardized mean difference": "SMD",
    "standardised mean difference": "SMD",
    "hazard ratio": "HR",
}
#: Heterogeneity estimators by their package spellings (codes are the classical engine's).
_ESTIMATORS = {
    "dl": "DL",
    "dersimonian-laird": "DL",
    "dersimonian and laird": "DL",
    "reml": "REML",
    "restricted maximum likelihood": "REML",
    "restricted maximum-likelihood": "REML",
    "pm": "PM",
    "paule-mandel": "PM",
    "paule and mandel": "PM",
    "ml": "ML",
    "maximum likelihood": "ML",
    "sj": "SJ",
    "sidik-jonkman": "SJ",
    "he": "HE",
    "hedges": "HE",
    "eb": "EB",
    "empirical bayes": "EB",
}


@dataclass(frozen=True)
class Package:
    """The CSV texts of one data package (``rob``, ``info`` None where absent).

    Examples:
        >>> from bayesmeta.io.datapackage import Package
        >>> Package("CD000001", "settings", "rows", "").rob is None
        True
    """

    name: str
    settings: str
    rows: str
    subgroups: str
    rob: str | None = None
    info: str | None = None


# ------------------------------------------------------------------ finding the files
def _check_member(info: zipfile.ZipInfo, source: str) -> None:
    p = PurePosixPath(info.filename.replace("\\", "/"))
    if p.is_absolute() or ".." in p.parts or re.match(r"^[A-Za-z]:", info.filename):
        raise InputError(f"ZIP member {info.filename!r} points outside the package", file=source)


def _zip_members(data: bytes, source: str, depth: int = 0) -> dict[str, bytes]:
    """The CSV members of a ZIP (and of a ZIP inside it, as the Cochrane Library nests
    the data ZIP), read in memory after the path and size checks."""
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise InputError("not a ZIP file (a Cochrane data package is a ZIP)", file=source) from None
    with zf:
        infos = [i for i in zf.infolist() if not i.is_dir()]
        total = sum(i.file_size for i in infos)
        packed = sum(i.compress_size for i in infos)
        for i in infos:
            _check_member(i, source)
        if total > MAX_UNPACKED or (packed and total / packed > MAX_RATIO and total > 1 << 20):
            raise InputError(
                f"ZIP refused: {total} bytes unpacked from {packed} (limit 1 GiB, ratio 100)",
                file=source,
            )
        out: dict[str, bytes] = {}
        for i in infos:
            name = i.filename.replace("\\", "/")
            low = name.lower()
            if low.endswith(".csv"):
                out[name] = zf.read(i)
            elif low.endswith(".zip") and depth == 0:
                inner = _zip_members(zf.read(i), f"{source}!{name}", depth + 1)
                out.update({f"{name}!{k}": v for k, v in inner.items()})
    return out


def _folder_members(folder: Path) -> dict[str, bytes]:
    out: dict[str, bytes] = {}
    for p in sorted(folder.rglob("*")):
        if p.is_file() and p.suffix.lower() == ".csv":
            out[p.relative_to(folder).as_posix()] = p.read_bytes()
        elif p.is_file() and p.suffix.lower() == ".zip":
            inner = _zip_members(p.read_bytes(), str(p))
            out.update({f"{p.relative_to(folder).as_posix()}!{k}": v for k, v in inner.items()})
    return out


def _text(data: bytes, source: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InputError("not UTF-8 text (data packages are UTF-8)", file=source) from None


def find_package(path: str | Path) -> Package:
    """The CSV files of the data package at ``path`` (a ZIP, a ZIP holding the data ZIP, or a
    folder); an `InputError` names what is missing. A diagnostic-test-accuracy package
    (``*-parameters.csv``) is refused: it holds no intervention analyses.

    Examples:
        >>> import zipfile
        >>> from bayesmeta.io.datapackage import find_package
        >>> with zipfile.ZipFile("p.zip", "w") as z:
        ...     z.writestr("CD1-analysis-data/CD1-data-rows.csv", "Study\\nA\\n")
        >>> find_package("p.zip")
        Traceback (most recent call last):
        ...
        bayesmeta.errors.InputError: p.zip: not a Cochrane data package: missing ...settings.csv
    """
    p = Path(path)
    if not p.exists():
        raise InputError("file not found", file=str(p))
    members = _folder_members(p) if p.is_dir() else _zip_members(p.read_bytes(), str(p))
    found: dict[str, dict[str, str]] = {}  # package ID -> role -> member
    for name in members:
        base = name.rsplit("!", 1)[-1].rsplit("/", 1)[-1]
        for role, suffix in _SUFFIXES.items():
            if base.lower().endswith(suffix):
                ident = base[: -len(suffix)]
                found.setdefault(ident, {}).setdefault(role, name)  # shallowest first
    if any("dta" in roles for roles in found.values()):
        raise InputError(
            "a diagnostic test accuracy package (it has a parameters.csv): only intervention "
            "reviews are supported",
            file=str(p),
        )
    full = [i for i, roles in found.items() if {"settings", "rows"} <= set(roles)]
    if not full:
        have = sorted({r for roles in found.values() for r in roles})
        need = [f"*{_SUFFIXES[r]}" for r in ("settings", "rows") if r not in have]
        what = f"missing {', '.join(need)}" if found else "no data-package CSV files in it"
        raise InputError(f"not a Cochrane data package: {what}", file=str(p))
    ident = full[0]
    roles = found[ident]

    def text(role: str) -> str | None:
        return _text(members[roles[role]], f"{p}:{roles[role]}") if role in roles else None

    return Package(
        name=ident,
        settings=text("settings") or "",
        rows=text("rows") or "",
        subgroups=text("subgroups") or "",
        rob=text("rob"),
        info=text("info"),
    )


def is_datapackage(path: str | Path) -> bool:
    """True for a folder or ZIP that holds a data package's analysis CSV files.

    Examples:
        >>> from pathlib import Path
        >>> from bayesmeta.io.datapackage import is_datapackage
        >>> _ = Path("notes.zip").write_bytes(b"not a zip")
        >>> is_datapackage("notes.zip")
        False
    """
    try:
        find_package(path)
    except InputError as err:
        return "diagnostic test accuracy" in err.message
    return True


# ------------------------------------------------------------------ reading the CSVs
def _table(text: str, what: str, source: str) -> list[dict[str, str]]:
    rows = list(csv.reader(io.StringIO(text)))
    if not rows:
        return []
    header = [h.strip() for h in rows[0]]
    out = []
    for n, r in enumerate(rows[1:], start=1):
        if not any(x.strip() for x in r):
            continue
        if len(r) > len(header):
            raise InputError(f"{what}: {len(r)} fields where the header has {len(header)}",
                             file=source, row=n)  # fmt: skip
        rec = {h: (r[i].strip() if i < len(r) else "") for i, h in enumerate(header)}
        rec["_row"] = str(n)
        out.append(rec)
    return out


def _missing(text: str | None) -> bool:
    return text is None or text.strip() in ("", "#N/A", "NA", "N/A")


def _number(text: str | None) -> tuple[float | None, float]:
    """The value of a cell and half a unit in its last printed digit (its rounding)."""
    if _missing(text):
        return None, 0.0
    s = str(text).strip().replace(",", "").rstrip("%")
    try:
        v = float(s)
    except ValueError:
        return None, 0.0
    if not math.isfinite(v):
        return None, 0.0
    mant = s.lower().split("e")[0]
    exp = int(s.lower().split("e")[1]) if "e" in s.lower() else 0
    decimals = len(mant.split(".")[1]) if "." in mant else 0
    return v, 0.5 * 10.0 ** (exp - decimals)


def _flag(text: str | None) -> bool:
    return str(text or "").strip().lower() in ("true", "yes", "1")


def _level(text: str | None, default: float = 0.95) -> float:
    v, _ = _number(text)
    if v is None:
        return default
    return v / 100 if v > 1 else v


def _ci_method(text: str | None) -> str:
    t = str(text or "").strip().lower()
    if t in ("", "#n/a", "wald", "wald-type", "z"):
        return "wald"
    if any(x in t for x in ("hartung", "knapp", "hksj")) or t in ("hk", "kh"):
        return "hksj"
    return t


def _stored(rec: dict[str, str]) -> tuple[dict[str, float | None], dict[str, float]]:
    """The stored totals of a settings or subgroup row, and their roundings."""
    cols = {
        "estimate": "Mean",
        "ci_low": "CI start",
        "ci_high": "CI end",
        "tau2": "Heterogeneity Tau²",
        "q": "Heterogeneity Chi²",
        "i2": "Heterogeneity I²",
        "z_p": "Effect P",
        "pi_low": "PI start",
        "pi_high": "PI end",
        "q_df": "Heterogeneity df",
        "subgroup_q": "Subgroup Chi²",
        "subgroup_df": "Subgroup df",
        "subgroup_p": "Subgroup P",
    }
    values, tols = {}, {}
    for key, col in cols.items():
        values[key], tols[key] = _number(rec.get(col))
    z, zt = _number(rec.get("Effect Z"))
    t, tt = _number(rec.get("Effect T"))
    values["z"], tols["z"] = (t, tt) if z is None and t is not None else (z, zt)
    if all(values[k] in (0.0, None) for k in ("estimate", "ci_low", "ci_high")):
        values = {k: None for k in values}  # RevMan Web stored no result (zeros)
    return values, tols


def _study_row(
    rec: dict[str, str], kind: str, log_scale: bool, pooled: bool, swap: bool = False
) -> dict[str, Any]:
    def num(col: str) -> float | None:
        return _number(rec.get(col))[0]

    row: dict[str, Any] = {"study": rec.get("Study", "").strip()}
    year = num("Study year")
    row["year"] = year
    if kind == "dichotomous":
        row.update(events_1=num("Experimental cases"), total_1=num("Experimental N"),
                   events_2=num("Control cases"), total_2=num("Control N"),
                   o_e=num("O-E"), var=num("Variance"))  # fmt: skip
        if swap:  # "Swap event and non-event": RevMan analyses the non-events
            for e, t in (("events_1", "total_1"), ("events_2", "total_2")):
                if row[e] is not None and row[t] is not None:
                    row[e] = row[t] - row[e]
    elif kind == "continuous":
        row.update(mean_1=num("Experimental mean"), sd_1=num("Experimental SD"),
                   total_1=num("Experimental N"), mean_2=num("Control mean"),
                   sd_2=num("Control SD"), total_2=num("Control N"))  # fmt: skip
    else:
        est, se = num("GIV Mean"), num("GIV SE")
        row.update(estimate=est, se=se, log_estimate=est if log_scale else None,
                   total_1=num("Experimental N"), total_2=num("Control N"))  # fmt: skip
    for key, col in (("stored_estimate", "Mean"), ("stored_ci_low", "CI start"),
                     ("stored_ci_high", "CI end"), ("stored_weight", "Weight")):  # fmt: skip
        value, tol = _number(rec.get(col))
        row[key], row[f"tol_{key.removeprefix('stored_')}"] = value, tol
    if row["stored_estimate"] == row["stored_ci_low"] == row["stored_ci_high"] == 0.0:
        row.update(
            stored_estimate=None, stored_ci_low=None, stored_ci_high=None, stored_weight=None
        )  # RevMan Web stored no study result (zeros)
    if not pooled:
        row["stored_weight"] = None  # no pooled estimate: RevMan Web writes weight 0
    row["stored_se"] = None
    return row


def _frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    df = pd.DataFrame(rows)
    for c in df.columns:
        if c != "study":
            df[c] = pd.to_numeric(df[c], errors="coerce").astype(float)
    return df


def read_datapackage(path: str | Path) -> list[RevManAnalysis]:
    """Every analysis of a Cochrane data package (module docstring), with its subgroups.

    Each `RevManAnalysis` carries ``settings`` (layout, estimator, CI method, prediction
    interval, level, log scale, swapped events), its ``stored`` totals (the `STORED_KEYS`
    plus ``pi_low``/``pi_high`` and the subgroup test), their ``tolerances`` (the printed
    rounding), the ``favours`` labels and the package's ``risk_of_bias`` rows for its
    studies. An analysis whose data type or measure is not supported keeps its reason in
    ``settings["unsupported"]``; `bayesmeta.io.compare_all` reports it and goes on.

    Examples:
        >>> import zipfile
        >>> from bayesmeta.io.datapackage import read_datapackage
        >>> settings = ("Analysis group,Analysis number,Analysis name,Data type,Log-scale data,"
        ...     "Statistical method,Effect measure,Analysis model,Study CI,Estimate CI,Mean,"
        ...     "CI start,CI end\\n1,1,Pain,Continuous,false,IV,Mean Difference,Fixed effect,"
        ...     "95%,95%,-1.0,-2.0,0.0\\n")
        >>> rows = ("Analysis group,Analysis number,Analysis name,Subgroup,Study,Study year,"
        ...     "Experimental mean,Experimental SD,Experimental N,Control mean,Control SD,"
        ...     "Control N,Weight,Mean,CI start,CI end\\n1,1,Pain,,A 2001,2001,5,2,10,6,2,12,"
        ...     "100.0,-1.0,-2.68,0.68\\n")
        >>> with zipfile.ZipFile("CD000001.zip", "w") as z:
        ...     z.writestr("CD000001-analysis-data/CD000001-overall-estimates-and-settings.csv",
        ...                settings)
        ...     z.writestr("CD000001-analysis-data/CD000001-data-rows.csv", rows)
        >>> a = read_datapackage("CD000001.zip")[0]
        >>> a.label, a.measure, a.model, a.settings["layout"], a.studies["study"].tolist()
        ('1.1 Pain', 'MD', 'fixed', 'older', ['A 2001'])
    """
    pkg = find_package(path)
    source = str(path)
    settings = _table(pkg.settings, "overall-estimates-and-settings.csv", source)
    rows = _table(pkg.rows, "data-rows.csv", source)
    subrows = _table(pkg.subgroups, "subgroup-estimates.csv", source) if pkg.subgroups else []
    if not settings:
        raise InputError("the package's overall-estimates-and-settings.csv has no analyses",
                         file=source)  # fmt: skip
    rob = _risk_of_bias(pkg.rob, source)
    newer = "CI method" in settings[0] or "Heterogeneity estimator" in settings[0]
    by_key: dict[tuple[int, int], list[dict[str, str]]] = {}
    for r in rows:
        key = _key(r, source, "data-rows.csv")
        by_key.setdefault(key, []).append(r)
    keys = set()
    out: list[RevManAnalysis] = []
    for s in settings:
        key = _key(s, source, "overall-estimates-and-settings.csv")
        keys.add(key)
        _check_totals(s, by_key.get(key, []), key, source)
        out.append(_analysis(s, by_key.get(key, []), subrows, key, newer, rob, source))
    orphans = sorted(set(by_key) - keys)
    if orphans:
        g, n = orphans[0]
        raise InputError(
            f"analysis {g}.{n} has data rows but no row in overall-estimates-and-settings.csv",
            file=source,
        )
    return out


def _check_totals(s: dict[str, str], rows: list[dict[str, str]], key: tuple[int, int],
                  source: str) -> None:  # fmt: skip
    """The stored group totals (participants and events) must be the sums of the study rows."""
    for col in ("Experimental N", "Control N", "Experimental cases", "Control cases"):
        total, _ = _number(s.get(col))
        if total is None or not rows:
            continue
        got = sum(_number(r.get(col))[0] or 0.0 for r in rows)
        if abs(got - total) > 1e-6 * max(1.0, abs(total)):
            raise InputError(
                f"analysis {key[0]}.{key[1]}: inconsistent totals: '{col}' is {total:g} in "
                f"overall-estimates-and-settings.csv but its study rows sum to {got:g}",
                file=source,
            )


def _key(rec: dict[str, str], source: str, what: str) -> tuple[int, int]:
    g, _ = _number(rec.get("Analysis group"))
    n, _ = _number(rec.get("Analysis number"))
    if g is None or n is None:
        raise InputError(f"{what}: no analysis group and number", file=source,
                         row=int(rec["_row"]), column="Analysis number")  # fmt: skip
    return int(g), int(n)


def _risk_of_bias(text: str | None, source: str) -> pd.DataFrame | None:
    """``study`` and one column per domain judgement (``Domain (judgement): X`` -> ``X``)."""
    if not text:
        return None
    recs = _table(text, "risk-of-bias.csv", source)
    if not recs:
        return None
    out = []
    for r in recs:
        row = {"study": r.get("Study", "")}
        for col, value in r.items():
            if col.startswith("Domain (judgement)"):
                row[col.split(":", 1)[1].strip() if ":" in col else col] = value
            elif col.lower().startswith("overall") and "judgement" in col.lower():
                row["Overall"] = value
        out.append(row)
    return pd.DataFrame(out)


def _analysis(
    s: dict[str, str],
    rows: list[dict[str, str]],
    subrows: list[dict[str, str]],
    key: tuple[int, int],
    newer: bool,
    rob: pd.DataFrame | None,
    source: str,
) -> RevManAnalysis:
    g, n = key
    kind_text = s.get("Data type", "").strip()
    kind = _TYPES.get(kind_text.lower())
    method_text = s.get("Statistical method", "").strip()
    method = {"mh": "MH", "iv": "IV", "peto": "PETO", "exp_o_e_var": "PETO"}.get(
        method_text.lower(), method_text.upper()
    )
    measure_text = s.get("Effect measure", "").strip()
    measure = _MEASURES.get(measure_text.lower(), measure_text)
    if measure_text.lower() == "peto odds ratio":
        method = "PETO"
    model = (
        "random" if s.get("Analysis model", "").strip().lower().startswith("random") else "fixed"
    )
    log_scale = _flag(s.get("Log-scale data"))
    est_text = s.get("Heterogeneity estimator", "")
    estimator = "DL" if _missing(est_text) else _ESTIMATORS.get(est_text.strip().lower(),
                                                                 est_text.strip())  # fmt: skip
    settings: dict[str, Any] = {
        "layout": "newer" if newer else "older",
        "estimator": estimator if model == "random" else "FE",
        "ci_method": _ci_method(s.get("CI method")) if newer else "wald",
        "prediction": _flag(s.get("Prediction interval")),
        "level": _level(s.get("CI/PI level") if newer else s.get("Estimate CI")),
        "study_level": _level(s.get("CI/PI level") if newer else s.get("Study CI")),
        "log_scale": log_scale,
        "swap_events": _flag(s.get("Swap event and non-event")),
        "data_type_text": kind_text,
        "effect_measure_text": measure_text,
    }
    why = None
    if kind is None:
        why = f"data type {kind_text!r} is not supported (only dichotomous, continuous, "
        why += "contrast-level and O-E and variance data)"
    elif measure not in ("OR", "RR", "RD", "MD", "SMD", "HR"):
        why = f"effect measure {measure_text!r} is not supported"
    elif kind == "generic" and measure in ("OR", "RR", "HR") and not log_scale:
        why = "a ratio measure without log-scale data"
    elif model == "random" and estimator not in ("DL", "REML", "PM", "ML", "SJ", "HE", "EB"):
        why = f"heterogeneity estimator {est_text!r} is not supported"
    elif settings["ci_method"] not in ("wald", "hksj"):
        why = f"CI method {s.get('CI method')!r} is not supported"
    if why:
        settings["unsupported"] = why
    stored, tols = _stored(s)
    left, right = s.get("Graph label (left)", ""), s.get("Graph label (right)", "")
    favours = (
        (left, right) if (left or right) and not (_missing(left) and _missing(right)) else None
    )
    a = RevManAnalysis(
        g, n, None, s.get("Analysis name", "").strip(), kind or kind_text.lower(), method,
        measure, model, stored=stored, source=source, method_code=method_text,
        favours=favours, settings=settings, tolerances=tols,
    )  # fmt: skip
    study_kind = kind or "generic"
    pooled = _flag(s.get("Overall estimates", "true")) or _flag(s.get("Subgroup estimates"))
    names = [r.get("Subgroup", "").strip() for r in rows]
    if any(names):
        mine = [x for x in subrows if _key(x, source, "subgroup-estimates.csv") == key]
        frames = []
        for j, name in enumerate(_subgroup_order(mine, names), start=1):
            part = [r for r in rows if r.get("Subgroup", "").strip() == name]
            srec = next((x for x in mine if x.get("Subgroup", "").strip() == name), {})
            sst, stol = _stored(srec) if srec else ({k: None for k in STORED_KEYS}, {})
            number, _ = _number(srec.get("Subgroup number")) if srec else (None, 0.0)
            df = _frame(
                [
                    _study_row(r, study_kind, log_scale, pooled, settings["swap_events"])
                    for r in part
                ]
            )
            sub = RevManAnalysis(
                g, n, int(number) if number else j, name, a.data_type, method, measure, model,
                studies=df, stored=sst, source=source, method_code=method_text,
                favours=favours, settings=settings, tolerances=stol,
                risk_of_bias=_rob_for(rob, df),
            )  # fmt: skip
            a.subgroups.append(sub)
            frames.append(df.assign(subgroup=name))
        a.studies = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    else:
        a.studies = (
            _frame(
                [
                    _study_row(r, study_kind, log_scale, pooled, settings["swap_events"])
                    for r in rows
                ]
            )
            if rows
            else (pd.DataFrame())
        )
    a.risk_of_bias = _rob_for(rob, a.studies)
    return a


def _subgroup_order(subrows: list[dict[str, str]], names: list[str]) -> list[str]:
    """Subgroup names in the order of their stored numbers (``subrows``: the analysis's
    subgroup-estimates rows), then any others as they appear."""
    numbered = []
    for x in subrows:
        num, _ = _number(x.get("Subgroup number"))
        numbered.append((num if num is not None else math.inf, x.get("Subgroup", "").strip()))
    order = [name for _, name in sorted(numbered, key=lambda t: t[0]) if name in names]
    return order + [x for x in dict.fromkeys(names) if x and x not in order]


def _rob_for(rob: pd.DataFrame | None, studies: pd.DataFrame) -> pd.DataFrame | None:
    if rob is None or studies.empty:
        return None
    return rob[rob["study"].isin(set(studies["study"]))].reset_index(drop=True)
