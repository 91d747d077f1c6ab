"""bayesmeta: Bayesian hierarchical meta-analysis with an exact engine, PyMC models
and a classical (metafor / RevMan) twin, all returning one result contract.

Importing the package does not import PyMC; ``bayesmeta.hierarchical`` does.
"""

from importlib.metadata import PackageNotFoundError, version

from bayesmeta.errors import InputError
from bayesmeta.results import MetaResult, compare
from bayesmeta.studies import StudyTable

try:
    __version__ = version("bayesmeta")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0+unknown"

__all__ = ["InputError", "MetaResult", "StudyTable", "compare", "__version__"]
