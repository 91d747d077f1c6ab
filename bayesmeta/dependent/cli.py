"""The ``bayesmeta pool --cluster`` command's input checks and model choice."""

from __future__ import annotations

import argparse
from typing import Any

from bayesmeta.errors import InputError


def pool_dependent(args: argparse.Namespace) -> tuple[Any, Any]:
    """(result, study table) of ``pool --cluster COL [--robust] [--outcome ...]``.

    Examples:
        >>> import argparse
        >>> from bayesmeta.dependent.cli import pool_dependent
        >>> a = argparse.Namespace(cluster=None, outcome=None, robust="CR2", rho=None)
        >>> pool_dependent(a)
        Traceback (most recent call last):
        ...
        bayesmeta.errors.InputError: option --robust: give the cluster column (--cluster COL)
    """
    from bayesmeta.dependent.api import multilevel, multivariate, random_effects_robust
    from bayesmeta.dependent.vcalc import check_rho
    from bayesmeta.inputs import load_studies, parse_columns

    if not args.cluster:
        what = "--outcome" if args.outcome else "--rho" if args.rho is not None else "--robust"
        raise InputError(f"option {what}: give the cluster column (--cluster COL)")
    if args.subgroup or args.preset or args.ci or args.tau2_common:
        raise InputError("option --cluster: not with --subgroup, --preset, --ci or "
                         "--tau2-common")  # fmt: skip
    method = str(args.method or "REML").upper()
    robust = None if args.robust is None else str(args.robust).upper()
    if robust not in (None, "CR1", "CR2"):
        raise InputError(f"option --robust: CR2 or CR1, not {args.robust!r}")
    mods = [c.strip() for c in args.mods.split(",")] if args.mods else []
    if args.outcome:
        if args.rho is None:
            raise InputError("option --outcome: give --rho, the within-cluster correlation of "
                             "the outcomes' sampling errors")  # fmt: skip
        check_rho(args.rho)
        if mods:
            raise InputError("option --mods: not with --outcome (the outcomes are the "
                             "coefficients)")  # fmt: skip
    elif args.rho is not None:
        raise InputError("option --rho: only with --outcome")
    if method not in ("REML", "ML"):
        raise InputError(f"option --method: REML or ML with --cluster, not {args.method}")
    table = load_studies(args.data, measure=args.measure, columns=parse_columns(args.columns),
                         subgroup=args.outcome, cluster=args.cluster, covariates=mods)  # fmt: skip
    assert table.cluster is not None
    cluster = table.cluster.tolist()
    if robust and len(set(cluster)) < 2:
        raise InputError(f"option --robust: {len(set(cluster))} cluster in column "
                         f"'{args.cluster}'; cluster-robust tests need at least 2")  # fmt: skip
    if args.outcome:
        assert table.subgroup is not None
        res = multivariate(table.yi, cluster, table.subgroup.tolist(), vi=table.vi,
                           rho=args.rho, struct=args.struct, method=method, level=args.level,
                           robust=robust)  # fmt: skip
    elif args.cluster_model == "re":
        if mods:
            raise InputError("option --mods: with the multilevel model only")
        res = random_effects_robust(table.yi, table.vi, cluster, robust=robust or "CR2",
                                    level=args.level, method=method)  # fmt: skip
    else:
        X = table.covariates.to_numpy(float) if mods else None
        res = multilevel(table.yi, table.vi, cluster, table.study.tolist(), mods=X,
                         mod_names=mods or None, method=method, level=args.level,
                         robust=robust, labels=(args.cluster, f"{args.cluster}/study"))  # fmt: skip
    return res, table


def posterior_dependent(args: argparse.Namespace) -> Any:
    """``posterior --cluster COL [--outcome OCOL --rho R] --engine pymc``: the Bayesian
    multilevel or multivariate model (`bayesmeta.hierarchical.dependent`).

    Examples:
        >>> import argparse
        >>> from bayesmeta.dependent.cli import posterior_dependent
        >>> a = argparse.Namespace(cluster="c", outcome=None, rho=None, engine="exact")
        >>> posterior_dependent(a)
        Traceback (most recent call last):
        ...
        bayesmeta.errors.InputError: option --cluster: the dependent models run on the PyMC ...
    """
    from bayesmeta.dependent.vcalc import check_rho, vcalc
    from bayesmeta.inputs import load_studies, parse_columns

    if not args.cluster:
        raise InputError("option --outcome/--rho: give the cluster column (--cluster COL)")
    if args.engine != "pymc":
        raise InputError("option --cluster: the dependent models run on the PyMC engine "
                         "(--engine pymc)")  # fmt: skip
    if args.subgroup or args.priors or args.average or args.likelihood != "normal":
        raise InputError("option --cluster: not with --subgroup, --priors, --average or "
                         "--likelihood binomial")  # fmt: skip
    if args.mu_prior is not None:
        raise InputError("option --mu-prior: the dependent models take flat coefficients")
    if args.outcome and args.rho is None:
        raise InputError("option --outcome: give --rho, the within-cluster correlation of "
                         "the outcomes' sampling errors")  # fmt: skip
    if args.rho is not None and not args.outcome:
        raise InputError("option --rho: only with --outcome")
    table = load_studies(args.data, measure=args.measure, columns=parse_columns(args.columns),
                         subgroup=args.outcome, cluster=args.cluster)  # fmt: skip
    assert table.cluster is not None
    cluster = table.cluster.tolist()
    common = {
        "level": args.level,
        "draws": args.draws,
        "chains": args.chains,
        "seed": args.seed,
        "progress": not args.quiet and __import__("sys").stderr.isatty(),
    }
    if args.outcome:
        from bayesmeta.hierarchical.dependent import multivariate_posterior

        assert table.subgroup is not None
        V = vcalc(table.vi, cluster, table.subgroup.tolist(), check_rho(args.rho))
        return multivariate_posterior(table.yi, V, cluster, table.subgroup.tolist(),
                                      tau_prior=args.tau_prior, target_accept=0.95,
                                      **common)  # fmt: skip
    from bayesmeta.hierarchical.dependent import multilevel_posterior

    return multilevel_posterior(table.yi, table.vi, cluster, sigma_prior=args.tau_prior,
                                **common)  # fmt: skip
