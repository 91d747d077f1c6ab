"""Published empirical priors by medical subfield: Bartoš et al. (2021, 2023).

Bartoš and colleagues fitted Bayesian model-averaged meta-analyses to the Cochrane Database
of Systematic Reviews and summarised, for each of 56 Cochrane review groups ("subfields")
and the whole database (``cochrane``), the distribution of effects and heterogeneity:

* effect **mu**: Student-t(df, location 0, scale);
* heterogeneity **tau**: inverse-gamma(shape, scale) for SMD, logOR, logRR and logHR;
  half-normal(sd) for the risk difference.

The values are those of R RoBMA's ``prior_informed(name, parameter, type)`` (defined in R
BayesTools 0.2.22), shipped in ``data/priors/bartos.csv`` with provenance and checked row by
row against ``BayesTools::prior_informed()``. Names are matched ignoring case, spaces and
punctuation (``"Oral Health"``, ``oral-health``); types are ``SMD``, ``logOR``, ``logRR``,
``RD`` and ``logHR`` (``OR``, ``RR``, ``HR`` are accepted for the log types).

References
----------
Bartoš F, Gronau QF, Timmers B, Otte WM, Ly A, Wagenmakers E-J (2021). Bayesian
model-averaged meta-analysis in medicine. Stat Med 40(30):6743-6761.
Bartoš F, Otte WM, Gronau QF, Timmers B, Ly A, Wagenmakers E-J (2023). Empirical prior
distributions for Bayesian meta-analyses of binary and time-to-event outcomes.
arXiv:2306.11468.
"""

from __future__ import annotations

import csv
import re
from functools import cache
from typing import Literal

import pandas as pd

from bayesmeta._paths import data_dir
from bayesmeta.errors import InputError

TYPES = ("SMD", "logOR", "logRR", "RD", "logHR")
_TYPE_KEYS = {"smd": "SMD", "logor": "logOR", "or": "logOR", "logrr": "logRR", "rr": "logRR",
              "rd": "RD", "loghr": "logHR", "hr": "logHR"}  # fmt: skip


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.strip().lower()).strip("-")


@cache
def _rows() -> tuple[dict[str, str], ...]:
    with open(data_dir() / "priors" / "bartos.csv", newline="", encoding="utf-8") as fh:
        return tuple(csv.DictReader(fh))


def bartos_table() -> pd.DataFrame:
    """All Bartoš et al. priors: one row per subfield, type and parameter.

    Columns ``subfield``, ``type``, ``parameter`` (``effect`` or ``heterogeneity``),
    ``distribution`` (``student``, ``invgamma`` or ``halfnormal``), ``p1``, ``p2``, ``p3``
    (see ``data/priors/bartos.toml``) and ``prior`` (the prior text `parse_prior` reads).

    Examples:
        >>> from bayesmeta.empirical.published import bartos_table
        >>> t = bartos_table()
        >>> row = t[(t.subfield == "Cochrane") & (t.type == "SMD")]
        >>> list(row.prior)
        ['student(5, 0, 0.43)', 'invgamma(1.71, 0.4)']
    """
    df = pd.DataFrame(list(_rows()))
    for c in ("p1", "p2", "p3"):
        df[c] = pd.to_numeric(df[c], errors="coerce")
    df["prior"] = [_text(r) for r in df.to_dict("records")]
    return df


def _num(x: float) -> str:
    s = repr(float(x))
    return s[:-2] if s.endswith(".0") else s


def _text(r: dict) -> str:
    d = r["distribution"]
    p1, p2, p3 = (float(r[c]) if r[c] not in ("", None) else 0.0 for c in ("p1", "p2", "p3"))
    if d == "student":
        return f"student({_num(p1)}, {_num(p2)}, {_num(p3)})"
    if d == "invgamma":
        return f"invgamma({_num(p1)}, {_num(p2)})"
    return f"halfnormal({_num(p2)})"


def subfields() -> list[str]:
    """The subfield names (Cochrane review groups) and ``Cochrane`` (the whole database).

    Examples:
        >>> from bayesmeta.empirical.published import subfields
        >>> len(subfields()), subfields()[:2]
        (57, ['Acute Respiratory Infections', 'Airways'])
    """
    return list(dict.fromkeys(r["subfield"] for r in _rows()))


def bartos_spec(subfield: str, type_: str, kind: Literal["tau", "mu"]) -> tuple[str, str, str]:
    """``(prior text, canonical name, note)`` of the Bartoš et al. prior of a subfield and
    outcome type: ``kind="mu"`` the effect prior (a Student-t), ``"tau"`` the heterogeneity
    prior. `bayesmeta.priors.bartos_prior` turns it into a `Prior`.

    Examples:
        >>> from bayesmeta.empirical.published import bartos_spec
        >>> bartos_spec("Oral Health", "SMD", "tau")[:2]
        ('invgamma(1.79, 0.28)', 'bartos(oral-health, SMD)')
    """
    t = _TYPE_KEYS.get(_slug(type_).replace("-", ""))
    if t is None:
        raise InputError(f"unknown bartos type {type_!r} (one of {', '.join(TYPES)})")
    key = _slug(subfield)
    names = {_slug(n): n for n in subfields()}
    if key not in names:
        raise InputError(
            f"unknown bartos subfield {subfield!r} (see bayesmeta.empirical.published."
            f"subfields(); 'cochrane' for the whole database)"
        )
    parameter = "effect" if kind == "mu" else "heterogeneity"
    rows = [r for r in _rows() if r["subfield"] == names[key] and r["type"] == t
            and r["parameter"] == parameter]  # fmt: skip
    if not rows:
        raise InputError(f"Bartoš et al. give no {t} {parameter} prior for {names[key]}")
    text = _text(rows[0])
    paper = "2021 Stat Med 40:6743" if t == "SMD" else "2023 arXiv:2306.11468"
    return text, f"bartos({key}, {t})", f"Bartoš et al. {paper}, {names[key]}, {t}: {text}"


__all__ = ["TYPES", "bartos_spec", "bartos_table", "subfields"]
