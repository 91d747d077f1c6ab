"""Arguments shared by the ``bayesmeta`` sub-commands: the data (file or shipped set, raw
columns with ``--measure``), ``--plot``, seeds, and the text of the default-prior rule."""

from __future__ import annotations

import argparse
from typing import Any

__all__ = [
    "PRIOR_HELP",
    "add_data_args",
    "add_plot_arg",
    "add_sensitivity_args",
    "add_simulate_args",
    "seed_type",
    "study_table",
]


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
    """``--plot FILE.png``: write ``what`` as a PNG (forest plots also take ``--favours``)."""
    p.add_argument("--plot", default=None, metavar="FILE.png", help=f"write {what}")
    if what == "the forest plot":
        p.add_argument(
            "--favours",
            default=None,
            type=favours_type,
            metavar="LEFT,RIGHT",
            help="labels under the forest plot's axis, e.g. 'Favours experimental,Favours "
            "control' (default: none)",
        )


def favours_type(text: str) -> tuple[str, str]:
    """An argparse type: two comma-separated, non-empty labels."""
    parts = [x.strip() for x in text.split(",")]
    if len(parts) != 2 or not all(parts):
        raise argparse.ArgumentTypeError(f"needs two labels LEFT,RIGHT (got {text!r})")
    return parts[0], parts[1]


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


def add_sensitivity_args(p: argparse.ArgumentParser) -> None:
    """``bayesmeta sensitivity``'s arguments (tau sweep by default
    `bayesmeta.sensitivity.command.default_sweep`, mu flat).

    Examples:
        >>> import argparse
        >>> from bayesmeta.cli_args import add_sensitivity_args
        >>> p = argparse.ArgumentParser()
        >>> add_sensitivity_args(p)
        >>> a = p.parse_args(["data.csv", "--tau-prior", "turner", "--threshold", "0.2"])
        >>> a.tau_prior, a.mu_prior, a.threshold, a.level
        (['turner'], None, 0.2, 0.95)
    """
    add_data_args(p)
    add_plot_arg(p, "the posterior densities under the default tau prior, priors overlaid")
    p.add_argument(
        "--tau-prior",
        action="append",
        default=None,
        metavar="SWEEP",
        help='tau prior or sweep, repeatable, e.g. "halfnormal(0.1..2, n=20)", '
        '"turner" (default: halfnormal and halfcauchy, scales 0.2 to 4 times the default '
        "tau prior's scale, n=20: halfnormal(0.1..2) on a log-ratio scale)",
    )
    p.add_argument(
        "--mu-prior",
        action="append",
        default=None,
        metavar="SWEEP",
        help='mu prior or sweep, repeatable, e.g. "normal(0, 1..10, n=5)" (default flat)',
    )
    p.add_argument(
        "--subgroup",
        default=None,
        metavar="COL",
        help="subgroup column: common-tau subgroup model, one row per subgroup",
    )
    p.add_argument("--threshold", type=float, default=0.0, help="report P(mu < threshold)")
    p.add_argument("--level", type=float, default=0.95, help="interval level (default 0.95)")
    p.add_argument(
        "--prior-predictive",
        action="store_true",
        help="add each tau prior's implied theta_i - mu half-width and I^2",
    )
    p.add_argument(
        "--refit",
        default=None,
        metavar="MODEL",
        help="refit a PyMC model (normal, student_t, subgroup, ...) under every tau prior, "
        "one compiled model per prior family (bayesmeta.sensitivity.refit_sweep); for the "
        "normal model the exact engine's medians are printed beside the sampled ones",
    )
    p.add_argument("--draws", type=int, default=1000, help="--refit: draws per chain")
    p.add_argument("--tune", type=int, default=1000, help="--refit: tuning steps per chain")
    p.add_argument("--chains", type=int, default=4, help="--refit: chains")
    p.add_argument("--seed", type=seed_type, default=1, help="--refit: seed of every fit")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument(
        "--quiet",
        action="store_true",
        help="--refit: no progress counter (shown on stderr only on a terminal)",
    )
    p.add_argument("--csv", default=None, metavar="FILE", help="also write the table as CSV")
    p.add_argument("--plots", default=None, metavar="DIR",
                   help="write sensitivity_interval.png, sensitivity_tornado.png, "
                        "sensitivity_posteriors.png")  # fmt: skip


