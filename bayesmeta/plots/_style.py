"""Shared matplotlib set-up for the package's figures (Agg backend, PNG output)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

#: Colours and markers by estimate kind, so every figure uses the same legend.
KINDS: dict[str, tuple[str, str]] = {
    "published": ("black", "s"),
    "classical": ("tab:gray", "D"),
    "vague": ("tab:blue", "o"),
    "sceptical": ("tab:orange", "o"),
    "enthusiastic": ("tab:green", "o"),
    "model (exact)": ("tab:purple", "^"),  # the hierarchical subgroup model, any subgroup label
    "model (PyMC)": ("tab:red", "v"),
    "study level": ("tab:brown", "P"),
}
DPI = 150


def pyplot() -> Any:
    """matplotlib.pyplot with the non-interactive Agg backend."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def style(kind: str, index: int = 0) -> tuple[str, str]:
    """Colour and marker of ``kind``: the longest KINDS key it starts or ends with, else a
    palette."""
    keys = sorted(
        (k for k in KINDS if kind.startswith(k) or kind.endswith(k)), key=len, reverse=True
    )
    if keys:
        return KINDS[keys[0]]
    palette = ("tab:cyan", "tab:olive", "tab:pink", "navy", "teal")
    return palette[index % len(palette)], "o"


def save(fig: Any, path: str | Path) -> Path:
    """Save ``fig`` as PNG (fixed DPI, no timestamp metadata) and close it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=DPI, format="png", metadata={"Software": None})
    pyplot().close(fig)
    return path
