"""The documentation cannot rot: its Python examples run and its relative links resolve.

Every fenced ```python block of docs/getting-started.md, comparison.md, credibility.md,
revman.md and bias.md is run, in order, in one namespace per page, in a temporary folder.
(Blocks meant to be shown but not run are fenced as ```text.) The tutorials,
docs/tutorials/*.py, are jupytext text notebooks (percent format): each runs here as a
script, and `mkdocs build --strict` in CI executes them again as notebooks and embeds their
output and figures in the site. Every relative link in README.md, CONTRIBUTING.md,
CHANGELOG.md, docs/**/*.md and the tutorials' Markdown cells must point to an existing file.
"""

from __future__ import annotations

import re
import runpy
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
RUN_PAGES = [
    DOCS / "getting-started.md",
    DOCS / "comparison.md",
    DOCS / "credibility.md",
    DOCS / "revman.md",
    DOCS / "bias.md",
    DOCS / "empirical-priors.md",
    DOCS / "dependent-effects.md",
    DOCS / "network.md",
]
TUTORIALS = sorted((DOCS / "tutorials").glob("*.py"))
LINK_PAGES = [
    ROOT / "README.md",
    ROOT / "CONTRIBUTING.md",
    ROOT / "CHANGELOG.md",
    *sorted(DOCS.rglob("*.md")),
    *TUTORIALS,
]

FENCE = re.compile(r"^```python[ \t]*\n(.*?)^```[ \t]*$", re.S | re.M)
# [text](target) and ![alt](target); the target stops at whitespace or ')'.
LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
CODE = re.compile(r"```.*?```|`[^`\n]*`", re.S)


def python_blocks(page: Path) -> list[str]:
    return FENCE.findall(page.read_text(encoding="utf-8"))


def markdown_of(page: Path) -> str:
    """A page's Markdown: the file, or a percent notebook's commented Markdown cells."""
    text = page.read_text(encoding="utf-8")
    if page.suffix != ".py":
        return text
    cells = re.findall(r"^# %% \[markdown\]\n((?:#.*\n?)*)", text, re.M)
    return "\n".join(re.sub(r"^# ?", "", c, flags=re.M) for c in cells)


def relative_links(page: Path) -> list[str]:
    text = CODE.sub("", markdown_of(page))
    out = []
    for target in LINK.findall(text):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.I) or target.startswith("#"):
            continue  # http:, https:, mailto:, in-page anchors
        out.append(target.split("#", 1)[0])
    return out


def test_pages_exist_and_have_examples() -> None:
    for page in RUN_PAGES:
        assert python_blocks(page), f"{page.relative_to(ROOT)} has no ```python block"


def test_tutorials_are_text_notebooks_in_the_site() -> None:
    """Three tutorials, each a jupytext percent notebook listed in the mkdocs nav."""
    names = {p.stem for p in TUTORIALS}
    assert {"first_analysis", "review_reanalysis", "sensitivity_simulation"} <= names
    nav = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    for page in TUTORIALS:
        text = page.read_text(encoding="utf-8")
        assert "format_name: percent" in text, f"{page.name}: no jupytext header"
        assert text.count("# %% [markdown]") >= 3 and "\n# %%\n" in text, page.name
        assert f"tutorials/{page.name}" in nav, f"{page.name} is not in the mkdocs nav"


@pytest.mark.slow
@pytest.mark.parametrize("page", TUTORIALS, ids=lambda p: p.name)
def test_tutorial_runs(page: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run the notebook as a script (cells in order, off-screen figures)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # the notebooks' output folders
    runpy.run_path(str(page), run_name="__main__")


@pytest.mark.parametrize("page", RUN_PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_python_blocks_run(page: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    namespace: dict[str, object] = {"__name__": "__docs__"}
    for i, block in enumerate(python_blocks(page), start=1):
        name = f"{page.relative_to(ROOT)}[block {i}]"
        try:
            exec(compile(block, name, "exec"), namespace)
        except Exception as err:  # pragma: no cover - the failure message is the point
            pytest.fail(f"{name} raised {type(err).__name__}: {err}\n--- block ---\n{block}")


@pytest.mark.parametrize("page", LINK_PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_resolve(page: Path) -> None:
    broken = [
        target for target in relative_links(page) if target and not (page.parent / target).exists()
    ]
    assert not broken, f"{page.relative_to(ROOT)}: broken relative links {broken}"


def test_link_checker_catches_a_broken_link(tmp_path: Path) -> None:
    page = tmp_path / "p.md"
    page.write_text(
        "[ok](p.md) [bad](missing.md#x) [web](https://example.org) [anchor](#a) `[no](code.md)`\n"
    )
    assert relative_links(page) == ["p.md", "missing.md"]


def test_block_extractor_skips_text_fences(tmp_path: Path) -> None:
    page = tmp_path / "p.md"
    page.write_text("```python\nx = 1\n```\n\n```text\nraise SystemExit\n```\n")
    assert python_blocks(page) == ["x = 1\n"]


def test_link_checker_reads_notebook_markdown_cells(tmp_path: Path) -> None:
    page = tmp_path / "n.py"
    page.write_text("# %% [markdown]\n# See [a](a.md).\n\n# %%\nx = '[b](b.md)'\n")
    assert relative_links(page) == ["a.md"]
