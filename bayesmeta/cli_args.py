"""Arguments shared by the ``bayesmeta`` sub-commands: the data (file or shipped set, raw
columns with ``--measure``), ``--plot``, seeds, and the text of the default-prior rule."""

from __future__ import annotations

import argparse
from typing import Any

__all__ = ["PRIOR_HELP", "add_data_args", "add_plot_arg", "seed_type", "study_table"]


PRIOR_HELP = (
    "default: mu ~ flat (R bayesmeta's default); tau ~ halfnormal(0.5) for a log-ratio "
    "--measure (OR, RR, HR), else halfnormal(0.5 x unit-information SD) when sample sizes are "
    "known (an ni column or raw group sizes; Roever et al. 2021, Res Synth Methods "
    "12:448-474), else halfcauchy(harmonic-mean SE). Every scale follows the data's units."
)


def add_data_args(p: argparse.ArgumentParser) -> None:
    """DATA (a CSV or a shipped data set), ``--measure`` and ``--columns``."""
    from bayesmeta.effects import MEASURES

    p.add_argument(
        "data",
        help="CSV file (study, yi and vi or sei; or raw columns with --measure) or the name "
        "of a shipped data set (bayesmeta datasets)",
    )
    p.add_argument(
        "--measure",
        default=None,
        help=f"compute yi/vi from raw columns: {'|'.join(MEASURES)} (metafor escalc names)",
    )
    p.add_argument(
        "--columns",
        default=None,
        metavar="ROLE=COL,...",
        help="map roles to your column names, e.g. ai=events_t,n1i=total_t,study=trial "
        "(roles: escalc names, study, yi, vi, sei, ni)",
    )


def add_plot_arg(p: argparse.ArgumentParser, what: str = "the forest plot") -> None:
    """``--plot FILE.png``: write ``what`` as a PNG."""
    p.add_argument("--plot", default=None, metavar="FILE.png", help=f"write {what}")


def seed_type(text: str) -> int:
    """An argparse type: a whole number in [0, 2**32 - 1]."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number, not {text!r}") from None
    if not 0 <= value < 2**32:
        raise argparse.ArgumentTypeError(f"must lie in [0, 2^32 - 1] (got {value})")
    return value


def study_table(args: argparse.Namespace) -> Any:
    """The study table of a command's DATA, --measure, --columns and --subgroup."""
    from bayesmeta.inputs import load_studies, parse_columns

    return load_studies(
        args.data,
        measure=args.measure,
        columns=parse_columns(args.columns),
        subgroup=getattr(args, "subgroup", None),
    )
