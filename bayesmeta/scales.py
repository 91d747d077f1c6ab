"""How an effect measure is named and drawn: ratio measures on the ratio scale (log axis,
null at 1, as RevMan and metafor's ``atransf = exp`` show them), differences as they are.

Light on purpose (no NumPy import): the CLI, the plots and the reports share it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

#: Display names of the measure codes (RevMan 5 wording where RevMan has the measure).
MEASURE_NAMES: dict[str, str] = {
    "OR": "Odds ratio",
    "PETO": "Peto odds ratio",
    "PETO_OR": "Peto odds ratio",
    "RR": "Risk ratio",
    "HR": "Hazard ratio",
    "IRR": "Incidence rate ratio",
    "ROM": "Ratio of means",
    "RD": "Risk difference",
    "MD": "Mean difference",
    "SMD": "Std. mean difference",
    "BA": "Mean difference (after - before)",
    "MC": "Mean change",
    "SMCR": "Std. mean change",
    "PPC": "Pre-post-control SMD",
    "PLO": "Log odds (proportion)",
    "PR": "Proportion",
}

#: Measures whose ``yi`` are logarithms of ratios; shown exponentiated.
RATIO_MEASURES = frozenset({"OR", "PETO", "PETO_OR", "RR", "HR", "IRR", "ROM"})


@dataclass(frozen=True)
class Scale:
    """The display scale of a measure code (None: not known).

    Examples:
        >>> from bayesmeta.scales import Scale
        >>> s = Scale.of("OR")
        >>> s.name, s.ratio, s.null, s.axis_label, s.show(0.0)
        ('Odds ratio', True, 1.0, 'Odds ratio (log scale)', 1.0)
        >>> Scale.of("MD").axis_label, Scale.of(None).axis_label
        ('Mean difference', 'Effect size (measure not given)')
    """

    measure: str | None
    name: str
    ratio: bool

    @classmethod
    def of(cls, measure: str | None) -> Scale:
        """The scale of ``measure`` (case-insensitive code; an unknown code is its own name)."""
        if measure is None or not str(measure).strip():
            return cls(None, "Effect size", False)
        key = str(measure).strip().upper()
        return cls(key, MEASURE_NAMES.get(key, key), key in RATIO_MEASURES)

    @property
    def null(self) -> float:
        """The no-effect value on the display scale: 1 for ratios, else 0."""
        return 1.0 if self.ratio else 0.0

    @property
    def axis_label(self) -> str:
        """The x-axis label: the measure's name, '(log scale)' for ratios."""
        if self.measure is None:
            return "Effect size (measure not given)"
        return f"{self.name} (log scale)" if self.ratio else self.name

    @property
    def model_label(self) -> str:
        """What the analysis scale is called in a tau or posterior axis label."""
        if self.measure is None:
            return "effect size"
        return f"log {self.name.lower()}" if self.ratio else self.name.lower()

    def show(self, x: float) -> float:
        """A value of the analysis scale on the display scale (exp for ratios)."""
        return math.exp(x) if self.ratio else x
