"""``bayesmeta sensitivity DATA.csv``: the function the CLI calls.

Its arguments are `bayesmeta.cli_args.add_sensitivity_args` (kept there so that building the
CLI's parser imports nothing heavy); ``bayesmeta.cli`` runs `run_cli`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

if TYPE_CHECKING:
    from bayesmeta.studies import StudyTable

#: The default sweep: the default tau prior's family and the half-Cauchy, each with scales
#: from 0.2 to 4 times the default tau prior's scale (20 values), mu flat
#: (`bayesmeta.defaults`): on a log-ratio scale halfnormal(0.1..2) and halfcauchy(0.1..2).
SWEEP_FACTORS = (0.2, 4.0)
DEFAULT_MU = ("flat",)
#: columns printed for ``--refit`` (those present)
REFIT_SHOWN = (
    "tau_prior", "mu_median", "mu_ci_low", "mu_ci_high", "mu_mcse_median", "exact_mu_median",
    "tau_median", "tau_mcse_median", "exact_tau_median", "divergences", "max_rhat",
    "min_ess_bulk", "compiled",
)  # fmt: skip


def default_sweep(table: StudyTable) -> list[str]:
    """The default tau-prior sweep for ``table`` (see `SWEEP_FACTORS`).

    Examples:
        >>> from bayesmeta.inputs import load_studies
        >>> from bayesmeta.sensitivity.command import default_sweep
        >>> default_sweep(load_studies("crins2014"))
        ['halfnormal(0.1..2, n=20)', 'halfcauchy(0.1..2, n=20)']
    """
    from bayesmeta.defaults import default_priors
    from bayesmeta.priors import parse_prior

    d = default_priors(table.sei, n=table.ni, measure=table.measure)
    scale = parse_prior(d.tau, "tau").params[0]
    lo, hi = (f"{f * scale:.6g}" for f in SWEEP_FACTORS)
    return [f"halfnormal({lo}..{hi}, n=20)", f"halfcauchy({lo}..{hi}, n=20)"]


def run(args: argparse.Namespace) -> pd.DataFrame:
    """The sweep table the sub-command prints (see `run_cli`).

    `bayesmeta.sensitivity.sweep` of the CSV, with ``--prior-predictive`` the columns of
    `bayesmeta.sensitivity.prior_predictive` merged in; ``--plots`` writes the figures.

    Examples:
        >>> import argparse
        >>> import pandas as pd
        >>> from bayesmeta.cli_args import add_sensitivity_args
        >>> from bayesmeta.sensitivity.command import run, run_cli
        >>> pd.DataFrame({"study": ["a", "b", "c"], "yi": [0.1, 0.3, -0.2],
        ...               "vi": [0.04, 0.02, 0.05]}).to_csv("d.csv", index=False)
        >>> p = argparse.ArgumentParser()
        >>> add_sensitivity_args(p)
        >>> args = p.parse_args(["d.csv", "--tau-prior", "halfnormal(0.5..1, n=2)",
        ...                      "--mu-prior", "normal(0, 1)"])
        >>> print(run(args)[["tau_prior", "mu_median", "tau_median"]].round(4))
                 tau_prior  mu_median  tau_median
        0  halfnormal(0.5)     0.1054      0.2279
        1    halfnormal(1)     0.1011      0.2848
    """
    from bayesmeta.cli_args import study_table
    from bayesmeta.outputs import check_output_dir, check_outputs
    from bayesmeta.sensitivity.predictive import prior_predictive
    from bayesmeta.sensitivity.sweep import sweep

    check_outputs({"--csv": args.csv, "--plot": args.plot}, inputs=[args.data])
    check_output_dir(args.plots, option="--plots", inputs=[args.data])
    table = study_table(args)
    taus = list(args.tau_prior or default_sweep(table))
    mus = list(args.mu_prior or DEFAULT_MU)
    if args.plot:
        _plot_reference_posterior(args, table, mus)
    if getattr(args, "refit", None):
        return _refit(args, table, taus, mus)
    df = sweep(table, taus, mus, threshold=args.threshold, level=args.level)
    if args.prior_predictive:
        pp = prior_predictive(taus, table.vi, args.level).drop(columns=["tau_sweep", "tau_value"])
        pp = pp.drop_duplicates("tau_prior")
        attrs = dict(df.attrs) | {"typical_variance": pp.attrs["typical_variance"]}
        df = df.merge(pp, on="tau_prior", how="left", sort=False)
        df.attrs = attrs
    if args.plots:
        from bayesmeta.plots.sensitivity import interval_vs_scale, overlay, tornado
        from bayesmeta.sensitivity.curves import posterior_curves

        out = Path(args.plots)
        if df["tau_value"].notna().any():
            interval_vs_scale(out / "sensitivity_interval.png", df)
        tornado(out / "sensitivity_tornado.png", df)
        if table.subgroup is None:
            overlay(out / "sensitivity_posteriors.png", posterior_curves(table, taus, mus))
    return df


def _plot_reference_posterior(args: argparse.Namespace, table: StudyTable, mus: list[str]) -> None:
    """``--plot``: posterior densities under the default tau prior (and the first mu prior
    when it is not a sweep), with the priors overlaid."""
    from bayesmeta.outputs import atomic_path
    from bayesmeta.posterior import posterior

    mu = mus[0] if ".." not in mus[0] else None
    res = posterior(table, mu_prior=mu, level=args.level)
    with atomic_path(args.plot, inputs=[args.data], option="--plot") as tmp:
        res.plot_posterior().savefig(tmp, dpi=150, format="png")


def _refit(
    args: argparse.Namespace, table: StudyTable, taus: list[str], mus: list[str]
) -> pd.DataFrame:
    """``--refit MODEL``: `refit_sweep`, with the exact medians beside for the normal model."""
    from bayesmeta.errors import InputError
    from bayesmeta.sensitivity.refit import refit_sweep
    from bayesmeta.sensitivity.sweep import sweep

    if len(mus) != 1 or ".." in mus[0]:
        raise InputError("--refit sweeps the tau prior: give one --mu-prior, not a sweep")
    for flag in ("prior_predictive", "plots"):
        if getattr(args, flag):
            raise InputError(f"--{flag.replace('_', '-')} goes with the exact sweep, not --refit")
    df = refit_sweep(
        table, taus, mus[0], model=args.refit, draws=args.draws, tune=args.tune,
        chains=args.chains, seed=args.seed, level=args.level,
        progress=not getattr(args, "quiet", False),
    )  # fmt: skip
    if args.refit == "normal" and table.subgroup is None:
        exact = sweep(table, list(df["tau_prior"]), mus[0], level=args.level)
        df["exact_mu_median"] = exact["mu_median"].to_numpy()
        df["exact_tau_median"] = exact["tau_median"].to_numpy()
    df.attrs["refit"] = args.refit
    return df


def run_cli(args: argparse.Namespace) -> int:
    """Run the sweep, print it (JSON with ``--json``), write ``--csv``/``--plots``; exit 0.

    Examples:
        >>> import argparse
        >>> import pandas as pd
        >>> from bayesmeta.cli_args import add_sensitivity_args
        >>> from bayesmeta.sensitivity.command import run, run_cli
        >>> pd.DataFrame({"study": ["a", "b", "c"], "yi": [0.1, 0.3, -0.2],
        ...               "vi": [0.04, 0.02, 0.05]}).to_csv("d.csv", index=False)
        >>> p = argparse.ArgumentParser()
        >>> add_sensitivity_args(p)
        >>> args = p.parse_args(["d.csv", "--tau-prior", "halfnormal(0.5..1, n=2)",
        ...                      "--mu-prior", "normal(0, 1)"])
        >>> run_cli(args)  # one table row per line (wrapped here)
               tau_prior     mu_prior  mu_median  mu_ci_low  mu_ci_high
                 mu_hdi_width  tau_median  p_mu_below
        halfnormal(0.5) normal(0, 1)     0.1054    -0.3687      0.5129
                       0.8813      0.2279      0.2749
          halfnormal(1) normal(0, 1)     0.1011    -0.5052       0.627
                        1.132      0.2848       0.305
        (level 0.95; p_mu_below = P(mu < 0))
        0
    """
    from bayesmeta.outputs import atomic_path
    from bayesmeta.sensitivity.sweep import to_json

    df = run(args)
    if args.csv:
        with atomic_path(args.csv, inputs=[args.data], option="--csv") as tmp:
            df.to_csv(tmp, index=False)
    if args.json:
        print(to_json(df))
    elif "refit" in df.attrs:
        cols = [c for c in REFIT_SHOWN if c in df.columns]
        sys.stdout.write(df[cols].to_string(index=False, float_format=lambda v: f"{v:.4g}"))
        sys.stdout.write(
            f"\n(PyMC model {df.attrs['refit']}, mu prior {df['mu_prior'].iloc[0]}, "
            f"{df.attrs['chains']} chains x {df.attrs['draws']} draws, seed {df.attrs['seed']}; "
            f"central {args.level:g} intervals; mcse = MCSE of the median; exact_* = the "
            "exact engine, for comparison)\n"
        )
    else:
        cols = ["tau_prior", "mu_prior", "mu_median", "mu_ci_low", "mu_ci_high",
                "mu_hdi_width", "tau_median", "p_mu_below"]  # fmt: skip
        if df["subgroup"].astype(bool).any():
            cols.insert(2, "subgroup")
        pd.set_option("display.width", 160)
        sys.stdout.write(df[cols].to_string(index=False, float_format=lambda v: f"{v:.4g}"))
        sys.stdout.write(f"\n(level {args.level:g}; p_mu_below = P(mu < {args.threshold:g}))\n")
    return 0
