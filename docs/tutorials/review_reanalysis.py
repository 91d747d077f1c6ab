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
# # The review re-analysed, step by step
#
# The reference review (Zhang et al. 2020, *Aging and Disease* 11:141-153: stem-cell therapy
# for type 1 and type 2 diabetes) publishes 18 pooled mean differences (MD) with 95 % CIs.
# Its per-study values are forest-plot images, so this tutorial works only with what the text
# gives: the 18 rows, Table 1 (arms, sample sizes, follow-up) and the methods section.
#
# `bayesmeta reproduce` does all of this in one call (last section). Here the same steps are
# taken one at a time with the Python API, so each number can be traced:
#
# 1. what a printed row implies (its standard error, z and p);
# 2. which rows the text alone reproduces classically;
# 3. consistency checks on the review's own numbers;
# 4. a Bayesian re-analysis of each row under vague, sceptical and enthusiastic priors;
# 5. a hierarchical cell-type model (exact engine);
# 6. the full report.
#
# This page is a text notebook (jupytext, percent format) executed when the documentation is
# built and by the test suite, so every number below is computed, not pasted.

# %%
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

pd.set_option("display.width", 120)
pd.set_option("display.max_columns", 12)
OUT = Path(tempfile.mkdtemp(prefix="bayesmeta-review-"))

# %% [markdown]
# ## 1. The published rows
#
# The review's rows live in a declarative spec, `models/zhang2020.toml`, shipped with the
# package together with the data files it refers to (`bayesmeta datasets` lists them with
# their provenance). `load_spec()` reads and validates it.

# %%
from bayesmeta.review.spec import load_spec

spec = load_spec()
rows = pd.DataFrame(
    [
        {
            "row": a.key,
            "k": a.published.k,
            "MD": a.published.md,
            "CI low": a.published.ci_low,
            "CI high": a.published.ci_high,
            "model": a.published.model,
            "p(Q)": a.published.heterogeneity_p,
        }
        for a in spec.analyses
    ]
)
print(f"{len(spec.analyses)} published rows in {len(spec.groups())} (disease, outcome) groups")
rows

# %% [markdown]
# A row prints an MD and a symmetric 95 % CI to two decimals. That is enough to recover its
# standard error, `SE = (high - low) / (2 * 1.96)`, and with it z and the two-sided p; the
# rounding of the last digit puts bounds on the SE (`se_low`, `se_high`).

# %%
from bayesmeta.review.published import analysis_stats

stats = {a.key: analysis_stats(a, spec.level) for a in spec.analyses}
implied = pd.DataFrame(
    {
        "SE": [s.se for s in stats.values()],
        "SE range": [f"[{s.se_low:.4f}, {s.se_high:.4f}]" for s in stats.values()],
        "z": [s.z for s in stats.values()],
        "p": [s.p for s in stats.values()],
        "symmetric CI": [s.symmetric for s in stats.values()],
    },
    index=list(stats),
).round(4)
implied

# %% [markdown]
# ## 2. What the text alone reproduces
#
# A pooled row can be recomputed only if its inputs are printed. Two kinds are:
#
# * a **one-study row**: its MD and Wald CI are the study's own (reproduced to +/-0.01);
# * a **fixed-effect overall row** whose subgroups are printed: the inverse-variance pool of
#   the subgroup summaries equals the pool of the studies (the FE estimate is associative).
#
# The insulin-dose overall row of type 2 diabetes is fixed-effect and both of its subgroups
# are printed:

# %%
from bayesmeta.review.published import pool_fixed_from_summaries

overall = spec.overall("T2DM", "insulin_dose")
subs = spec.subgroups("T2DM", "insulin_dose")
est, se, lo, hi = pool_fixed_from_summaries(
    [stats[s.key].md for s in subs], [stats[s.key].se for s in subs], spec.level
)
for s in [*subs, overall]:
    pub = s.published
    print(f"published {s.subgroup:>7}: {pub.md} [{pub.ci_low}, {pub.ci_high}]")
print(f"recomputed     all: {est:.3f} [{lo:.3f}, {hi:.3f}]")
assert abs(est - overall.published.md) < 0.01 and abs(lo - overall.published.ci_low) < 0.01

# %% [markdown]
# Random-effects overall rows are not reproducible this way: DerSimonian-Laird pools the
# *studies* with a tau^2 estimated from them, and the subgroup summaries do not determine it.
# The classical re-analysis of every row, with its status and the reason, is
# `classical_rows()`:

# %%
from bayesmeta.review.reanalysis import classical_rows

classical = classical_rows(spec, stats)
status = pd.DataFrame(
    {
        "status": [c.status for c in classical.values()],
        "note": [c.note for c in classical.values()],
    },
    index=list(classical),
)
print(status["status"].value_counts().to_string())
status.head(6)

# %% [markdown]
# ## 3. Consistency checks on the review's numbers
#
# Each check is a `Finding` (id, verdict, one-line summary, the numbers behind it). For
# example, the printed heterogeneity p values of a fixed-effect outcome must add up:
# `Q_total = sum of Q_subgroup + Q_between`. Backing Q out of every printed p shows which
# number of units the overall test used:

# %%
from bayesmeta.datasets import load
from bayesmeta.review.checks import findings_frame, run_checks
from bayesmeta.review.published import fe_q_decomposition

dec = fe_q_decomposition(overall, subs, spec.level)
print("Q_total compatible with the printed subgroup p values:", np.round(dec.q_total, 2))
print("verdict:", dec.verdict)

