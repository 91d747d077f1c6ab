# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Prior sensitivity and a simulation study
#
# With few studies the data say little about the between-study SD tau, so the tau prior
# matters. This tutorial asks two questions of one small meta-analysis:
#
# 1. **How much does the answer depend on the prior?** The exact engine makes a sweep over
#    dozens of priors take well under a second; power-scaling and importance reweighting do
#    the same for a PyMC fit without refitting.
# 2. **How well do the methods behave with this few studies?** A small simulation study
#    measures the coverage and width of classical and Bayesian intervals.
#
# The data are Crins et al. (2014): 6 trials of IL-2 receptor antagonists in paediatric liver
# transplantation, acute rejection as a log odds ratio. It is the running example of R
# `bayesmeta` (Röver 2020, *J Stat Softw* 93(6)), which makes every number here comparable
# with R.
#
# This page is a text notebook (jupytext, percent format), executed when the documentation is
# built and by the test suite, on small settings so it runs in about a minute.

# %%
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd

pd.set_option("display.width", 120)
pd.set_option("display.max_columns", 12)
OUT = Path(tempfile.mkdtemp(prefix="bayesmeta-sensitivity-"))

# %% [markdown]
# ## The data: log odds ratios of acute rejection

# %%
from bayesmeta import StudyTable, datasets
from bayesmeta.effects import log_or

crins = datasets.load("crins2014")
es = log_or(
    crins["exp.AR.events"], ci=crins["cont.AR.events"],
    n1i=crins["exp.total"], n2i=crins["cont.total"],
)  # fmt: skip
table = StudyTable.from_arrays(es.yi, vi=es.vi, study=crins["publication"])
pd.DataFrame({"study": table.study, "log OR": table.yi, "SE": table.sei}).round(3)

# %% [markdown]
# The classical answers for reference: REML with a Knapp-Hartung interval (as metafor),
# and DerSimonian-Laird with a Wald interval (as RevMan 5).

# %%
from bayesmeta.classical import pool

for res in (pool(table, method="REML", ci="hksj"), pool(table, preset="revman5")):
    print(
        f"{res.method:>5} {res.ci_method:>5}: log OR {res.estimate:.3f} "
        f"[{res.ci_low:.3f}, {res.ci_high:.3f}], tau = {res.tau:.3f}"
    )

# %% [markdown]
# ## What the candidate priors say before the data
#
# A tau prior is easier to judge on the scale of its consequences: the range of study
# effects it allows around mu (the half-width h with P(|theta_i - mu| <= h) = 95 %) and the
# I^2 it implies for studies of this size. `prior_predictive` reports both. `turner` is the
# Turner et al. (2015) empirical prior for a log OR (general setting), on tau.

# %%
from bayesmeta.sensitivity import prior_predictive

pp = prior_predictive(
    ["halfnormal(0.5)", "halfnormal(1)", "halfcauchy(0.5)", "halfcauchy(1)", "turner"], table.vi
)
pp[["tau_prior", "prior_tau_median", "prior_tau_high", "prior_delta_half_width",
    "prior_i2_median"]].round(3)  # fmt: skip

# %% [markdown]
# ## A sweep over 40 priors with the exact engine
#
# `sweep()` fits the normal-normal model under every prior of a grid. The grammar
# `family(low..high, n=N)` spans the scale; each row is the exact posterior (1-D integration
# over tau, checked against R `bayesmeta` in the test suite).

# %%
import time

from bayesmeta.sensitivity import sweep

t0 = time.perf_counter()
res = sweep(
    table,
    tau_priors=["halfnormal(0.1..2, n=20)", "halfcauchy(0.1..2, n=20)"],
    mu_priors="normal(0, 4)",
    threshold=0.0,
)
print(f"{len(res)} exact posteriors in {time.perf_counter() - t0:.2f} s")
columns = ["tau_prior", "mu_median", "mu_ci_low", "mu_ci_high", "tau_median", "p_mu_below"]
res[columns].iloc[::5].round(3)

# %%
fig, axes = plt.subplots(1, 2, figsize=(10, 3.6), sharex=True)
for (family, g), colour in zip(res.groupby("tau_family"), ["tab:blue", "tab:orange"], strict=True):
    for ax, q in zip(axes, ["mu", "tau"], strict=True):
        ax.plot(g["tau_value"], g[f"{q}_median"], color=colour, label=f"{family}")
        ax.fill_between(
            g["tau_value"], g[f"{q}_ci_low"], g[f"{q}_ci_high"], color=colour, alpha=0.15
        )
axes[0].axhline(0, color="0.5", lw=0.8, ls="--")
axes[0].set_ylabel("mu (log OR): median and 95% interval")
axes[1].set_ylabel("tau: median and 95% interval")
for ax in axes:
    ax.set_xlabel("prior scale of tau")
axes[0].legend(frameon=False)
fig.tight_layout()
plt.show()

# %% [markdown]
# The conclusion that IL-2RA lowers the odds of acute rejection (P(mu < 0), column
# `p_mu_below`) holds over the whole grid; how *sure* the interval is depends on the prior
# scale, more for the heavy-tailed half-Cauchy. The posterior densities under a few of the
# priors show where they differ:

