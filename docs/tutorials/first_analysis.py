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
# # A first meta-analysis: classical and Bayesian side by side
#
# This tutorial pools the classic *eight schools* data (Rubin 1981: the effect of SAT coaching
# in eight schools, each an estimate with its standard error) twice: with the classical engine,
# which computes what R `metafor::rma()` computes, and with the exact Bayesian engine, which
# computes what R `bayesmeta::bayesmeta()` computes. Both return the same result object
# (`MetaResult`), so `compare()` can put them in one table.
#
# This page is a text notebook (jupytext, percent format): it is executed when the
# documentation is built and by the test suite (`tests/test_docs.py`), so what you read here
# works with the installed version.
#
# ## 1. The data
#
# `bayesmeta.datasets` ships the data with its provenance:

# %%
from bayesmeta import datasets

schools = datasets.load("rubin1981")
print(schools)
print(datasets.provenance("rubin1981")["citation"])

# %% [markdown]
# The effects are already estimates with standard errors. `load_studies` reads a shipped data
# set by name (its sidecar says which columns hold the effects) or a CSV, and returns a
# `StudyTable` with the labels, effects, variances and sample sizes. (From raw means, SDs and
# counts, pass `measure=` and, if your names differ from metafor's, `columns=`; see
# [effect sizes](../effects.md).)

# %%
from bayesmeta.inputs import load_studies

table = load_studies("rubin1981")
print(table.k, list(table.study), table.yi, table.sei.round(1))

# %% [markdown]
# `StudyTable.read_csv("data.csv")` reads the same table from a CSV with `study`, `yi` and `vi`
# (or `sei`) columns. Bad input raises `InputError` with one line naming the row and column:

# %%
from bayesmeta import InputError, StudyTable

try:
    StudyTable.from_arrays([0.1, 0.2], vi=[0.04, -1.0], study=["a", "b"])
except InputError as err:
    print(err)

# %% [markdown]
# ## 2. Classical: REML with a Knapp-Hartung interval
#
# `pool()` takes metafor's estimators (`FE`, `DL`, `REML`, `PM`, `SJ`, `HE`, `ML`) and interval
# methods (`wald`, `hksj` = Knapp-Hartung), plus RevMan / Cochrane presets:

# %%
from bayesmeta.classical import pool

reml = pool(table, method="REML", ci="hksj")
dl = pool(table, method="DL")
print(reml.describe())
print(
    f"REML: mu = {reml.estimate:.2f} [{reml.ci_low:.2f}, {reml.ci_high:.2f}], "
    f"tau2 = {reml.tau2:.2f}, I2 = {reml.i2:.1f}%"
)

# %% [markdown]
# For these data the method-of-moments and REML estimates of tau^2 are both zero: eight schools
# is the textbook case where a point estimate of tau^2 hides how uncertain it is.

# %%
assert dl.tau2 == 0.0
assert reml.tau2 < 1e-6

# %% [markdown]
# ## 3. Bayesian: the exact normal-normal engine
#
# The exact engine integrates over tau numerically. Without prior arguments it uses the
# package's default priors, which follow the data's scale: a flat prior on mu (as R
# `bayesmeta`), and here, since the table has sample sizes, a half-normal prior on tau with
# scale 0.5 × the unit-information SD (Röver et al. 2021). `print` gives an R
# `bayesmeta`-style summary that names the priors:

# %%
from bayesmeta.exact import NormalNormal

default_fit = NormalNormal.from_table(table)
print(default_fit)

# %% [markdown]
# Priors are strings. Here the prior used in the R `bayesmeta` documentation for these data (a
# half-Cauchy with scale 25 on tau, a flat prior on mu):

# %%
fit = NormalNormal.from_table(table, tau_prior="halfcauchy(25)", mu_prior="flat")
mu_lo, mu_hi = fit.mu.interval(0.95)
tau_lo, tau_hi = fit.tau.interval(0.95, "shortest")
print(f"mu:  median {fit.mu.median:.3f}, central 95% [{mu_lo:.2f}, {mu_hi:.2f}]")
print(f"tau: median {fit.tau.median:.3f}, shortest 95% [{tau_lo:.2f}, {tau_hi:.2f}]")

