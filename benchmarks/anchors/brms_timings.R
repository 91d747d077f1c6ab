# brms timings that benchmarks/bench_pymc.py prints its ratios against.
# Run: Rscript benchmarks/anchors/brms_timings.R  (writes benchmarks/anchors/brms_timings.json)
# Each model: brm() in this R process (Stan C++ compile + sampling), then update() with new
# data (no recompile). 4 chains x 1000 draws after 1000 warm-up, cores = 2, as the PyMC bench.
suppressPackageStartupMessages({library(brms); library(metafor); library(jsonlite)})
versions <- list(R = R.version.string, brms = as.character(packageVersion("brms")),
                 rstan = as.character(packageVersion("rstan")),
                 metafor = as.character(packageVersion("metafor")))
pri <- c(prior(normal(0, 5), class = "Intercept"), prior(cauchy(0, 5), class = "sd"))
run <- function(formula, data, newdata, priors) {
  t_fit <- system.time(fit <- brm(formula, data = data, prior = priors, chains = 4,
                                  iter = 2000, warmup = 1000, cores = 2, seed = 1,
                                  refresh = 0, silent = 2))[["elapsed"]]
  t_refit <- system.time(update(fit, newdata = newdata, recompile = FALSE, refresh = 0,
                                silent = 2, seed = 2))[["elapsed"]]
  list(fit = t_fit, refit = t_refit)
}
# eight schools (Rubin 1981)
schools <- data.frame(y = c(28, 8, -3, 7, -1, 1, 18, 12), se = c(15, 10, 16, 11, 9, 11, 10, 18),
                      school = LETTERS[1:8])
moved <- transform(schools, y = y + 3, se = se * 1.2)
eight <- run(bf(y | se(se) ~ 1 + (1 | school)), schools, moved, pri)
# subgroups: BCG trials (metadat dat.bcg), log risk ratio by allocation
bcg <- escalc(measure = "RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)
bcg$sei <- sqrt(bcg$vi)
bcg2 <- transform(bcg, yi = yi + 0.1)
pri_sub <- c(prior(normal(0, 5), class = "b"), prior(cauchy(0, 5), class = "sd"))
sub <- run(bf(yi | se(sei) ~ 0 + alloc + (1 | trial)), bcg, bcg2, pri_sub)
# nested: schools within districts (metadat dat.konstantopoulos2011)
kon <- dat.konstantopoulos2011
kon$sei <- sqrt(kon$vi)
kon2 <- transform(kon, yi = yi + 0.05)
nested <- run(bf(yi | se(sei) ~ 1 + (1 | district / school)), kon, kon2, pri)
out <- list(versions = versions, eight_schools = eight, subgroup = sub, nested = nested,
            data = list(bcg = list(yi = as.numeric(bcg$yi), sei = bcg$sei, alloc = bcg$alloc,
                                   trial = bcg$trial),
                        konstantopoulos2011 = list(yi = kon$yi, sei = kon$sei,
                                                   district = kon$district, school = kon$school)))
write_json(out, "benchmarks/anchors/brms_timings.json", auto_unbox = TRUE, digits = NA, pretty = TRUE)
print(out[c("eight_schools", "subgroup", "nested")])
