"""Simulation studies of meta-analysis methods on dask.distributed.

``run_study(spec, out, workers=None, scheduler=None, progress=True)`` runs (or resumes) the
study a TOML spec declares (`bayesmeta.simulate.spec`) and returns the metrics table;
``run_cli(args)`` backs ``bayesmeta simulate``. See docs/simulate.md.
"""

from bayesmeta.simulate.metrics import summarise
from bayesmeta.simulate.run import run_cli, run_study
from bayesmeta.simulate.spec import StudySpec, load_spec, parse_spec

__all__ = [
    "StudySpec",
    "load_spec",
    "parse_spec",
    "run_cli",
    "run_study",
    "summarise",
]
