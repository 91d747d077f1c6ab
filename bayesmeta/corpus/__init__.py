"""Whole bodies of reviews re-analysed: `run` reads RevMan 5 files, Cochrane data packages,
folders of them and long tables, and writes one row per analysis with the stored result, the
classical re-analysis (as stored, and under Cochrane's 2025 settings) and the exact Bayesian
posterior with model averaging, batched and on Dask (``bayesmeta corpus``).

Examples:
    >>> from bayesmeta.corpus import COLUMNS
    >>> COLUMNS[:4]
    ('source', 'analysis', 'name', 'data_type')
"""

from bayesmeta.corpus.compute import COLUMNS
from bayesmeta.corpus.run import run

__all__ = ["COLUMNS", "run"]
