"""Empirical priors: learned from a corpus of meta-analyses (`learn_priors`), and the
published ones (Turner 2015 and Rhodes 2015 in `bayesmeta.priors`; Bartoš 2021/2023 in
`bayesmeta.empirical.published`). The numerics are NumPy/SciPy only."""