table1 = load("zhang2020_table1")
findings = findings_frame(run_checks(spec, table1))
findings[["id", "verdict", "title"]]

# %% [markdown]
# ## 4. Bayesian re-analysis of each row
#
# Each published estimate is treated as a normal likelihood, `MD ~ N(theta, SE^2)`, and
# combined with a normal prior on theta: the posterior is exact (conjugate). The spec declares
# three priors in units of D, the absolute published overall MD of the outcome: *vague*,
# *sceptical* (centred on no effect) and *enthusiastic* (centred on the published effect).

# %%
from bayesmeta.review.conjugate import normal_update

a = spec.overall("T1DM", "hba1c")
st = stats[a.key]
sign = spec.outcomes[a.outcome].sign  # HbA1c: a decrease is a benefit
print(f"{a.key}: published {a.published.md} [{a.published.ci_low}, {a.published.ci_high}]")
x = np.linspace(-10, 4, 500)
fig, ax = plt.subplots(figsize=(8, 3.5))
for name in spec.effect_priors:
    mean, sd = spec.effect_prior(name, a.disease, a.outcome)
    post = normal_update(st.md, st.se, mean, sd)
    lo, hi = post.interval(spec.level)
    print(
        f"  {name:>12} prior N({mean:.2f}, {sd:.2f}^2): posterior {post.median:.2f} "
        f"[{lo:.2f}, {hi:.2f}], P(benefit) = {post.prob_benefit(sign):.3f}"
    )
    ax.plot(x, post.pdf(x), label=f"{name} posterior")
ax.axvline(0, color="0.6", ls="--", lw=0.8)
ax.set_xlabel("MD in HbA1c (%)")
ax.set_ylabel("density")
ax.legend(frameon=False)
ax.set_title(a.key)
plt.show()

# %% [markdown]
# A sceptical prior pulls a row towards zero in proportion to how weak the row is: a row with
# a wide CI moves a lot, a precise one hardly at all.

# %% [markdown]
# ## 5. The cell-type model
#
# The review pools by cell type (subgroups such as BM-HSC, MSC, BM-MNC) and overall. A
# hierarchical model does both at once: the cell-type effects `theta_j` are drawn from
# `N(mu, tau^2)`, so each is shrunk towards the overall mean by as much as the data allow.
# With the subgroup summaries as units it is the normal-normal model, computed by the exact
# engine (1-D integration over tau, as R `bayesmeta`), with the spec's priors:

# %%
from bayesmeta.exact import NormalNormal
from bayesmeta.review.celltype import subgroup_summaries

labels, y, se = subgroup_summaries(spec, "T2DM", "hba1c")
fit = NormalNormal(
    y,
    se,
    tau_prior=spec.tau_prior_text("T2DM", "hba1c"),
    mu_prior=spec.mu_prior_text("T2DM", "hba1c"),
    labels=list(labels),
)
print(fit.to_result().describe())
fit.studies().round(3)

# %%
fig, ax = plt.subplots(figsize=(7, 2.8))
pos = np.arange(len(labels))[::-1]
ax.errorbar(y, pos + 0.12, xerr=1.96 * se, fmt="s", color="black", label="published subgroup")
th = fit.studies()
ax.errorbar(
    th["median"],
    pos - 0.12,
    xerr=[th["median"] - th["ci_low"], th["ci_high"] - th["median"]],
    fmt="o",
    color="tab:purple",
    label="cell-type model",
)
m_lo, m_hi = fit.mu.interval(spec.level)
ax.axvspan(m_lo, m_hi, color="tab:purple", alpha=0.12, label="overall mean mu")
ax.set_yticks(pos, labels)
ax.axvline(0, color="0.6", ls="--", lw=0.8)
ax.set_xlabel("MD in HbA1c (%)")
ax.legend(frameon=False, fontsize=8, loc="lower right")
plt.show()

# %% [markdown]
# ## 6. The whole re-analysis in one call
#
# `reproduce()` (the CLI's `bayesmeta reproduce --out DIR`) runs all of the above for every
# row, adds a prior-sensitivity sweep per outcome, a PyMC cross-check of the cell-type model
# (here switched off with `mcmc=False` to keep the page fast) and a small simulation of how
# well the review's interval method covers (`simulation=False` here), and writes
# `comparison.csv`, `findings.csv`, `report.md` / `report.html` and the figures.

# %%
from bayesmeta.review.reanalysis import reproduce

r = reproduce(OUT, mcmc=False, simulation=False, progress=False)
print(sorted(p.name for p in OUT.iterdir()))
r.comparison[["analysis", "md", "ci_low", "ci_high", "classical_status", "bayes_sceptical_median"]]

# %% [markdown]
# One of the report's figures, the forest plot for type 2 diabetes HbA1c (published row,
# classical re-analysis where possible, the three conjugate posteriors and the cell-type
# model):

# %%
img = plt.imread(OUT / "figures" / "forest_T2DM_hba1c.png")
fig, ax = plt.subplots(figsize=(img.shape[1] / 100, img.shape[0] / 100))
ax.imshow(img)
ax.axis("off")
plt.show()

# %% [markdown]
# Next: [prior sensitivity and a simulation study](sensitivity_simulation.py) probe how much
# these conclusions depend on the priors and how well the review's interval method covers.
# The report's sections are described in [the review page](../review.md).
