"""The ``bayesmeta`` command line.

Sub-commands: ``pool`` (classical), ``posterior`` (exact or PyMC), ``datasets``,
``reproduce`` (the reference review's re-analysis), ``sensitivity`` (prior sweeps),
``simulate`` (simulation studies on Dask), ``corpus`` (a body of reviews), ``priors``
(empirical priors learned from a corpus; the published ones). Bad input prints one line
naming file, row and column to stderr and exits with code 2; heavy modules
(PyMC) are imported only by the sub-commands that need them.
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from collections.abc import Sequence
from typing import Any, NoReturn

from bayesmeta import __version__
from bayesmeta.cli_args import (
    PRIOR_HELP,
    add_data_args,
    add_dependent_args,
    add_network_args,
    add_plot_arg,
    add_priors_args,
    add_sensitivity_args,
    add_simulate_args,
    seed_type,
    study_table,
)
from bayesmeta.errors import ConvergenceError, InputError

EXIT_INPUT = 2


class _Parser(argparse.ArgumentParser):
    """argparse with a one-line error message (exit 2), no usage dump."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_INPUT, f"{self.prog}: error: {message} (see --help)\n")


def _add_interval_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--level", type=float, default=0.95, help="interval level (default 0.95)")
    p.add_argument("--json", action="store_true", help="print one JSON object")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="bayesmeta", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"bayesmeta {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = sub.add_parser(
        "effects", help="effect sizes yi/vi from raw columns (metafor escalc), as CSV"
    )
    add_data_args(p)
    p.add_argument("--out", default=None, metavar="FILE", help="write CSV here (default stdout)")

    p = sub.add_parser(
        "credibility",
        help="Analysis of Credibility of published intervals (Matthews 2018; Held 2019)",
    )
    p.add_argument(
        "table", nargs="?", default=None,
        help="CSV with ci_low and ci_high columns (one published interval per row)",
    )  # fmt: skip
    p.add_argument("--ci", nargs=2, type=float, default=None, metavar=("LO", "HI"),
                   help="one interval instead of a table")  # fmt: skip
    p.add_argument("--level", type=float, default=0.95, help="the intervals' level (0.95)")
    p.add_argument("--ratio", action="store_true", help="ratio measure (OR, RR, HR): log scale")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument("--out", default=None, metavar="FILE", help="table mode: write CSV here")

    p = sub.add_parser(
        "bias", help="small-study effects (Egger, rank test, trim-and-fill, PET-PEESE) and BMA"
    )
    add_data_args(p)
    add_plot_arg(p, "the contour-enhanced funnel plot with trim-and-fill, Egger and PET-PEESE "
                    "lines")  # fmt: skip
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument(
        "--steps", type=float, nargs="+", default=[0.025], metavar="P",
        help="selection model: p-value cut points (default 0.025, as metafor's selmodel "
        "examples and Vevea & Hedges 1995; 1 is added)",
    )  # fmt: skip
    p.add_argument(
        "--alternative", default="greater", choices=("greater", "less", "two.sided"),
        help="selection model: the p values' direction (default greater, as metafor)",
    )  # fmt: skip
    p.add_argument(
        "--bma-plot",
        default=None,
        metavar="FILE.png",
        help="write the prior and posterior model probabilities as a bar chart",
    )

    p = sub.add_parser(
        "corpus",
        help="re-analyse a whole corpus: RevMan files, data packages, folders, long tables",
        epilog="Priors: " + PRIOR_HELP,
    )
    p.add_argument(
        "inputs",
        nargs="+",
        metavar="INPUT",
        help=".rm5 files, Cochrane data packages (ZIP or folder), folders holding "
        "them (searched recursively), long tables (CSV or Parquet: analysis, study, "
        "yi and vi or sei, or raw columns with --measure or a measure column)",
    )
    p.add_argument(
        "--out",
        required=True,
        metavar="DIR",
        help="analyses.parquet/.csv, summary.md/.html, figures, manifest.json",
    )
    p.add_argument(
        "--measure",
        default=None,
        help="measure of raw columns in long tables without a measure column",
    )
    p.add_argument(
        "--tau-prior",
        default=None,
        help="tau prior for every analysis (default: each analysis's scale-safe "
        "default: half-normal(0.5) on log ratios, half-normal(0.5 x unit-information "
        "SD) with sample sizes, else half-Cauchy(harmonic-mean SE))",
    )
    p.add_argument(
        "--mu-prior",
        default=None,
        help="flat (default) or normal(m, s) for every analysis; model averaging "
        "uses it if normal, else normal(0, 1) on log ratios, normal(0, UISD) or "
        "normal(0, 10 x harmonic-mean SE)",
    )
    p.add_argument(
        "--workers",
        type=int,
        default=None,
        help="local Dask workers (default: one per CPU; 0: this process)",
    )
    p.add_argument(
        "--scheduler",
        default=None,
        metavar="ADDRESS",
        help="run on an existing dask.distributed scheduler (tcp://host:port)",
    )
    p.add_argument("--chunk-size", type=int, default=5000, help="analyses per task (5000)")
    p.add_argument(
        "--keep-going",
        action="store_true",
        help="record an unreadable RevMan input in the manifest and go on",
    )
    p.add_argument("--level", type=float, default=0.95, help="interval level (0.95)")
    p.add_argument("--quiet", action="store_true", help="no progress on stderr")  # fmt: skip

    p = sub.add_parser(
        "revman",
        help="recompute every analysis of a RevMan 5 file (.rm5, CSV export) or a Cochrane "
        "data package (RevMan Web)",
    )
    p.add_argument("file", help="RevMan 5 review (.rm5), RevMan's CSV export of analyses, or "
                   "a Cochrane data package (the ZIP, the Cochrane Library's ZIP, or the "
                   "unpacked folder)")  # fmt: skip
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument(
        "--out", default=None, metavar="DIR",
        help="also write report.md/.html: RevMan's result, Cochrane 2025 (REML, HKSJ, PI) and "
        "the exact Bayesian re-analysis (default priors) of every analysis, with forest plots",
    )  # fmt: skip

    p = sub.add_parser("pool", help="classical meta-analysis (metafor / RevMan numbers)")
    add_data_args(p)
    add_plot_arg(p)
    p.add_argument(
        "--method", default=None,
        help="FE|DL|REML|PM|EB|SJ|HE|ML (default REML), or MH|PETO: Mantel-Haenszel / Peto "
        "fixed-effect pooling of 2x2 counts (ai, ci and n1i, n2i or bi, di; --measure OR|RR|RD)",
    )  # fmt: skip
    p.add_argument(
        "--rd-variance", default="sato", choices=("sato", "greenland-robins"),
        help="MH risk difference variance: sato (metafor, default) or greenland-robins (RevMan 5)",
    )  # fmt: skip
    p.add_argument("--ci", default=None, help="wald|hksj (default wald)")
    p.add_argument("--subgroup", default=None, metavar="COL", help="subgroup column")
    p.add_argument(
        "--tau2-common", action="store_true", help="one tau^2 across subgroups (default separate)"
    )
    p.add_argument("--preset", default=None, help="revman5|revman5-rule|cochrane2025")
    add_dependent_args(p)
    _add_interval_args(p)

    p = sub.add_parser(
        "posterior", help="Bayesian random-effects posterior", epilog="Priors: " + PRIOR_HELP
    )
    add_data_args(p)
    add_plot_arg(p)
    p.add_argument("--engine", default="exact", help="exact|pymc (default exact)")
    p.add_argument("--mu-prior", default=None, help='mu prior, e.g. "normal(0, 4)" (default: flat)')
    p.add_argument(
        "--tau-prior",
        default=None,
        help='tau prior, e.g. "halfcauchy(1)" (default: by the data\'s scale, see below)',
    )
    p.add_argument("--subgroup", default=None, metavar="COL", help="subgroup column")
    p.add_argument(
        "--priors", default=None, metavar="PRIORS.toml",
        help="learned priors (bayesmeta priors learn): tau and mu priors of --setting",
    )  # fmt: skip
    p.add_argument("--setting", default=None, metavar="NAME", help="the setting of --priors")
    p.add_argument("--cluster", default=None, metavar="COL",
                   help="dependent effects (--engine pymc): multilevel model, effects nested "
                   "in clusters (docs/dependent-effects.md)")  # fmt: skip
    p.add_argument("--outcome", default=None, metavar="OCOL",
                   help="with --cluster: multivariate model, V = vcalc(vi, cluster, obs = "
                   "outcome, rho = --rho), LKJ(2) prior on the between-cluster "
                   "correlation")  # fmt: skip
    p.add_argument("--rho", type=float, default=None, help="within-cluster sampling "
                   "correlation of different outcomes (with --outcome)")  # fmt: skip
    p.add_argument("--interval", default="central", help="central|shortest")
    p.add_argument("--draws", type=int, default=2000, help="pymc: draws per chain")
    p.add_argument("--chains", type=int, default=4, help="pymc: chains")
    p.add_argument("--seed", type=seed_type, default=20201, help="pymc: random seed")
    p.add_argument(
        "--quiet", action="store_true",
        help="pymc: no progress bars (shown on stderr only when it is a terminal)",
    )  # fmt: skip
    p.add_argument(
        "--likelihood", default="normal", choices=("normal", "binomial"),
        help="binomial: exact binomial likelihood (PyMC) for --measure PLO (xi, ni: logit "
        "rates) or OR (ai, ci and n1i, n2i or bi, di: binomial-normal model, no continuity "
        "correction); default normal (yi, vi)",
    )  # fmt: skip
    p.add_argument(
        "--average", action="store_true",
        help="Bayesian model averaging over fixed/random effects x effect/no effect by exact "
        "marginal likelihoods (needs proper priors; default mu prior: see docs/bias.md)",
    )  # fmt: skip
    _add_interval_args(p)

    p = sub.add_parser(
        "priors", help="empirical priors: learn them from a corpus, or list the published ones"
    )
    add_priors_args(p)

    p = sub.add_parser(
        "network",
        help="network meta-analysis: classical (metafor rma.mv, REML) and, with --engine pymc, "
        "Bayesian (NICE TSD2)",
    )  # fmt: skip
    add_network_args(p)

    p = sub.add_parser("datasets", help="list the shipped data sets, or show one")
    p.add_argument("name", nargs="?", help="a data set to print with its provenance")

    p = sub.add_parser(
        "sensitivity", help="prior sensitivity sweep (exact engine; --refit MODEL: PyMC refits)"
    )
    add_sensitivity_args(p)

    p = sub.add_parser("simulate", help="simulation study of meta-analysis methods (dask)")
    add_simulate_args(p)

    p = sub.add_parser(
        "reproduce", help="re-analyse a review from its spec (default: Zhang 2020, shipped)"
    )
    p.add_argument(
        "spec", nargs="?", default=None, metavar="SPEC.toml",
        help="a review spec in the format of models/zhang2020.toml (default: that file)",
    )  # fmt: skip
    p.add_argument("--out", default="results", help="output folder (default results/)")
    p.add_argument("--studies", default=None, help="per-arm forest-plot values (template: docs)")
    p.add_argument("--seed", type=seed_type, default=20201, help="random seed")
    p.add_argument(
        "--no-mcmc", action="store_true", help="skip the PyMC cross-checks (exact engine only)"
    )
    p.add_argument("--quiet", action="store_true", help="no progress output")
    return parser


