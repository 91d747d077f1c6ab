"""``bayesmeta sensitivity DATA.csv``: arguments and the function the CLI calls.

The lead wires it as::

    p = sub.add_parser("sensitivity", help="prior sensitivity sweep (exact engine)")
    from bayesmeta.sensitivity.command import add_arguments, run_cli
    add_arguments(p)            # then COMMANDS["sensitivity"] = run_cli
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

DEFAULT_TAU = ("halfnormal(0.1..2, n=20)", "halfcauchy(0.1..2, n=20)")
DEFAULT_MU = ("normal(0, 4)",)


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The sub-command's arguments (defaults: tau priors `DEFAULT_TAU`, mu prior `DEFAULT_MU`).

    Examples:
        >>> import argparse
        >>> from bayesmeta.sensitivity.command import add_arguments
        >>> p = argparse.ArgumentParser()
        >>> add_arguments(p)
        >>> a = p.parse_args(["data.csv", "--tau-prior", "turner", "--threshold", "0.2"])
        >>> a.tau_prior, a.mu_prior, a.threshold, a.level
        (['turner'], None, 0.2, 0.95)
    """
    p.add_argument("data", help="CSV with study, yi and vi or sei")
    p.add_argument(
        "--tau-prior",
        action="append",
        default=None,
        metavar="SWEEP",
        help='tau prior or sweep, repeatable, e.g. "halfnormal(0.1..2, n=20)", '
        '"turner" (default: halfnormal and halfcauchy scales 0.1..2, n=20)',
    )
    p.add_argument(
        "--mu-prior",
        action="append",
        default=None,
        metavar="SWEEP",
        help='mu prior or sweep, repeatable, e.g. "normal(0, 1..10, n=5)" (default normal(0, 4))',
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
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--csv", default=None, metavar="FILE", help="also write the table as CSV")
    p.add_argument("--plots", default=None, metavar="DIR",
                   help="write sensitivity_interval.png, sensitivity_tornado.png, "
                        "sensitivity_posteriors.png")  # fmt: skip


def run(args: argparse.Namespace) -> pd.DataFrame:
    """The sweep table the sub-command prints (see `run_cli`).

    `bayesmeta.sensitivity.sweep` of the CSV, with ``--prior-predictive`` the columns of
    `bayesmeta.sensitivity.prior_predictive` merged in; ``--plots`` writes the figures.

    Examples:
        >>> import argparse
        >>> import pandas as pd
        >>> from bayesmeta.sensitivity.command import add_arguments, run, run_cli
        >>> pd.DataFrame({"study": ["a", "b", "c"], "yi": [0.1, 0.3, -0.2],
        ...               "vi": [0.04, 0.02, 0.05]}).to_csv("d.csv", index=False)
        >>> p = argparse.ArgumentParser()
        >>> add_arguments(p)
        >>> args = p.parse_args(["d.csv", "--tau-prior", "halfnormal(0.5..1, n=2)",
        ...                      "--mu-prior", "normal(0, 1)"])
        >>> print(run(args)[["tau_prior", "mu_median", "tau_median"]].round(4))
                 tau_prior  mu_median  tau_median
        0  halfnormal(0.5)     0.1054      0.2279
        1    halfnormal(1)     0.1011      0.2848
    """
    from bayesmeta.sensitivity.predictive import prior_predictive
    from bayesmeta.sensitivity.sweep import sweep
    from bayesmeta.studies import StudyTable

    table = StudyTable.read_csv(args.data, subgroup=args.subgroup)
    taus = list(args.tau_prior or DEFAULT_TAU)
    mus = list(args.mu_prior or DEFAULT_MU)
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


def run_cli(args: argparse.Namespace) -> int:
    """Run the sweep, print it (JSON with ``--json``), write ``--csv``/``--plots``; exit 0.

    Examples:
        >>> import argparse
        >>> import pandas as pd
        >>> from bayesmeta.sensitivity.command import add_arguments, run, run_cli
        >>> pd.DataFrame({"study": ["a", "b", "c"], "yi": [0.1, 0.3, -0.2],
        ...               "vi": [0.04, 0.02, 0.05]}).to_csv("d.csv", index=False)
        >>> p = argparse.ArgumentParser()
        >>> add_arguments(p)
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
    from bayesmeta.sensitivity.sweep import to_json

    df = run(args)
    if args.csv:
        Path(args.csv).parent.mkdir(parents=True, exist_ok=True)
        df.to_csv(args.csv, index=False)
    if args.json:
        print(to_json(df))
    else:
        cols = ["tau_prior", "mu_prior", "mu_median", "mu_ci_low", "mu_ci_high",
                "mu_hdi_width", "tau_median", "p_mu_below"]  # fmt: skip
        if df["subgroup"].astype(bool).any():
            cols.insert(2, "subgroup")
        pd.set_option("display.width", 160)
        sys.stdout.write(df[cols].to_string(index=False, float_format=lambda v: f"{v:.4g}"))
        sys.stdout.write(f"\n(level {args.level:g}; p_mu_below = P(mu < {args.threshold:g}))\n")
    return 0