# %%
from bayesmeta.sensitivity.curves import posterior_curves

curves = posterior_curves(table, ["halfnormal(0.25)", "halfnormal(1)", "halfcauchy(1)", "turner"])
fig, axes = plt.subplots(1, 2, figsize=(10, 3.4))
for c in curves:
    axes[0].plot(*c.mu, label=c.tau_prior)
    axes[1].plot(*c.tau, label=c.tau_prior)
axes[0].set_xlabel("mu (log OR)")
axes[1].set_xlabel("tau")
axes[0].set_ylabel("posterior density")
axes[1].legend(frameon=False, fontsize=8)
fig.tight_layout()
plt.show()

# %% [markdown]
# ## The same questions for a PyMC fit, without refitting
#
# Models outside the exact engine's reach are fitted by MCMC. Refitting for every prior is
# expensive, so two tools work from one fit's draws:
#
# * `power_sensitivity` (Kallioinen et al. 2024): raises the prior to a power near 1 and
#   measures how much the posterior moves; values above 0.05 flag prior-sensitive quantities;
# * `reweight`: importance sampling of the draws to other tau priors, with Pareto k and the
#   effective sample size telling when the reweighted answer cannot be trusted.
#
# Small settings here (2 chains of 1000 draws). The exact engine is the oracle: each
# reweighted posterior mean of mu should sit within a few Monte Carlo SEs of the exact one.

# %%
from bayesmeta.hierarchical import BayesianMeta
from bayesmeta.sensitivity.mcmc import power_sensitivity, reweight

fit = BayesianMeta(
    tau_prior="halfnormal(0.5)", mu_prior="normal(0, 4)", draws=1000, tune=1000, chains=2, seed=7
).fit(table)
print(fit.to_result().describe())
power_sensitivity(fit).round(3)

# %%
rw = reweight(fit, ["halfnormal(0.25)", "halfnormal(0.75)", "halfnormal(1)", "halfcauchy(0.5)"])
exact = sweep(table, tau_priors=list(rw["tau_prior"]), mu_priors="normal(0, 4)")
check = pd.DataFrame(
    {
        "tau prior": rw["tau_prior"],
        "Pareto k": rw["pareto_k"],
        "IS ESS": rw["ess_is"],
        "refit?": rw["refit"],
        "mu mean (reweighted)": rw["mu_mean"],
        "MCSE": rw["mu_mcse_mean"],
        "mu mean (exact)": exact["mu_mean"].to_numpy(),
    }
)
diff = check["mu mean (reweighted)"] - check["mu mean (exact)"]
check["difference / MCSE"] = diff / check["MCSE"]
check.round(3)

# %% [markdown]
# ## How well do the methods cover with k = 3 to 10 studies?
#
# A simulation study is declared as a spec (TOML file or dict; see
# [simulation studies](../simulate.md)): scenarios of k, mu and tau, the methods, and a seed
# from which every replicate's random stream is derived, so results do not depend on the
# number of workers. Here a small one runs in this process (`workers=0`); `workers=None`
# would spread it over a local Dask cluster and `bayesmeta simulate spec.toml` does the same
# from the command line.

# %%
from bayesmeta.simulate import parse_spec, run_study

spec = parse_spec(
    {
        "study": {
            "name": "tutorial",
            "seed": 2026,
            "replicates": 400,
            "bayes_replicates": 100,
            "chunk_size": 100,
            "methods": ["DL-Wald", "REML-HKSJ", "review-rule"],
        },
        "bayes": [
            {"name": "bayes-HN0.5", "tau_prior": "halfnormal(0.5)", "mu_prior": "normal(0, 4)"}
        ],
        "scenarios": [
            {
                "name": "crins-like",
                "k": [3, 6, 10],
                "mu": -1.0,
                "tau": [0.0, 1.0],
                "se": {"dist": "uniform", "low": 0.4, "high": 1.2},
            }
        ],
    },
    source="tutorial",
)
t0 = time.perf_counter()
metrics = run_study(spec, OUT / "sim", workers=0, progress=False)
print(f"{len(spec.chunks())} chunks in {time.perf_counter() - t0:.1f} s")
metrics[["k", "tau", "method", "n", "coverage", "coverage_mcse", "width_mean"]].round(3)

# %% [markdown]
# Each coverage comes with its Monte Carlo SE (about 0.011 for 400 replicates at 95 %, 0.022
# for the 100 Bayesian ones): read a coverage against 0.95 +/- 2 MCSE, and raise `replicates`
# before drawing conclusions. What to look for: with tau > 0 the Wald interval of
# DerSimonian-Laird ignores the uncertainty in tau^2 and is expected to undercover at small k;
# the Knapp-Hartung (HKSJ) interval is built to hold its level, at the price of width (compare
# `width_mean`); the review's rule switches to a fixed-effect interval whenever Cochran's Q is
# not significant, which at small k is often even when tau > 0. A Bayesian interval is
# calibrated on average over its prior (checked by the simulation-based calibration in
# `models/simulate_review.toml`), not at every fixed tau.

# %%
from bayesmeta.simulate.figures import coverage_vs_k

fig = coverage_vs_k(metrics, spec.level)
plt.show()