def _print_json(obj: Any) -> None:
    print(json.dumps(obj, indent=2, allow_nan=False))


def _write_plot(args: argparse.Namespace, res: Any, table: Any) -> None:
    """``--plot``: the forest plot of ``res``, the axis named by the table's measure."""
    if args.plot:
        from bayesmeta.outputs import atomic_path

        with atomic_path(args.plot, inputs=[args.data], option="--plot") as tmp:
            fig = res.plot_forest(measure=table.measure, favours=args.favours)
            fig.savefig(tmp, dpi=150, format="png")


def _cmd_credibility(args: argparse.Namespace) -> int:
    from bayesmeta.credibility import credibility

    if (args.table is None) == (args.ci is None):
        raise InputError("give a TABLE of intervals or one interval with --ci LO HI")
    if args.ci is not None:
        c = credibility(*args.ci, level=args.level, ratio=args.ratio)
        if args.json:
            _print_json(c.to_dict())
        else:
            print(c)
        return 0
    from bayesmeta.credibility import credibility_table
    from bayesmeta.outputs import atomic_path
    from bayesmeta.studies import read_table

    out = credibility_table(read_table(args.table), level=args.level, ratio=args.ratio,
                            source=args.table)  # fmt: skip
    if args.json:
        print(out.to_json(orient="records", indent=2))
    elif args.out:
        with atomic_path(args.out, inputs=[args.table], option="--out") as tmp:
            out.to_csv(tmp, index=False)
    else:
        print(out.to_csv(index=False), end="")
    return 0


