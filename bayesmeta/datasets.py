"""The shipped data sets under ``data/``: each ``<name>.csv`` has a ``<name>.toml`` sidecar.

The sidecar is the provenance record: title, citation, DOI, source table, R equivalent, licence,
how the file was derived, one ``[[columns]]`` entry per CSV column (name, type, unit,
description), published results under ``[published]``, consistency notes under
``[[findings]]`` and, under ``[analysis]``, how the commands read it: ``measure`` (an
effect-size code), ``columns`` (role = column, as ``--columns``) and ``options``; or
``runnable = false`` with a ``reason`` for a set that holds no study effect sizes.
`load()` types every column from the sidecar:

- ``int``   -> ``int64``, or pandas' nullable ``Int64`` when a cell is missing;
- ``float`` -> ``float64`` (missing -> NaN);
- ``str``   -> pandas' ``str`` dtype, the text exactly as in the file (missing -> NaN).

Missing cells are empty; in numeric columns the text ``NA`` (R's spelling) is missing too. In
text columns ``NA`` stays text (Zhang 2020's Table 1 prints ``NA`` for "not available").
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bayesmeta._paths import data_dir
from bayesmeta.errors import InputError

__all__ = ["canonical", "list_datasets", "load", "names", "path", "provenance"]

_TYPES = ("int", "float", "str")
_NUMERIC_MISSING = {"", "NA"}


def _names() -> list[str]:
    return sorted(p.stem for p in data_dir().glob("*.csv"))


def _resolve(name: str) -> str:
    if not isinstance(name, str):
        raise InputError(f"data set name must be a string, not {type(name).__name__}")
    key = name.strip().lower().removesuffix(".csv").removesuffix(".toml")
    names = _names()
    if key not in names:
        raise InputError(f"unknown data set '{name}'; available: {', '.join(names)}")
    return key


def names() -> list[str]:
    """The shipped data set names, sorted.

    Examples:
        >>> from bayesmeta.datasets import names
        >>> "crins2014" in names()
        True
    """
    return _names()


def canonical(name: str) -> str:
    """The shipped name for ``name`` (case-insensitive, ``.csv`` allowed; `InputError` if
    unknown).

    Examples:
        >>> from bayesmeta.datasets import canonical
        >>> canonical("Crins2014.CSV")
        'crins2014'
    """
    return _resolve(name)


def path(name: str) -> Path:
    """Path of the shipped CSV of data set ``name`` (`InputError` if unknown).

    Names are case-insensitive and may end in ``.csv``.

    Examples:
        >>> from bayesmeta.datasets import path
        >>> path("Rubin1981.csv").name
        'rubin1981.csv'
    """
    return data_dir() / f"{_resolve(name)}.csv"


def provenance(name: str) -> dict[str, Any]:
    """The parsed TOML sidecar of data set ``name``, checked for the required keys.

    Required: ``title``, ``citation``, ``license``, ``derivation`` and ``columns`` (each
    with a ``name`` and a ``type`` of int, float or str); a missing or invalid sidecar
    raises `InputError`.

    Examples:
        >>> from bayesmeta.datasets import provenance
        >>> meta = provenance("crins2014")
        >>> meta["published"]["tau_prior"], meta["published"]["tau"]["median"]
        ('halfnormal(0.5)', 0.3445023)
    """
    key = _resolve(name)
    side = data_dir() / f"{key}.toml"
    if not side.exists():
        raise InputError("provenance sidecar missing", file=str(side))
    try:
        with side.open("rb") as fh:
            meta = tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"not valid TOML ({exc})", file=str(side)) from None
    for field in ("title", "citation", "license", "derivation", "columns"):
        if field not in meta:
            raise InputError(f"sidecar lacks '{field}'", file=str(side))
    for i, col in enumerate(meta["columns"]):
        if not isinstance(col, dict) or "name" not in col or col.get("type") not in _TYPES:
            raise InputError(
                f"[[columns]] entry {i + 1} needs a name and a type in {_TYPES}", file=str(side)
            )
    return meta


def _convert(raw: pd.Series, kind: str, file: str, column: str) -> pd.Series:
    if kind == "str":
        return raw.mask(raw == "").astype("str")
    missing = raw.str.strip().isin(_NUMERIC_MISSING)
    values = pd.to_numeric(raw.mask(missing), errors="coerce")
    bad = values.isna() & ~missing
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise InputError(f"not a number: {raw.iloc[i]!r}", file=file, row=i + 1, column=column)
    if kind == "float":
        return values.astype("float64")
    whole = values.dropna()
    if not np.all(whole == np.round(whole)):
        i = int(np.flatnonzero((values != np.round(values)) & ~missing)[0])
        raise InputError(f"not an integer: {raw.iloc[i]!r}", file=file, row=i + 1, column=column)
    return values.astype("Int64" if missing.any() else "int64")


def load(name: str) -> pd.DataFrame:
    """Data set ``name`` as a typed DataFrame; ``df.attrs["provenance"]`` is its sidecar dict.

    Column types follow the sidecar (see the module docstring). The CSV header must match
    the sidecar's ``[[columns]]`` names in order (`InputError` if not), as must every cell
    its declared type.

    Examples:
        >>> from bayesmeta.datasets import load
        >>> df = load("rubin1981")
        >>> df.shape, str(df["n"].dtype), df["effect"].tolist()[:3]
        ((8, 4), 'int64', [28.39, 7.94, -2.75])
        >>> df.attrs["provenance"]["title"]
        'Eight schools: SAT-V coaching effects with standard errors'
    """
    meta = provenance(name)
    csv = path(name)
    raw = pd.read_csv(csv, dtype=str, keep_default_na=False, na_filter=False)
    declared = [c["name"] for c in meta["columns"]]
    if list(raw.columns) != declared:
        raise InputError(
            f"header {list(raw.columns)} does not match the sidecar's columns {declared}",
            file=str(csv),
        )
    df = pd.DataFrame(
        {
            c["name"]: _convert(raw[c["name"]], c["type"], str(csv), c["name"])
            for c in meta["columns"]
        }
    )
    df.attrs["provenance"] = meta
    return df


def list_datasets() -> pd.DataFrame:
    """One row per shipped data set: name, title, rows, citation, doi, license.

    Sorted by name; ``doi`` is ``""`` where the sidecar has none.

    Examples:
        >>> from bayesmeta.datasets import list_datasets
        >>> ds = list_datasets().set_index("name")
        >>> int(ds.loc["rubin1981", "rows"]), int(ds.loc["crins2014", "rows"])
        (8, 6)
    """
    rows = []
    for name in _names():
        meta = provenance(name)
        rows.append(
            {
                "name": name,
                "title": meta["title"],
                "rows": len(load(name)),
                "citation": meta["citation"],
                "doi": meta.get("doi", ""),
                "license": meta["license"],
            }
        )
    return pd.DataFrame(rows, columns=["name", "title", "rows", "citation", "doi", "license"])
