"""Where the shipped ``data/`` and ``models/`` folders are.

In a wheel they are force-included as ``bayesmeta/_data`` and ``bayesmeta/_models``
(found through `importlib.resources`); in a source checkout or editable
install they are the top-level ``data/`` and ``models/`` folders.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

_PACKAGE = Path(str(files("bayesmeta")))


def _find(packaged: str, toplevel: str) -> Path:
    inside = _PACKAGE / packaged
    if inside.is_dir():
        return inside
    return _PACKAGE.parent / toplevel


def data_dir() -> Path:
    """The shipped data folder (``<name>.csv`` data sets with ``<name>.toml`` sidecars)."""
    return _find("_data", "data")


def models_dir() -> Path:
    """The shipped analysis-specification folder (the review's model specifications)."""
    return _find("_models", "models")