def _cmd_bias(args: argparse.Namespace) -> int:
    from bayesmeta.classical.bias import small_study_summary
    from bayesmeta.exact.averaging import model_average
    from bayesmeta.outputs import check_outputs

    check_outputs({"--plot": args.plot, "--bma-plot": args.bma_plot}, inputs=[args.data])
    table = study_table(args)
    out = small_study_summary(
        table.yi, table.vi, ni=table.ni, steps=args.steps, alternative=args.alternative
    )
    ma = model_average(table.yi, table.sei, n=table.ni, measure=table.measure)
    out["bma"] = ma.to_dict()
    if args.plot:
        from bayesmeta.classical import pool
        from bayesmeta.outputs import atomic_path
        from bayesmeta.plots.meta import bias_funnel

        with atomic_path(args.plot, inputs=[args.data], option="--plot") as tmp:
            fig = bias_funnel(pool(table, method="REML"), out)
            fig.savefig(tmp, dpi=150, format="png")
    if args.bma_plot:
        from bayesmeta.outputs import atomic_path
        from bayesmeta.plots.meta import model_probability_plot

        with atomic_path(args.bma_plot, inputs=[args.data], option="--bma-plot") as tmp:
            model_probability_plot(ma).savefig(tmp, dpi=150, format="png")
    if args.json:
        _print_json(out)
        return 0
    f = out
    print(f"Small-study effects (k = {f['k']}; metafor regtest / ranktest / trimfill / fsn)\n")
    print(f"  Egger (rma, sei): z = {f['egger_z']:.4f}, p = {f['egger_p']:.4g}; limit "
          f"estimate {f['egger_limit']:.4g} [{f['egger_limit_ci'][0]:.4g}, "
          f"{f['egger_limit_ci'][1]:.4g}]")  # fmt: skip
    print(f"  Egger (weighted lm): t = {f['egger_lm_t']:.4f}, p = {f['egger_lm_p']:.4g}")
    print(f"  rank correlation (Begg): tau = {f['rank_tau']:.4f}, p = {f['rank_p']:.4g}")
    print(f"  trim-and-fill (L0, REML): {f['trimfill_k0']} filled on the "
          f"{f['trimfill_side']}; estimate {f['trimfill_estimate']:.4g} "
          f"[{f['trimfill_ci_low']:.4g}, {f['trimfill_ci_high']:.4g}]")  # fmt: skip
    print(f"  fail-safe N: Rosenthal {f['fsn_rosenthal']:.0f}, Orwin {f['fsn_orwin']:.0f} "
          f"(target half the mean), Rosenberg {f['fsn_rosenberg']:.0f}")  # fmt: skip
    print(f"  PET {f['pet']:.4g} (p = {f['pet_p']:.3g}), PEESE {f['peese']:.4g}: "
          f"PET-PEESE uses {f['pet_peese_choice']}, {f['pet_peese_estimate']:.4g}")  # fmt: skip
    if f["selection"] is None:
        print(f"  selection model: {f['selection_note']}\n")
    else:
        from bayesmeta.classical.selection import SelectionModel

        text = str(SelectionModel.from_dict(f["selection"]))
        print("  " + text.replace("\n", "\n  ") + "\n")
    print(ma)
    for w in f["warnings"]:
        print(f"warning: {w}")
    return 0


