"""The documentation cannot rot: its Python examples run and its relative links resolve.

Every fenced ```python block of docs/getting-started.md and docs/tutorials/*.md is executed,
in order, in one namespace per page, with a temporary working directory. (Blocks meant to be
shown but not run, e.g. PyMC sampling, are fenced as ```text.) Every relative link in
README.md, CONTRIBUTING.md, CHANGELOG.md and docs/**/*.md must point to an existing file.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
RUN_PAGES = [DOCS / "getting-started.md", *sorted((DOCS / "tutorials").glob("*.md"))]
LINK_PAGES = [
    ROOT / "README.md",
    ROOT / "CONTRIBUTING.md",
    ROOT / "CHANGELOG.md",
    *sorted(DOCS.rglob("*.md")),
]

FENCE = re.compile(r"^```python[ \t]*\n(.*?)^```[ \t]*$", re.S | re.M)
# [text](target) and ![alt](target); the target stops at whitespace or ')'.
LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
CODE = re.compile(r"```.*?```|`[^`\n]*`", re.S)


def python_blocks(page: Path) -> list[str]:
    return FENCE.findall(page.read_text(encoding="utf-8"))


def relative_links(page: Path) -> list[str]:
    text = CODE.sub("", page.read_text(encoding="utf-8"))
    out = []
    for target in LINK.findall(text):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.I) or target.startswith("#"):
            continue  # http:, https:, mailto:, in-page anchors
        out.append(target.split("#", 1)[0])
    return out


def test_pages_exist_and_have_examples() -> None:
    assert (DOCS / "tutorials" / "first-analysis.md").is_file()
    for page in RUN_PAGES:
        assert python_blocks(page), f"{page.relative_to(ROOT)} has no ```python block"


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