def add_simulate_args(p: argparse.ArgumentParser) -> None:
    """``bayesmeta simulate``'s arguments.

    Examples:
        >>> import argparse
        >>> from bayesmeta.cli_args import add_simulate_args
        >>> p = argparse.ArgumentParser()
        >>> add_simulate_args(p)
        >>> a = p.parse_args(["spec.toml", "--workers", "0"])
        >>> a.spec, a.out, a.workers, a.scheduler, a.no_progress
        ('spec.toml', 'simulate_out', 0, None, False)
    """
    p.add_argument("spec", help="simulation spec (TOML), e.g. models/simulate_review.toml")
    p.add_argument("--out", default="simulate_out", help="output folder (default simulate_out)")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--workers", type=int, default=None, help="local workers (default: CPUs)")
    g.add_argument("--scheduler", default=None, metavar="ADDRESS", help="dask scheduler address")
    p.add_argument("--no-progress", action="store_true", help="no progress counter on stderr")


def add_priors_args(p: argparse.ArgumentParser) -> None:
    """``priors learn INPUT... --by COL --out DIR`` and ``priors published``."""
    sub = p.add_subparsers(dest="action", required=True)
    learn = sub.add_parser(
        "learn",
        help="learn tau and mu priors per setting from a corpus (Turner et al. 2015 model), "
        "validated on held-out analyses",
        description="Each analysis enters by its exact marginal likelihood; the hyperparameters "
        "(log tau^2 ~ N(m, s^2) or t, mu ~ N(a, b^2)) get scale-safe priors (m ~ N(log median "
        "vi, 4^2), s ~ HN(2), a ~ N(0, A^2), b ~ HN(A), A = 10 x the data's spread) and are "
        "integrated by PSIS-diagnosed importance sampling; the learned prior is the predictive "
        "for a new analysis (docs/empirical-priors.md).",
    )  # fmt: skip
    learn.add_argument("inputs", nargs="+", metavar="INPUT",
                       help="long tables (analysis, study, yi, vi or sei, the --by columns), "
                       "RevMan files, data packages or folders (as bayesmeta corpus)")  # fmt: skip
    learn.add_argument("--by", default=None, metavar="COL[,COL]",
                       help="columns constant within an analysis that define the settings "
                       "(also measure, data_type, source, review); default: one "
                       "setting")  # fmt: skip
    learn.add_argument("--out", required=True, metavar="DIR", help="output folder")
    learn.add_argument("--json", action="store_true", help="print one JSON object")
    learn.add_argument("--holdout", type=float, default=0.5,
                       help="fraction of each setting's analyses held out for scoring, in "
                       "(0, 0.9] (default 0.5)")  # fmt: skip
    learn.add_argument("--seed", type=seed_type, default=20201, help="random seed (20201)")
    learn.add_argument(
        "--tau-model",
        default="normal",
        choices=("normal", "t"),
        help="log(tau^2) ~ normal (Turner 2015, default) or t (Rhodes 2015)",
    )
    learn.add_argument("--df", type=float, default=5.0, help="t degrees of freedom (5)")
    learn.add_argument(
        "--draws",
        type=int,
        default=2000,
        help="importance-sampling draws of the hyperparameters (2000)",
    )
    learn.add_argument(
        "--measure",
        default=None,
        help="measure of raw columns in long tables (as bayesmeta corpus)",
    )
    learn.add_argument("--quiet", action="store_true", help="no progress on stderr")
    pub = sub.add_parser("published", help="list the Bartoš et al. subfield priors")
    pub.add_argument("--type", default=None, help="SMD|logOR|logRR|RD|logHR")
    pub.add_argument("--json", action="store_true", help="print one JSON object")