def _cmd_revman(args: argparse.Namespace) -> int:
    from bayesmeta.io import compare_all, read_revman
    from bayesmeta.outputs import check_output_dir

    check_output_dir(args.out, option="--out", inputs=[args.file])
    analyses = read_revman(args.file)
    entries = compare_all(analyses)
    if not any(e.get("estimable") for e in entries):
        reasons = sorted({str(e.get("skipped")) for e in entries})
        raise InputError(f"no analysis in the file is estimable ({'; '.join(reasons)})",
                         file=str(args.file))  # fmt: skip
    if args.out:
        from bayesmeta.io.revman_report import write_revman_report

        md, _ = write_revman_report(analyses, args.out, source=str(args.file))
        print(f"wrote {md} and report.html", file=sys.stderr)
    if args.json:
        _print_json({"file": str(args.file), "analyses": entries})
        return 0
    for e in entries:
        sub = f".{e['subgroup']}" if e["subgroup"] else ""
        if e.get("skipped"):
            print(f"{e['comparison']}.{e['outcome']}{sub} {e['name']}\n  skipped: {e['skipped']}")
            continue
        st, rc = e["stored"], e["recomputed"]
        stored = (f"{st['estimate']:.4g} [{st['ci_low']:.4g}, {st['ci_high']:.4g}]"
                  if st["estimate"] is not None else "(nothing stored)")  # fmt: skip
        print(f"{e['comparison']}.{e['outcome']}{sub} {e['name']}")
        flag = "" if e["match"] else "  MISMATCH: " + ", ".join(e["mismatches"][:6])
        print(
            f"  {e['method']} {e['measure']} {e['model']}, k = {e['k']}: RevMan {stored}; "
            f"recomputed {rc['estimate']:.4g} [{rc['ci_low']:.4g}, {rc['ci_high']:.4g}]{flag}"
        )
    done = [e for e in entries if e["match"] is not None]
    bad = sum(not e["match"] for e in done)
    head = f"all {len(done)} analyses match" if not bad else f"{bad} of {len(done)} differ from"
    skipped = len(entries) - len(done)
    tail = f"; {skipped} skipped" if skipped else ""
    print(f"\n{head} RevMan's stored numbers (1e-6 relative, or the file's rounding){tail}")
    return 0


