"""Named analysis presets and the reference review's model-choice rule.

* ``revman5``: RevMan 5 (Deeks & Higgins, RevMan 5 statistical algorithms): DerSimonian-Laird
  tau^2, Wald z CI, no prediction interval, no CI for tau^2, a separate tau^2 in every subgroup
  and the test for subgroup differences as a fixed-effect meta-analysis of the subgroup
  estimates. RevMan's I^2 is Q-based; under DL it equals metafor's tau^2-based I^2.
* ``revman5`` with ``rule="review"``: the rule of the reference review (Zhang et al. 2020,
  RevMan 5.3): fixed effect (inverse variance) when Cochran's Q test has p >= 0.10, DL random
  effects otherwise. The decision is taken once per analysis, on all studies, and applies to
  its subgroups too (RevMan fits one model per forest plot).
* ``cochrane2025``: Cochrane's current random-effects methods (Statistical Methods Group
  recommendation implemented in RevMan, 2022-2024): REML tau^2, Hartung-Knapp-Sidik-Jonkman CI
  (untruncated, t_{k-1}), Q-profile CI for tau^2, tau^2-based I^2 and a prediction interval
  (metafor ``predict()``: t_{k-1} with the HKSJ standard error).
"""

from __future__ import annotations

from dataclasses import dataclass

from bayesmeta.errors import InputError


@dataclass(frozen=True)
class Preset:
    """A named set of `pool()` defaults: estimator, CI, prediction, tau^2 CI, subgroup tau^2.

    ``method`` is the tau^2 estimator, ``ci`` the mean's CI (``"z"`` or ``"knha"``),
    ``prediction``/``tau2_ci`` whether those intervals are computed, ``tau2_common`` one
    tau^2 shared by the subgroups; the instances are in ``PRESETS``.

    Examples:
        >>> from bayesmeta.classical import PRESETS
        >>> p = PRESETS["cochrane2025"]
        >>> p.method, p.ci, p.prediction
        ('REML', 'knha', True)
    """

    name: str
    method: str
    ci: str
    prediction: bool
    tau2_ci: bool
    tau2_common: bool
    description: str


PRESETS: dict[str, Preset] = {
    "revman5": Preset(
        "revman5",
        method="DL",
        ci="z",
        prediction=False,
        tau2_ci=False,
        tau2_common=False,
        description="RevMan 5: DL, Wald z, no prediction interval, separate tau^2 per subgroup",
    ),
    "cochrane2025": Preset(
        "cochrane2025",
        method="REML",
        ci="knha",
        prediction=True,
        tau2_ci=True,
        tau2_common=False,
        description="Cochrane 2025: REML, HKSJ, Q-profile tau^2 CI, prediction interval",
    ),
}

#: The reference review's threshold: random effects when Cochran's Q p < REVIEW_ALPHA.
REVIEW_ALPHA = 0.10


def get_preset(name: str | None) -> tuple[Preset | None, str | None]:
    """(preset, rule) for a preset name; ``"revman5-rule"`` is revman5 with ``rule="review"``.

    Case, ``-``, ``_`` and spaces are ignored; None gives ``(None, None)``; an unknown name
    raises InputError listing the valid ones.

    Examples:
        >>> from bayesmeta.classical.presets import get_preset
        >>> preset, rule = get_preset("RevMan5-rule")
        >>> preset.name, preset.method, rule
        ('revman5', 'DL', 'review')
    """
    if name is None:
        return None, None
    key = str(name).strip().lower().replace("-", "").replace("_", "").replace(" ", "")
    if key == "revman5rule":
        return PRESETS["revman5"], "review"
    if key not in PRESETS:
        valid = ", ".join([*PRESETS, "revman5-rule"])
        raise InputError(f"unknown preset '{name}'; valid presets: {valid}")
    return PRESETS[key], None


def check_rule(rule: str | None) -> str | None:
    """Validate a model-choice rule: None or ``"review"`` (any case); else InputError.

    Examples:
        >>> from bayesmeta.classical.presets import check_rule
        >>> check_rule(" Review "), check_rule(None)
        ('review', None)
    """
    if rule is None:
        return None
    if str(rule).strip().lower() != "review":
        raise InputError(
            f"unknown rule '{rule}'; valid: 'review' (FE when Cochran Q p >= 0.10, else DL)"
        )
    return "review"


def review_rule_method(q_p: float | None) -> str:
    """The reference review's rule: FE when Cochran's Q p >= 0.10 (or Q undefined), else DL.

    Args:
        q_p: Cochran's Q p-value on all studies; None when undefined (k = 1).

    Examples:
        >>> from bayesmeta.classical.presets import review_rule_method
        >>> review_rule_method(0.25), review_rule_method(0.03), review_rule_method(None)
        ('FE', 'DL', 'FE')
    """
    return "FE" if q_p is None or q_p >= REVIEW_ALPHA else "DL"