def add_dependent_args(p: argparse.ArgumentParser) -> None:
    """``pool``'s options for dependent effect sizes (`bayesmeta.dependent`)."""
    p.add_argument(
        "--cluster", default=None, metavar="COL",
        help="effect sizes nested in clusters: multilevel model rma.mv(yi, vi, random = ~ 1 | "
        "cluster/study) by REML (--method ML), z tests; study must be unique per effect size",
    )  # fmt: skip
    p.add_argument(
        "--robust", nargs="?", const="CR2", default=None, metavar="CR2|CR1",
        help="cluster-robust tests: CR2 with Satterthwaite df (clubSandwich; the default) or "
        "CR1 (metafor robust(), df = clusters - p)",
    )  # fmt: skip
    p.add_argument(
        "--cluster-model", default="multilevel", choices=("multilevel", "re"),
        help="with --cluster: the multilevel model (default) or the plain random-effects "
        "model (with --robust)",
    )  # fmt: skip
    p.add_argument(
        "--outcome", default=None, metavar="OCOL",
        help="several outcomes per cluster: multivariate model with V = vcalc(vi, cluster, "
        "obs = outcome, rho = --rho) and random = ~ outcome | cluster",
    )  # fmt: skip
    p.add_argument("--rho", type=float, default=None,
                   help="within-cluster correlation of different outcomes' sampling errors, "
                   "in (-1, 1) (needed with --outcome)")  # fmt: skip
    p.add_argument("--struct", default="UN", help="UN|CS|HCS between-cluster covariance of "
                   "the outcomes (default UN)")  # fmt: skip
    p.add_argument(
        "--mods",
        default=None,
        metavar="COL[,COL]",
        help="numeric moderators (meta-regression) of the multilevel model",
    )


def add_network_args(p: argparse.ArgumentParser) -> None:
    """``bayesmeta network FILE --measure M [--reference T] [--engine pymc] ...``."""
    p.add_argument("file", help="CSV: arms (study, treatment, events, n or mean, sd, n; a "
                   "multi-arm trial is several rows) or contrasts (study, treat1, treat2, yi, "
                   "vi[, cov])")  # fmt: skip
    p.add_argument("--measure", default=None,
                   help="OR|RR|RD|MD|SMD for arm data; for contrasts the measure of yi (HR, "
                   "OR, RR: log scale; default generic)")  # fmt: skip
    p.add_argument(
        "--reference", default=None, help="reference treatment (default: the first in sorted order)"
    )
    p.add_argument("--method", default="REML", help="REML (default, common tau^2), ML or FE")
    p.add_argument(
        "--engine",
        default="classical",
        help="pymc: also the Bayesian TSD2 model (ranks, SUCRA, node-splitting)",
    )
    p.add_argument("--tau-prior", default=None,
                   help="Bayesian tau prior (default: the package's scale-safe rule; TSD2: "
                   "'uniform(0, 5)')")  # fmt: skip
    p.add_argument(
        "--smaller-better",
        action="store_true",
        help="rank smaller effects as better (P-scores, SUCRA)",
    )
    p.add_argument("--add-to", default="only0", choices=("only0", "all", "none"),
                   help="binary arms: add 1/2 to every cell of a study's arms when one has a "
                   "zero cell (only0, metafor/netmeta default), always, or never")  # fmt: skip
    p.add_argument(
        "--allow-single-arm",
        action="store_true",
        help="accept treatments that appear in one arm of the whole network",
    )
    p.add_argument(
        "--draws",
        type=int,
        default=None,
        help="pymc: draws per chain (default: until 4,000 effective draws)",
    )
    p.add_argument("--seed", type=seed_type, default=20201, help="pymc: random seed")
    p.add_argument("--level", type=float, default=0.95, help="interval level (0.95)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument(
        "--plot",
        default=None,
        metavar="FILE.png",
        help="network graph, forest plot against the reference (and rankogram)",
    )
    p.add_argument("--quiet", action="store_true", help="no progress on stderr")