def _cmd_effects(args: argparse.Namespace) -> int:
    from bayesmeta.outputs import atomic_path

    if args.measure is None and not args.columns:
        from bayesmeta.effects import MEASURES

        raise InputError(f"option --measure: give one of {', '.join(MEASURES)}")
    table = study_table(args)
    df = table.to_frame()
    if args.out:
        with atomic_path(args.out, inputs=[args.data], option="--out") as tmp:
            df.to_csv(tmp, index=False)
    else:
        sys.stdout.write(df.to_csv(index=False))
    return 0


def _cmd_pool(args: argparse.Namespace) -> int:
    from bayesmeta.classical import pool
    from bayesmeta.outputs import check_outputs

    check_outputs({"--plot": args.plot}, inputs=[args.data])
    if args.cluster or args.outcome or args.robust or args.rho is not None:
        return _pool_dependent(args)
    if str(args.method or "").upper() in ("MH", "PETO"):
        return _pool_tables(args)
    table = study_table(args)
    res = pool(
        table,
        method=args.method,
        ci=args.ci,
        level=args.level,
        subgroup=args.subgroup is not None,
        tau2_common=args.tau2_common,
        preset=args.preset,
    )
    _write_plot(args, res, table)
    if args.json:
        _print_json(res.to_dict())
    else:
        res.print_summary()
    return 0


def _pool_dependent(args: argparse.Namespace) -> int:
    """``pool --cluster COL [--robust] [--outcome OCOL --rho R --struct S]``: dependent
    effect sizes (`bayesmeta.dependent`)."""
    from bayesmeta.dependent.cli import pool_dependent

    res, table = pool_dependent(args)
    if args.plot:
        from bayesmeta.outputs import atomic_path

        with atomic_path(args.plot, inputs=[args.data], option="--plot") as tmp:
            group = table.subgroup if args.outcome else table.cluster
            fig = res.plot_forest(table.yi, table.vi, group, labels=table.study)
            fig.savefig(tmp, dpi=150, format="png")
    if args.json:
        _print_json(res.to_dict())
    else:
        res.print_summary()
    return 0


def _pool_tables(args: argparse.Namespace) -> int:
    """``pool --method MH|PETO``: fixed-effect pooling of the 2x2 tables themselves."""
    from bayesmeta.classical.mantel_haenszel import pool_tables
    from bayesmeta.inputs import load_tables, parse_columns

    if args.ci not in (None, "wald") or args.preset or args.tau2_common:
        raise InputError("option --method MH/PETO: fixed effect with a Wald interval only "
                         "(no --ci hksj, --preset or --tau2-common)")  # fmt: skip
    df, measure = load_tables(
        args.data, measure=args.measure, columns=parse_columns(args.columns),
        subgroup=args.subgroup,
    )  # fmt: skip
    res = pool_tables(
        df["ai"], df["bi"], df["ci"], df["di"], args.method, measure, study=df["study"],
        subgroup=df["subgroup"] if "subgroup" in df else None, level=args.level,
        rd_variance="greenland-robins" if args.rd_variance == "greenland-robins" else "sato",
    )  # fmt: skip
    if args.plot:
        from bayesmeta.outputs import atomic_path

        with atomic_path(args.plot, inputs=[args.data], option="--plot") as tmp:
            res.plot_forest(favours=args.favours).savefig(tmp, dpi=150, format="png")
    if args.json:
        _print_json(res.to_dict())
    else:
        res.print_summary()
    return 0


