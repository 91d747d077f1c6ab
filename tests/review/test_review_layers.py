"""The modules that show a re-analysis (report, figures, verdict, results) never import the
module that computes it (`bayesmeta.review.reanalysis`), not even for type checking: they
take its results as plain data (`bayesmeta.review.results`). Checked on the source's import
statements (AST), so a new import anywhere in those modules fails here."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REVIEW = Path(__file__).resolve().parents[2] / "bayesmeta" / "review"


def imported_modules(path: Path) -> set[str]:
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            out.add(node.module)
        elif isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
    return out


@pytest.mark.parametrize("name", ["report", "figures", "verdict", "results"])
def test_presentation_does_not_import_the_computation(name):
    mods = imported_modules(REVIEW / f"{name}.py")
    assert "bayesmeta.review.reanalysis" not in mods, name
    assert "bayesmeta.review" not in mods or name == "results", name


def test_reanalysis_is_where_results_are_made():
    assert "bayesmeta.review.results" in imported_modules(REVIEW / "reanalysis.py")