# %% [markdown]
# These match R `bayesmeta` 3.4's published results for this example (median tau 4.769,
# median mu 8.038, mean mu 8.068):

# %%
assert abs(fit.tau.median - 4.76877) < 1e-3
assert abs(fit.mu.median - 8.03827) < 1e-3
assert abs(fit.mu.mean - 8.06757) < 1e-3

# %% [markdown]
# Unlike the classical fit, the posterior says how much heterogeneity the data allow. The
# shrunken school effects (posterior of each theta_i) are one call away:

# %%
print(fit.studies().round(2))

# %% [markdown]
# ## 4. Side by side
#
# `to_result()` turns the fit into a `MetaResult`, and `compare()` lines results up, one row
# each, with the settings that explain why the numbers differ:

# %%
from bayesmeta import compare

bayes = fit.to_result()
table_of_results = compare({"REML + KnHa": reml, "DL + Wald": dl, "exact Bayes": bayes})
print(table_of_results[["estimate", "ci_low", "ci_high", "tau", "pi_low", "pi_high"]].round(2))
print(bayes.describe())

# %% [markdown]
# For a Bayesian result `estimate` is the posterior median of mu, `ci_low`/`ci_high` its
# credible interval and `pi_low`/`pi_high` the interval of a new school's effect (theta_new).
#
# ## 5. How much does the prior matter?
#
# Swap the tau prior and refit; the exact engine takes milliseconds, so a sweep is cheap (see
# [prior sensitivity](../sensitivity.md) for `bayesmeta.sensitivity.sweep`, which does this
# systematically):

# %%
for prior in ["halfnormal(5)", "halfcauchy(25)", "halfnormal(25)"]:
    f = NormalNormal.from_table(table, tau_prior=prior, mu_prior="normal(0, 100)")
    lo, hi = f.mu.interval(0.95)
    print(f"{prior:>15}: mu {f.mu.median:6.2f} [{lo:6.2f}, {hi:6.2f}], tau {f.tau.median:5.2f}")

# %% [markdown]
# ## 6. The same model with PyMC
#
# The PyMC engine fits the same model by sampling (and extends it: subgroups, nested arms,
# Student-t effects, meta-regression; see [the PyMC models](../models.md)). The model is
# non-centred, compiled once per model structure, sampled with nutpie and diagnosed after the
# fit (R-hat, ESS, divergences). Small settings here, 2 chains of 1000 draws:

# %%
from bayesmeta.hierarchical import BayesianMeta

priors = {"tau_prior": "halfcauchy(25)", "mu_prior": "normal(0, 100)"}
mcmc = BayesianMeta(draws=1000, tune=1000, chains=2, seed=1, **priors).fit(table)
exact = NormalNormal.from_table(table, **priors)
print(mcmc.diagnostics_)  # R-hat, ESS, divergences, E-BFMI; print(mcmc) shows all
both = compare({"exact": exact.to_result(), "PyMC": mcmc.to_result()})
print(both[["estimate", "ci_low", "ci_high", "tau"]].round(2))

# %% [markdown]
# The exact engine is the oracle the sampler must agree with: the difference of the posterior
# means of mu, in units of its Monte Carlo standard error, should be a few units at most.

# %%
import arviz as az

post = mcmc.idata_["posterior"]
mcse_mu = float(az.mcse(post["mu"], method="mean"))
z = (float(post["mu"].mean()) - exact.mu.mean) / mcse_mu
print(
    f"posterior mean of mu: PyMC {float(post['mu'].mean()):.3f}, exact {exact.mu.mean:.3f}, "
    f"difference = {z:.2f} MCSE"
)
assert abs(z) < 4

# %% [markdown]
# ## 7. Pictures
#
# Every plot is one call that returns a matplotlib Figure. The posterior densities of mu, tau
# and a new school's effect, with the prior overlaid:

# %%
import matplotlib.pyplot as plt

fig = exact.to_result().plot_posterior(xlabel="SAT-V points")
plt.show()