def _cmd_posterior(args: argparse.Namespace) -> int:
    from bayesmeta.outputs import check_outputs
    from bayesmeta.posterior import posterior

    check_outputs({"--plot": args.plot}, inputs=[args.data])
    if args.cluster or args.outcome or args.rho is not None:
        from bayesmeta.dependent.cli import posterior_dependent

        post = posterior_dependent(args)
        if args.json:
            _print_json(post.to_dict())
        else:
            print(post)
        return 0
    if args.priors is not None or args.setting is not None:
        from bayesmeta.empirical.learn import load_priors

        if args.priors is None or args.setting is None:
            raise InputError("options --priors and --setting go together")
        if args.tau_prior is not None or args.mu_prior is not None:
            raise InputError("option --priors: give it or --tau-prior/--mu-prior, not both")
        args.tau_prior, args.mu_prior = load_priors(args.priors, args.setting)
    if args.likelihood == "binomial":
        return _posterior_binomial(args)
    table = study_table(args)
    if args.average:
        from bayesmeta.exact.averaging import model_average

        ma = model_average(table.yi, table.sei, mu_prior=args.mu_prior, tau_prior=args.tau_prior,
                           n=table.ni, measure=table.measure, level=args.level)  # fmt: skip
        if args.json:
            _print_json(ma.to_dict())
        else:
            print(ma)
        return 0
    res = posterior(
        table,
        engine=args.engine,
        mu_prior=args.mu_prior,
        tau_prior=args.tau_prior,
        interval=args.interval,
        level=args.level,
        draws=args.draws,
        chains=args.chains,
        seed=args.seed,
        progress=not args.quiet and sys.stderr.isatty(),
    )
    _write_plot(args, res, table)
    if args.json:
        _print_json(res.posterior_dict())
    else:
        res.print_summary()
    return 0


def _posterior_binomial(args: argparse.Namespace) -> int:
    """``posterior --likelihood binomial``: the binomial models of
    `bayesmeta.hierarchical.binomial` on raw counts."""
    from bayesmeta.hierarchical.binomial import BinomialMeta
    from bayesmeta.inputs import load_rates, load_tables, parse_columns

    measure = str(args.measure or "").upper()
    columns = parse_columns(args.columns)
    fit = BinomialMeta(
        "rate" if measure == "PLO" else "2x2", mu_prior=args.mu_prior, tau_prior=args.tau_prior,
        draws=args.draws, chains=args.chains, seed=args.seed, level=args.level,
        progress=not args.quiet and sys.stderr.isatty(),
    )  # fmt: skip
    if measure == "PLO":
        df = load_rates(args.data, columns=columns, subgroup=args.subgroup)
        sub = df["subgroup"] if "subgroup" in df else None
        fit.fit(df["xi"], df["ni"], study=df["study"], subgroup=sub)
    elif measure == "OR":
        df, _ = load_tables(args.data, measure="OR", columns=columns)
        fit.fit(df["ai"], df["ai"] + df["bi"], df["ci"], df["ci"] + df["di"], study=df["study"])
    else:
        raise InputError("option --likelihood binomial: give --measure PLO (rates) or OR (2x2)")
    res = fit.to_result()
    if args.json:
        _print_json(res.posterior_dict())
    else:
        res.print_summary()
    return 0


def _cmd_datasets(args: argparse.Namespace) -> int:
    from bayesmeta import datasets

    if args.name is None:
        listing = datasets.list_datasets()
        for row in listing.itertuples():
            print(f"{row.name:<18} {row.rows:>4} rows  {row.title}")
            print(f"{'':<18}            {str(row.citation).split('. ')[0]}; doi:{row.doi}")
        print("\nbayesmeta datasets NAME prints one with its provenance.")
        return 0
    df = datasets.load(args.name)
    prov = datasets.provenance(args.name)
    print(f"{args.name}: {prov.get('title', '')}")
    print(f"citation: {prov.get('citation', '')}")
    print(df.to_string(index=False))
    return 0


