"""Every public name in the API reference states what it computes and shows a runnable example.

The API reference (docs/api/*.md) renders whole modules with mkdocstrings; those modules are the
public API. Each function and class they define without a leading underscore must have a
docstring with an example (``>>>``), which ``pytest --doctest-modules`` (the default, see
pyproject.toml) runs. Modules not rendered there (cli, plumbing) are internal.
"""

from __future__ import annotations

import importlib
import inspect
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
API_PAGES = sorted((ROOT / "docs" / "api").glob("*.md"))
DIRECTIVE = re.compile(r"^::: (bayesmeta[\w.]*)\s*$", re.M)


def api_modules() -> list[str]:
    names = {m for page in API_PAGES for m in DIRECTIVE.findall(page.read_text())}
    return sorted(names)


def public_members(module_name: str) -> list[tuple[str, object]]:
    module = importlib.import_module(module_name)
    out = []
    for name, obj in vars(module).items():
        if name.startswith("_") or not (inspect.isfunction(obj) or inspect.isclass(obj)):
            continue
        if getattr(obj, "__module__", None) != module_name:
            continue  # re-exported: checked where it is defined
        out.append((name, obj))
    return out


def test_api_reference_lists_modules() -> None:
    modules = api_modules()
    assert "bayesmeta.classical.api" in modules
    assert len(modules) >= 30


@pytest.mark.parametrize("module_name", api_modules())
def test_public_names_have_examples(module_name: str) -> None:
    module = importlib.import_module(module_name)
    assert (module.__doc__ or "").strip(), f"{module_name} has no module docstring"
    missing = [
        name for name, obj in public_members(module_name) if ">>>" not in (obj.__doc__ or "")
    ]
    assert not missing, f"{module_name}: public names without a runnable example: {missing}"
