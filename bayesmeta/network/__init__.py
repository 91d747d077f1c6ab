"""Network meta-analysis: arm- or contrast-level data (`data`), the classical contrast-based
model identical to metafor's rma.mv network model (`classical`), and `network()` (`api`),
which adds the Bayesian NICE TSD2 model on request. NumPy/SciPy numerics; PyMC only in
`bayesmeta.hierarchical.network`."""

from bayesmeta.network.api import NetworkResult, network

__all__ = ["NetworkResult", "network"]
