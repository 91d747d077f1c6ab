"""Root conftest: applies to the tests/ suite and to the docstring examples in bayesmeta/.

Figures render off-screen (Agg), and doctests run in a temporary directory so an example that
writes a file leaves nothing behind in the checkout.
"""

from __future__ import annotations

import matplotlib
import pytest

matplotlib.use("Agg")


@pytest.fixture(autouse=True)
def _doctest_in_tmpdir(request: pytest.FixtureRequest) -> None:
    """Run every doctest with a fresh temporary working directory."""
    if isinstance(request.node, pytest.DoctestItem):
        request.getfixturevalue("monkeypatch").chdir(request.getfixturevalue("tmp_path"))
