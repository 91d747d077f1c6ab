"""Data shared by the hierarchical-model tests (built from the shipped data sets)."""

# plain cached functions, not fixtures: test modules import them by name

from __future__ import annotations

from functools import cache

import numpy as np
import pandas as pd

from bayesmeta import datasets
from bayesmeta.effects import log_or, md
from bayesmeta.hierarchical import MetaData
from bayesmeta.studies import StudyTable


@cache
def schools() -> MetaData:
    """Rubin (1981) eight schools: effect and standard error."""
    df = datasets.load("rubin1981")
    return MetaData.from_arrays(df["effect"], df["stderr"], study=df["school"])


@cache
def crins() -> pd.DataFrame:
    """Crins et al. (2014) acute rejection, log OR (0.5 added to tables with a zero cell)."""
    df = datasets.load("crins2014")
    es = log_or(
        df["exp.AR.events"], ci=df["cont.AR.events"], n1i=df["exp.total"], n2i=df["cont.total"]
    )
    return pd.DataFrame(
        {
            "study": df["publication"],
            "yi": es.yi,
            "vi": es.vi,
            "drug": df["IL2RA"],
            "year": df["year"].astype(float),
        }
    )


@cache
def normand() -> pd.DataFrame:
    """Normand (1999) length of stay, MD with pooled SD; arms of one trial share a cluster."""
    df = datasets.load("normand1999")
    es = md(df["m1i"], df["sd1i"], df["n1i"], df["m2i"], df["sd2i"], df["n2i"], variance="pooled")
    trial = [s.split("-")[0] for s in df["source"]]
    return pd.DataFrame({"study": df["source"], "yi": es.yi, "vi": es.vi, "trial": trial})


@cache
def morris() -> MetaData:
    """Morris (2008) treatment arms as single-arm before/after summaries."""
    df = datasets.load("morris2008")
    frame = pd.DataFrame(
        {
            "study": df["study"].astype(str),
            "m_pre": df["m_pre_t"],
            "sd_pre": df["sd_pre_t"],
            "m_post": df["m_post_t"],
            "sd_post": df["sd_post_t"],
            "n": df["n_t"],
        }
    )
    return MetaData.from_prepost(frame)


def toy(k: int = 6, seed: int = 0) -> MetaData:
    """Synthetic table with subgroups, clusters and one covariate (shape tests only)."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "study": [f"s{i}" for i in range(k)],
            "yi": rng.normal(0, 1, k),
            "sei": rng.uniform(0.2, 0.6, k),
            "cell": (["MSC", "BM-MNC", "BM-HSC"] * k)[:k],
            "trial": [f"t{i // 2}" for i in range(k)],
            "dose": rng.normal(5, 2, k),
        }
    )
    return MetaData.from_table(
        StudyTable.from_frame(frame, subgroup="cell", cluster="trial", covariates=["dose"])
    )
