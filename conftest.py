"""Shared pytest set-up for the test suite (tests/) and the docstring examples (bayesmeta/).

One conftest at the root, so `from conftest import load_fixture` in a test is unambiguous.
Figures render off-screen (Agg) and are closed after each test, and each doctest runs in a
fresh temporary working directory, so an example that writes a file leaves nothing behind.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import matplotlib
import pytest

matplotlib.use("Agg")

ROOT = Path(__file__).resolve().parent
FIXTURES = ROOT / "tests" / "fixtures"


@pytest.fixture(autouse=True)
def _doctest_in_tmpdir(request: pytest.FixtureRequest) -> None:
    """Run every doctest with a fresh temporary working directory."""
    if isinstance(request.node, pytest.DoctestItem):
        request.getfixturevalue("monkeypatch").chdir(request.getfixturevalue("tmp_path"))


@pytest.fixture(autouse=True)
def _close_figures() -> Iterator[None]:
    """Close every figure a test or example opened (one-call plots return open Figures)."""
    yield
    import matplotlib.pyplot as plt

    plt.close("all")


@pytest.fixture
def write_csv(tmp_path: Path) -> Callable[..., Path]:
    """Write a CSV from text and return its path."""

    def _write(text: str, name: str = "data.csv") -> Path:
        path = tmp_path / name
        path.write_text(text)
        return path

    return _write


def load_fixture(name: str) -> dict:
    """A JSON fixture from tests/fixtures/ (written by the R scripts there)."""
    return json.loads((FIXTURES / name).read_text())