# %% [markdown]
# A forest plot in the RevMan layout: each school's estimate with its interval and weight, its
# shrunken posterior beside it, the pooled diamond and the prediction interval:

# %%
fig = bayes.plot_forest(xlabel="effect of coaching (SAT-V points)")
plt.show()

# %% [markdown]
# Several results side by side (here the classical REML fit next to the Bayesian one), and
# a contour-enhanced funnel plot as metafor's `funnel()` draws it:

# %%
from bayesmeta import plots

fig = plots.forest({"REML + KnHa": reml, "exact Bayes": bayes}, xlabel="SAT-V points")
plt.show()
fig = reml.plot_funnel(xlabel="SAT-V points")
plt.show()

# %% [markdown]
# The PyMC draws can be checked against the exact densities directly:

# %%
import numpy as np

fig, axes = plt.subplots(1, 2, figsize=(10, 3.5))
for ax, name, m in ((axes[0], "mu", exact.mu), (axes[1], "tau", exact.tau)):
    draws = post[name].values.ravel()
    lo, hi = m.quantile([0.001, 0.995])
    x = np.linspace(0.0 if name == "tau" else lo, hi, 400)
    ax.hist(draws, bins=60, range=(x[0], x[-1]), density=True, color="0.8", label="PyMC draws")
    ax.plot(x, m.pdf(x), color="tab:purple", lw=2, label="exact")
    ax.set_xlabel(name)
axes[0].set_ylabel("posterior density")
axes[1].legend(frameon=False)
fig.tight_layout()
plt.show()

# %% [markdown]
# From the command line, the same analyses are `bayesmeta pool rubin1981 --ci hksj --plot
# forest.png` and `bayesmeta posterior rubin1981 --tau-prior "halfcauchy(25)" --mu-prior flat`
# (`--engine pymc` samples); a CSV of your own takes the place of `rubin1981`.

# %% [markdown]
# ## Sparse 2x2 tables: normal approximation or binomial likelihood
#
# Binary outcomes usually enter a meta-analysis as log odds ratios with their approximate
# variances, and a table with a zero cell gets 0.5 added to every cell. That approximation
# is poorest exactly where events are rare. The binomial-normal model (Smith, Spiegelhalter
# & Thomas 1995) uses the counts themselves: no continuity correction, and double-zero
# tables stay in. Here are the acute rejections of Crins et al. (2014), where the Gras (2008)
# study has 0 events in the treated arm, analysed both ways with the same tau prior
# (half-normal(0.5) on the log-OR scale; mu is flat in the normal model and N(0, 10^2), almost
# flat, in the binomial one):

# %%
from bayesmeta.hierarchical.binomial import BinomialMeta
from bayesmeta.inputs import load_tables

tables, _ = load_tables("crins2014", measure="OR")
print(tables)
approx = NormalNormal.from_table(load_studies("crins2014", measure="OR")).to_result()
exact_binomial = (
    BinomialMeta("2x2", draws=2000, seed=1)
    .fit(tables["ai"], tables["ai"] + tables["bi"], tables["ci"], tables["ci"] + tables["di"])
    .to_result()
)
side_by_side = compare({"normal approx. (0.5 added)": approx, "binomial-normal": exact_binomial})
print(side_by_side.round(3))
difference = exact_binomial.estimate - approx.estimate
mc_error = exact_binomial.se / np.sqrt(exact_binomial.diagnostics["min_ess_bulk"])
print(f"difference in the median log OR: {difference:.3f} (Monte Carlo error {mc_error:.3f})")
assert abs(difference) > 3 * mc_error

# %% [markdown]
# Both say that IL-2 receptor antagonists reduce acute rejection. The binomial model puts the
# Gras study where its counts put it, instead of at a log OR computed from 0.5 / 50.5, so the
# two estimates differ by more than Monte Carlo error. With rare events and many zero cells,
# the difference grows. From the command line: `bayesmeta posterior crins2014 --measure OR
# --likelihood binomial`. The models are in [the model reference](../models.md), section (g).