def _cmd_reproduce(args: argparse.Namespace) -> int:
    from bayesmeta.outputs import check_output_dir
    from bayesmeta.review.reanalysis import reproduce

    check_output_dir(args.out, option="--out", inputs=[args.studies, args.spec])
    if args.spec is not None:
        from bayesmeta.review.spec import load_spec

        load_spec(args.spec)  # a bad spec is one line before anything is written
    r = reproduce(
        spec=args.spec,
        out=args.out,
        studies=args.studies,
        seed=args.seed,
        progress=not args.quiet and sys.stderr.isatty(),  # step lines only on a terminal
        mcmc=not args.no_mcmc,
    )
    parts = ", ".join(f"{k} {v:.1f}" for k, v in r.timings.items() if k != "total")
    print(f"wrote {args.out}/report.md and report.html in {r.timings['total']:.1f} s ({parts} s)")
    return 0


def _cmd_sensitivity(args: argparse.Namespace) -> int:
    from bayesmeta.sensitivity.command import run_cli

    return run_cli(args)


def _cmd_corpus(args: argparse.Namespace) -> int:
    from bayesmeta.corpus import run
    from bayesmeta.outputs import check_output_dir
    from bayesmeta.priors import parse_prior

    check_output_dir(
        args.out,
        option="--out",
        inputs=list(args.inputs),
        writes=("analyses.*", "summary.*", "*.png", "manifest.json", "corpus.json", "chunks/*"),
    )
    if args.tau_prior is not None:
        parse_prior(args.tau_prior, "tau")
    if args.mu_prior is not None:
        parse_prior(args.mu_prior, "mu")
    if not 0 < args.level < 1:
        raise InputError(f"level must lie in (0, 1) (got {args.level}) (option --level)")
    table = run(
        args.inputs, args.out, measure=args.measure, tau_prior=args.tau_prior,
        mu_prior=args.mu_prior, level=args.level, workers=args.workers,
        scheduler=args.scheduler, chunk_size=args.chunk_size, keep_going=args.keep_going,
        progress=not args.quiet,
    )  # fmt: skip
    ok = int((table["status"] == "ok").sum())
    print(f"wrote {args.out}/analyses.parquet, analyses.csv, summary.md: {len(table)} analyses, "
          f"{ok} re-analysed, {len(table) - ok} skipped", file=sys.stderr)  # fmt: skip
    return 0


def _cmd_priors(args: argparse.Namespace) -> int:
    if args.action == "published":
        from bayesmeta.empirical.published import bartos_table

        t = bartos_table()
        if args.type:
            t = t[t["type"].str.lower() == args.type.lower()]
        if args.json:
            _print_json(t[["subfield", "type", "parameter", "prior"]].to_dict("records"))
        else:
            print("Bartoš et al. (2021 Stat Med 40:6743; 2023 arXiv:2306.11468) subfield priors "
                  "(R RoBMA prior_informed); use as --tau-prior/--mu-prior "
                  "'bartos(subfield, type)'")  # fmt: skip
            wide = t.pivot_table(index=["subfield", "type"], columns="parameter",
                                 values="prior", aggfunc="first")  # fmt: skip
            print(wide.to_string())
        return 0
    from bayesmeta.corpus.run import gather
    from bayesmeta.corpus.sources import expand
    from bayesmeta.empirical.learn import check_by_constant, learn_priors
    from bayesmeta.outputs import atomic_path, check_output_dir

    by = [c.strip() for c in args.by.split(",") if c.strip()] if args.by else []
    if not 0 < args.holdout <= 0.9:
        raise InputError(f"option --holdout: must lie in (0, 0.9] (got {args.holdout})")
    if args.draws < 100:
        raise InputError(f"option --draws: at least 100 (got {args.draws})")
    check_output_dir(args.out, option="--out", inputs=list(args.inputs),
                     writes=("priors.toml", "priors.json", "tau_prior_*.png"))  # fmt: skip
    for path, kind in expand(list(args.inputs)):
        if kind == "table":
            check_by_constant(path, by)
    analyses, records = gather(list(args.inputs), args.measure)
    res = learn_priors(analyses, by, holdout=args.holdout, seed=args.seed,
                       tau_model=args.tau_model, nu=args.df, draws=args.draws,
                       progress=not args.quiet and sys.stderr.isatty(), inputs=records)  # fmt: skip
    res.write(args.out)
    from pathlib import Path

    for i, (name, st) in enumerate(res.settings.items()):
        if st.fit is not None:
            slug = "".join(c if c.isalnum() else "_" for c in name)
            with atomic_path(Path(args.out) / f"tau_prior_{i + 1}_{slug}.png",
                             option="--out") as tmp:  # fmt: skip
                res.plot_tau_prior(name).savefig(tmp, dpi=120, format="png")
    refused = [s.reason for s in res.settings.values() if s.fit is None]
    for reason in refused:
        print(f"bayesmeta priors learn: {reason}", file=sys.stderr)
    if args.json:
        _print_json(res.to_dict())
    else:
        print(res)
    print(f"wrote {args.out}/priors.toml, priors.json and the tau-prior plots", file=sys.stderr)
    return 0


def _cmd_network(args: argparse.Namespace) -> int:
    from bayesmeta.network.api import network
    from bayesmeta.network.data import read_network
    from bayesmeta.outputs import atomic_path, check_outputs
    from bayesmeta.priors import parse_prior

    check_outputs({"--plot": args.plot}, inputs=[args.file])
    if args.tau_prior is not None:
        parse_prior(args.tau_prior, "tau")
    if args.engine not in ("classical", "pymc"):
        raise InputError(f"option --engine: pymc (the classical analysis always runs), not "
                         f"{args.engine!r}")  # fmt: skip
    c = read_network(args.file, args.measure, add_to=args.add_to,
                     allow_single_arm=args.allow_single_arm)  # fmt: skip
    res = network(c, reference=args.reference, method=args.method, level=args.level,
                  smaller_better=args.smaller_better,
                  engine=args.engine if args.engine == "pymc" else None,
                  tau_prior=args.tau_prior, draws=args.draws, seed=args.seed,
                  progress=not args.quiet and sys.stderr.isatty())  # fmt: skip
    if args.plot:
        with atomic_path(args.plot, inputs=[args.file], option="--plot") as tmp:
            res.plot().savefig(tmp, dpi=130, format="png")
    if args.json:
        _print_json(res.to_dict())
    else:
        res.print_summary()
    return 0


def _cmd_simulate(args: argparse.Namespace) -> int:
    from bayesmeta.simulate import run_cli

    return run_cli(args)


COMMANDS = {
    "bias": _cmd_bias,
    "credibility": _cmd_credibility,
    "revman": _cmd_revman,
    "effects": _cmd_effects,
    "sensitivity": _cmd_sensitivity,
    "simulate": _cmd_simulate,
    "corpus": _cmd_corpus,
    "priors": _cmd_priors,
    "network": _cmd_network,
    "pool": _cmd_pool,
    "posterior": _cmd_posterior,
    "datasets": _cmd_datasets,
    "reproduce": _cmd_reproduce,
}


EXIT_INTERRUPT = 130


def _oneline(text: str) -> str:
    """Control characters (newlines in a file name, say) shown escaped, on one line."""
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode() for c in text)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``bayesmeta`` console script; returns the exit code.

    Bad input (`InputError`, a file that cannot be read or written, a number out of range)
    prints one line and returns 2; an interrupt prints one line and returns 130.
    """
    try:
        args = _parser().parse_args(argv)
    except KeyboardInterrupt:
        print("bayesmeta: interrupted", file=sys.stderr)
        return EXIT_INTERRUPT
    prefix = f"bayesmeta {args.command}: error:"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("default")
            return COMMANDS[args.command](args)
    except InputError as exc:
        print(f"{prefix} {_oneline(exc.oneline())}", file=sys.stderr)
        return EXIT_INPUT
    except ConvergenceError as exc:
        print(f"{prefix} {_oneline(str(exc))}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"bayesmeta {args.command}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPT
    except BrokenPipeError:  # pragma: no cover - e.g. piped into head
        return 0
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        where = "" if exc.filename is None else f"{_oneline(str(exc.filename))}: "
        print(f"{prefix} {where}{reason}", file=sys.stderr)
        return EXIT_INPUT
    except (OverflowError, MemoryError) as exc:
        print(f"{prefix} numbers out of range for this computation ({exc})", file=sys.stderr)
        return EXIT_INPUT


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
