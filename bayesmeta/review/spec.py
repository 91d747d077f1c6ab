"""The review's declarative re-analysis spec (``models/zhang2020.toml``), validated on load.

`load_spec()` reads the TOML and returns a `ReviewSpec`. Every problem (an unknown
key, outcome, subgroup, disease or reference, a missing or mistyped value, an arm that does not
belong to its subgroup, a CI that does not contain its MD) raises
`bayesmeta.errors.InputError` with one line naming the file and the key, e.g.
``models/zhang2020.toml: key 'analyses[3].outcome': unknown outcome 'hba1', known: ...``.

Effect priors are stated in units of the reference difference ``D`` of each disease x outcome
(``D = |published overall MD|``), with the mean signed towards benefit;
`ReviewSpec.effect_prior()` resolves them to outcome units.

Examples:
    >>> from bayesmeta.review.spec import load_spec
    >>> spec = load_spec()
    >>> len(spec.analyses), len(spec.groups())
    (18, 6)
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bayesmeta._paths import models_dir
from bayesmeta._toml import TomlReader, join_key
from bayesmeta.errors import InputError

#: The fixed name of an overall (all cell types) row.
OVERALL = "all"
#: Published model labels: fixed / random effects, or one study.
MODELS = ("fixed", "random", "single")
BENEFIT = {"increase": 1, "decrease": -1}
TAU_FAMILIES = ("halfnormal", "halfcauchy")


@dataclass(frozen=True)
class Published:
    """One published pooled row as printed (2 dp): k, n, MD, its CI, model, heterogeneity p.

    ``model`` is ``"fixed"``, ``"random"`` or ``"single"`` (k = 1); ``heterogeneity_p`` is the
    printed Cochran's Q p as text (``"<0.001"``, ``"0.13"``), None for one study or when the
    text prints none; ``heterogeneity_i2`` the printed I^2 (%), if any. ``k`` (studies or
    arms) and ``n`` (patients) are None when the text does not state them.

    Examples:
        >>> from bayesmeta.review.spec import load_spec
        >>> p = load_spec().overall("T2DM", "insulin_dose").published
        >>> p.k, p.md, p.ci_low, p.ci_high, p.model, p.heterogeneity_p
        (5, -35.76, -40.47, -31.04, 'fixed', '0.13')
        >>> p.p_interval()
        (0.125, 0.135)
    """

    k: int | None
    n: int | None
    md: float
    ci_low: float
    ci_high: float
    model: str
    heterogeneity_p: str | None  # as printed, e.g. "<0.001" or "0.13"; None for one study
    heterogeneity_i2: float | None = None  # as printed, in %

    def p_interval(self) -> tuple[float, float] | None:
        """The interval the printed heterogeneity p can stand for (`p_interval()`); None if none."""
        return None if self.heterogeneity_p is None else p_interval(self.heterogeneity_p)


@dataclass(frozen=True)
class Analysis:
    """One of the review's published analyses (a row of its Results).

    An overall row has ``subgroup == "all"``; ``arms`` are ``"<ref>-<cell type>"`` ids, empty
    when the text does not say which studies an analysis pools.

    Examples:
        >>> from bayesmeta.review.spec import load_spec
        >>> a = load_spec().overall("T2DM", "insulin_dose")
        >>> a.key, a.is_overall, a.refs
        ('T2DM/insulin_dose/all', True, (17, 23, 29, 31, 33))
        >>> len(a.arms)
        6
    """

    disease: str
    outcome: str
    subgroup: str
    arms: tuple[str, ...]
    timepoint_text: str
    quote: str
    published: Published

    @property
    def key(self) -> str:
        """``"disease/outcome/subgroup"``, unique within a spec."""
        return f"{self.disease}/{self.outcome}/{self.subgroup}"

    @property
    def is_overall(self) -> bool:
        """True for the overall (all cell types) row."""
        return self.subgroup == OVERALL

    @property
    def refs(self) -> tuple[int, ...]:
        """The distinct reference numbers of the arms, ascending."""
        return tuple(sorted({arm_ref(a) for a in self.arms}))


@dataclass(frozen=True)
class Outcome:
    """An outcome: label, unit, direction of benefit and optional sourced yardsticks.

    ``benefit`` is ``"increase"`` or ``"decrease"``; ``short`` is how running text names it
    (``short_label``, default the label); ``mcid``, ``typical_sd`` and ``typical_change_sd``
    are `Sourced` values or None when the spec declares none.

    Examples:
        >>> from bayesmeta.review.spec import load_spec
        >>> o = load_spec().outcomes["hba1c"]
        >>> o.benefit, o.sign, o.mcid is None
        ('decrease', -1, True)
    """

    name: str
    label: str
    unit: str
    benefit: str  # "increase" | "decrease"
    note: str
    mcid: Sourced | None = None
    typical_sd: Sourced | None = None  # a sourced between-patient SD (plausibility yardstick)
    typical_change_sd: Sourced | None = None  # a sourced SD of within-patient change
    short_label: str = ""

    @property
    def short(self) -> str:
        """The short name for running text (``short_label``, else ``label``)."""
        return self.short_label or self.label

    @property
    def sign(self) -> int:
        """+1 if an increase is a benefit, -1 if a decrease is."""
        return BENEFIT[self.benefit]


@dataclass(frozen=True)
class Sourced:
    """A sourced positive quantity: a clinically meaningful difference or a typical SD.

    Examples:
        >>> from bayesmeta.review.spec import load_spec
        >>> sd = load_spec().outcomes["hba1c"].typical_sd
        >>> sd.value, sd.unit
        (1.4, 'percentage points')
    """

    value: float
    unit: str
    source: str


@dataclass(frozen=True)
class Reference:
    """A study of the review by its reference number, with the cell types of its arms.

    Examples:
        >>> from bayesmeta.review.spec import load_spec
        >>> load_spec().references[23]
        Reference(ref=23, study='Bhansali 2017', arms=('MSC', 'BM-MNC'))
    """

    ref: int
    study: str
    arms: tuple[str, ...]  # cell types


@dataclass(frozen=True)
class Figure:
    """A forest-plot figure of the review: its outcome and what its caption says.

    Examples:
        >>> from bayesmeta.review.spec import load_spec
        >>> f = load_spec().figures[6]
        >>> f.disease, f.outcome, "Mantel-Haenszel" in f.caption_model
        ('T2DM', 'insulin_dose', True)
    """

    number: int
    disease: str
    outcome: str
    caption_model: str
    caption_timepoint: str


@dataclass(frozen=True)
class ModelRule:
    """The review's rule: ``if_significant`` when the Q test's p < alpha, else ``otherwise``;
    with ``test == "none"`` one method for every pooled row (``otherwise``).

    Examples:
        >>> from bayesmeta.review.spec import ModelRule, load_spec
        >>> rule = load_spec().rule
        >>> rule.alpha, rule.choose(0.13), rule.choose(0.05)
        (0.1, 'FE', 'DL')
        >>> ModelRule.always("DL", "random-effects model").choose(0.5)
        'DL'
    """

    alpha: float
    if_significant: str
    otherwise: str
    quote: str
    test: str = "cochran_q"

    @classmethod
    def always(cls, method: str, quote: str = "") -> ModelRule:
        """The rule of a review that pools every row with ``method`` (no heterogeneity test)."""
        return cls(0.0, method, method, quote, "none")

    def choose(self, q_p: float) -> str:
        """The method (``"DL"`` or ``"FE"``) the rule picks for a heterogeneity p of ``q_p``."""
        return self.if_significant if q_p < self.alpha else self.otherwise


@dataclass(frozen=True)
class EffectPrior:
    """Normal effect prior in units of D: mean (towards benefit) and sd.

    `ReviewSpec.effect_prior()` turns it into outcome units.

    Examples:
        >>> from bayesmeta.review.spec import load_spec
        >>> p = load_spec().effect_priors["sceptical"]
        >>> p.mean, p.sd
        (0.0, 0.6079)
    """

    name: str
    mean: float
    sd: float
    rationale: str


@dataclass(frozen=True)
class CellTypePrior:
    """Priors of the cell-type model: ``mu`` names an effect prior; tau ~ family(scale x D).

    Examples:
        >>> from bayesmeta.review.spec import load_spec
        >>> c = load_spec().cell_type_prior
        >>> c.mu, c.tau_family, c.tau_scale
        ('vague', 'halfnormal', 1.0)
    """

    mu: str  # name of an effect prior
    tau_family: str
    tau_scale: float  # in units of D
    rationale: str


@dataclass(frozen=True)
class StudyLevel:
    """The pre/post correlation r of the study-level paired analysis and its sensitivity values.

    Defaults (no ``[study_level]`` table): r = 0.5, no sensitivity values.

    Examples:
        >>> from bayesmeta.review.spec import load_spec
        >>> sl = load_spec().study_level
        >>> sl.r, sl.r_sensitivity
        (0.5, (0.0, 0.8))
    """

    r: float
    r_sensitivity: tuple[float, ...]
    rationale: str


@dataclass(frozen=True)
class ReviewSpec:
    """The validated spec (see the module docstring), as returned by `load_spec()`.

    Effect priors resolve to outcome units through the reference difference
    ``D = |published overall MD|``: prior mean ``sign x mean x D``, sd ``sd x D``, where
    ``sign`` is +1 if an increase is the benefit and -1 if a decrease is.

    Examples:
        >>> from bayesmeta.review.spec import load_spec
        >>> spec = load_spec()
        >>> spec.level, spec.reference_difference("T2DM", "hba1c")
        (0.95, 0.87)
        >>> [round(v, 4) for v in spec.effect_prior("enthusiastic", "T2DM", "hba1c")]
        [-0.87, 0.5289]
        >>> spec.mu_prior_text("T2DM", "hba1c"), spec.tau_prior_text("T2DM", "hba1c")
        ('normal(0, 87)', 'halfnormal(0.87)')
        >>> [a.subgroup for a in spec.subgroups("T2DM", "hba1c")]
        ['MSC', 'BM-MNC']
    """

    path: str
    review: dict[str, Any]
    rule: ModelRule
    cell_types: dict[str, str]
    references: dict[int, Reference]
    outcomes: dict[str, Outcome]
    figures: dict[int, Figure]
    prior_rationale: str
    effect_priors: dict[str, EffectPrior]
    cell_type_prior: CellTypePrior
    study_level: StudyLevel
    analyses: tuple[Analysis, ...]

    @property
    def level(self) -> float:
        """The confidence level of the published intervals (``review.level``)."""
        return float(self.review["level"])

    @property
    def title(self) -> str:
        """The report's title: ``review.title``, else one built from ``review.id``."""
        return str(self.review.get("title") or f"Re-analysis of {self.review['id']}")

    @property
    def subgroup_label(self) -> str:
        """What the subgroups are (``review.subgroup_label``, default ``"cell type"``)."""
        return str(self.review.get("subgroup_label") or "cell type")

    @property
    def short_name(self) -> str:
        """How the report names the review (``review.short_name``, else its id)."""
        return str(self.review.get("short_name") or self.review["id"])

    def dataset(self, key: str) -> Any:
        """The data set ``review.<key>`` names (``table1``, ``adverse_events``): a shipped
        data set's name or a CSV path relative to the spec; None if the spec names none."""
        name = self.review.get(key)
        if not name:
            return None
        from bayesmeta import datasets

        path = Path(self.path).parent / str(name)
        if str(name).endswith(".csv") and path.exists():
            import pandas as pd

            return pd.read_csv(path)
        return datasets.load(str(name))

    def model_file(self, key: str) -> Path | None:
        """The file ``review.<key>`` names (``simulation``): beside the spec, else a shipped
        spec in ``models/``; None if the spec names none."""
        name = self.review.get(key)
        if not name:
            return None
        beside = Path(self.path).parent / str(name)
        return beside if beside.exists() else models_dir() / str(name)

    def groups(self) -> list[tuple[str, str]]:
        """(disease, outcome) pairs in spec order."""
        seen: list[tuple[str, str]] = []
        for a in self.analyses:
            if (a.disease, a.outcome) not in seen:
                seen.append((a.disease, a.outcome))
        return seen

    def overall(self, disease: str, outcome: str) -> Analysis:
        """The overall row of a disease and outcome (KeyError if there is none)."""
        for a in self.analyses:
            if a.disease == disease and a.outcome == outcome and a.is_overall:
                return a
        raise KeyError(f"no overall row for {disease}/{outcome}")

    def subgroups(self, disease: str, outcome: str) -> list[Analysis]:
        """The subgroup (cell-type) rows of a disease and outcome, in spec order."""
        return [
            a
            for a in self.analyses
            if a.disease == disease and a.outcome == outcome and not a.is_overall
        ]

    def figure(self, disease: str, outcome: str) -> Figure | None:
        """The forest-plot figure of a disease and outcome, or None."""
        for f in self.figures.values():
            if f.disease == disease and f.outcome == outcome:
                return f
        return None

    def reference_difference(self, disease: str, outcome: str) -> float:
        """D: the absolute published overall MD of this disease and outcome."""
        return abs(self.overall(disease, outcome).published.md)

    def effect_prior(self, name: str, disease: str, outcome: str) -> tuple[float, float]:
        """(mean, sd) of effect prior ``name`` in outcome units: ``(sign m D, s D)``."""
        p = self.effect_priors[name]
        d = self.reference_difference(disease, outcome)
        sign = self.outcomes[outcome].sign
        return sign * p.mean * d + 0.0, p.sd * d  # + 0.0: no negative zero

    def tau_prior_text(self, disease: str, outcome: str) -> str:
        """The cell-type model's tau prior in outcome units, e.g. ``"halfnormal(0.87)"``."""
        scale = self.cell_type_prior.tau_scale * self.reference_difference(disease, outcome)
        return f"{self.cell_type_prior.tau_family}({_g(scale)})"

    def mu_prior_text(self, disease: str, outcome: str) -> str:
        """The cell-type model's mu prior in outcome units, e.g. ``"normal(0, 87)"``."""
        mean, sd = self.effect_prior(self.cell_type_prior.mu, disease, outcome)
        return f"normal({_g(mean)}, {_g(sd)})"


def _g(x: float) -> str:
    """A compact, exact-enough number for prior strings (8 significant digits)."""
    out = f"{x:.8g}"
    return "0" if out == "-0" else out


def arm_ref(arm: str) -> int:
    """The reference number of an arm id ``"<ref>-<cell type>"``.

    Examples:
        >>> from bayesmeta.review.spec import arm_ref
        >>> arm_ref("23-BM-MNC")
        23
    """
    return int(arm.split("-", 1)[0])


def arm_cell_type(arm: str) -> str:
    """The cell type of an arm id ``"<ref>-<cell type>"`` (everything after the first ``-``).

    Examples:
        >>> from bayesmeta.review.spec import arm_cell_type
        >>> arm_cell_type("23-BM-MNC")
        'BM-MNC'
    """
    return arm.split("-", 1)[1]


def p_interval(text: str) -> tuple[float, float]:
    """The interval a printed p value stands for: "<0.001" -> (0, 0.001); "0.13" -> [0.125, 0.135).

    A value printed with d decimals stands for +/- half a unit in the last place, clipped to
    [0, 1]; ``"<x"`` stands for [0, x).

    Examples:
        >>> from bayesmeta.review.spec import p_interval
        >>> p_interval("0.13"), p_interval("<0.001")
        ((0.125, 0.135), (0.0, 0.001))
    """
    t = str(text).strip().replace(" ", "")
    if t.startswith("<"):
        hi = float(t[1:])
        return 0.0, hi
    x = float(t)
    decimals = len(t.split(".")[1]) if "." in t else 0
    half = 0.5 * 10.0**-decimals
    return max(x - half, 0.0), min(x + half, 1.0)


# --------------------------------------------------------------------------- validation


class _Reader(TomlReader):
    """Typed access to the review spec's tables (`bayesmeta._toml.TomlReader`)."""

    def string(self, obj: Mapping[str, Any], name: str, key: str, *, empty: bool = True) -> str:
        v = obj[name]
        if not isinstance(v, str):
            raise self.fail(join_key(key, name), f"must be a string, got {v!r}")
        if not empty and not v.strip():
            raise self.fail(join_key(key, name), "must not be empty")
        return v

    def number(self, obj: Mapping[str, Any], name: str, key: str) -> float:
        v = obj[name]
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            raise self.fail(join_key(key, name), f"must be a finite number, got {v!r}")
        return float(v)

    def integer(self, obj: Mapping[str, Any], name: str, key: str, minimum: int = 0) -> int:
        v = obj[name]
        if isinstance(v, bool) or not isinstance(v, int) or v < minimum:
            raise self.fail(join_key(key, name), f"must be an integer >= {minimum}, got {v!r}")
        return int(v)

    def choice(self, obj: Mapping[str, Any], name: str, key: str, options: Any) -> str:
        v = self.string(obj, name, key)
        if v not in options:
            raise self.fail(
                join_key(key, name), f"unknown {name} '{v}', known: {', '.join(map(str, options))}"
            )
        return v

    def strings(self, obj: Mapping[str, Any], name: str, key: str) -> tuple[str, ...]:
        v = obj[name]
        if not isinstance(v, list) or not v or not all(isinstance(x, str) for x in v):
            raise self.fail(join_key(key, name), f"must be a non-empty list of strings, got {v!r}")
        return tuple(v)


def load_spec(path: str | Path | None = None) -> ReviewSpec:
    """Read and validate a review spec (default: the shipped ``models/zhang2020.toml``).

    Args:
        path: a TOML spec file; None for the shipped reference review.

    Returns:
        The validated `ReviewSpec`.

    Raises:
        InputError: missing file, invalid TOML, or any spec problem (see `parse_spec()`).

    Examples:
        >>> from bayesmeta.review.spec import load_spec
        >>> spec = load_spec()
        >>> spec.review["id"], spec.analyses[0].key
        ('zhang2020', 'T1DM/c_peptide/all')
    """
    path = Path(path) if path is not None else models_dir() / "zhang2020.toml"
    name = str(path)
    if not path.exists():
        raise InputError("spec file not found", file=name)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"not valid TOML ({exc})", file=name) from None
    return parse_spec(raw, name)


def parse_spec(raw: Mapping[str, Any], name: str = "<spec>") -> ReviewSpec:
    """Validate an already-parsed spec dictionary (see `load_spec()`); ``name`` labels errors.

    Examples:
        >>> from bayesmeta.review.spec import parse_spec
        >>> parse_spec({"review": {}}, "my.toml")
        Traceback (most recent call last):
            ...
        bayesmeta.errors.InputError: my.toml: key 'model_rule': missing required key
    """
    r = _Reader(name)
    top = r.table(
        raw,
        "",
        ("review", "model_rule", "cell_types", "outcomes", "priors", "analyses"),
        ("references", "figures", "study_level"),
    )
    review = dict(
        r.table(
            top["review"],
            "review",
            ("id", "citation", "level", "diseases"),
            (
                "doi",
                "effect",
                "contrast",
                "software",
                "title",
                "short_name",
                "table1",
                "adverse_events",
                "subgroup_label",
                "simulation",
            ),
        )  # fmt: skip
    )
    for key in ("title", "short_name", "table1", "adverse_events", "subgroup_label", "simulation"):
        if key in review and not (isinstance(review[key], str) and review[key].strip()):
            raise r.fail(f"review.{key}", "must be a non-empty string")
    level = r.number(review, "level", "review")
    if not 0 < level < 1:
        raise r.fail("review.level", f"must be between 0 and 1, got {level}")
    diseases = r.strings(review, "diseases", "review")

    mr_raw = top["model_rule"]
    test = mr_raw.get("test") if isinstance(mr_raw, Mapping) else None
    if test == "none":  # one method for every pooled row
        mr = r.table(mr_raw, "model_rule", ("test", "method"), ("quote",))
        rule = ModelRule.always(
            r.choice(mr, "method", "model_rule", ("DL", "FE")), str(mr.get("quote", ""))
        )
    else:
        mr = r.table(
            mr_raw,
            "model_rule",
            ("test", "alpha", "if_significant", "otherwise"),
            ("quote",),
        )
        r.choice(mr, "test", "model_rule", ("cochran_q", "none"))
        alpha = r.number(mr, "alpha", "model_rule")
        if not 0 < alpha < 1:
            raise r.fail("model_rule.alpha", f"must be between 0 and 1, got {alpha}")
        rule = ModelRule(
            alpha,
            r.choice(mr, "if_significant", "model_rule", ("DL", "FE")),
            r.choice(mr, "otherwise", "model_rule", ("DL", "FE")),
            str(mr.get("quote", "")),
        )

    ct = top["cell_types"]
    if not isinstance(ct, Mapping) or not ct:
        raise r.fail("cell_types", "must be a non-empty table of name = description")
    cell_types = {k: r.string(ct, k, "cell_types") for k in ct}
    if OVERALL in cell_types:
        raise r.fail(f"cell_types.{OVERALL}", f"'{OVERALL}' is reserved for overall rows")

    references: dict[int, Reference] = {}
    refs_raw = top.get("references", {})
    if not isinstance(refs_raw, Mapping):
        raise r.fail("references", "must be a table of reference number = {study, arms}")
    for k, v in refs_raw.items():
        key = f"references.{k}"
        if not str(k).isdigit():
            raise r.fail(key, "a reference must be the review's reference number")
        t = r.table(v, key, ("study", "arms"))
        arms = r.strings(t, "arms", key)
        for c in arms:
            if c not in cell_types:
                raise r.fail(
                    f"{key}.arms", f"unknown cell type '{c}', known: {', '.join(cell_types)}"
                )
        references[int(k)] = Reference(int(k), r.string(t, "study", key, empty=False), arms)

    outcomes: dict[str, Outcome] = {}
    oc_raw = top["outcomes"]
    if not isinstance(oc_raw, Mapping) or not oc_raw:
        raise r.fail("outcomes", "must be a non-empty table")
    for k, v in oc_raw.items():
        key = f"outcomes.{k}"
        t = r.table(
            v,
            key,
            ("label", "unit", "benefit"),
            ("note", "mcid", "typical_sd", "typical_change_sd", "short_label"),
        )
        sourced = {
            field: _sourced(r, t[field], f"{key}.{field}")
            for field in ("mcid", "typical_sd", "typical_change_sd")
            if field in t
        }
        outcomes[k] = Outcome(
            k,
            r.string(t, "label", key, empty=False),
            r.string(t, "unit", key),
            r.choice(t, "benefit", key, tuple(BENEFIT)),
            str(t.get("note", "")),
            **sourced,
            short_label=r.string(t, "short_label", key) if "short_label" in t else "",
        )

    figures: dict[int, Figure] = {}
    for k, v in dict(top.get("figures", {})).items():
        key = f"figures.{k}"
        if not str(k).isdigit():
            raise r.fail(key, "a figure must be the review's figure number")
        t = r.table(v, key, ("disease", "outcome", "caption_model", "caption_timepoint"))
        figures[int(k)] = Figure(
            int(k),
            r.choice(t, "disease", key, diseases),
            r.choice(t, "outcome", key, tuple(outcomes)),
            r.string(t, "caption_model", key),
            r.string(t, "caption_timepoint", key),
        )

    pr = r.table(
        top["priors"],
        "priors",
        ("reference_difference", "effect", "cell_type_model"),
        ("rationale",),
    )
    r.choice(pr, "reference_difference", "priors", ("published_overall",))
    eff = pr["effect"]
    if not isinstance(eff, Mapping) or not eff:
        raise r.fail("priors.effect", "must be a non-empty table of prior sets")
    effect_priors: dict[str, EffectPrior] = {}
    for k, v in eff.items():
        key = f"priors.effect.{k}"
        t = r.table(v, key, ("mean", "sd", "rationale"))
        sd = r.number(t, "sd", key)
        if sd <= 0:
            raise r.fail(f"{key}.sd", f"must be > 0, got {sd}")
        effect_priors[k] = EffectPrior(
            k, r.number(t, "mean", key), sd, r.string(t, "rationale", key, empty=False)
        )
    for required in ("vague", "sceptical", "enthusiastic"):
        if required not in effect_priors:
            raise r.fail(f"priors.effect.{required}", "missing required prior set")
    key = "priors.cell_type_model"
    t = r.table(pr["cell_type_model"], key, ("mu", "tau_family", "tau_scale", "rationale"))
    tau_scale = r.number(t, "tau_scale", key)
    if tau_scale <= 0:
        raise r.fail(f"{key}.tau_scale", f"must be > 0, got {tau_scale}")
    cell_type_prior = CellTypePrior(
        r.choice(t, "mu", key, tuple(effect_priors)),
        r.choice(t, "tau_family", key, TAU_FAMILIES),
        tau_scale,
        r.string(t, "rationale", key, empty=False),
    )

    sl = r.table(
        top.get("study_level", {"r": 0.5, "r_sensitivity": [], "rationale": "default"}),
        "study_level",
        ("r",),
        ("r_sensitivity", "rationale"),
    )
    rr = r.number(sl, "r", "study_level")
    sens = sl.get("r_sensitivity", [])
    if not isinstance(sens, list) or not all(
        isinstance(x, (int, float)) and not isinstance(x, bool) for x in sens
    ):
        raise r.fail("study_level.r_sensitivity", f"must be a list of numbers, got {sens!r}")
    for x in (rr, *sens):
        if not -1 <= x <= 1:
            raise r.fail("study_level.r", f"a correlation must be in [-1, 1], got {x}")
    study_level = StudyLevel(rr, tuple(float(x) for x in sens), str(sl.get("rationale", "")))

    an_raw = top["analyses"]
    if not isinstance(an_raw, list) or not an_raw:
        raise r.fail("analyses", "must be a non-empty array of tables ([[analyses]])")
    analyses = tuple(
        _analysis(r, a, f"analyses[{i}]", diseases, outcomes, cell_types, references)
        for i, a in enumerate(an_raw)
    )
    _check_analyses(r, analyses)
    return ReviewSpec(
        path=name,
        review=review,
        rule=rule,
        cell_types=cell_types,
        references=references,
        outcomes=outcomes,
        figures=figures,
        prior_rationale=str(pr.get("rationale", "")),
        effect_priors=effect_priors,
        cell_type_prior=cell_type_prior,
        study_level=study_level,
        analyses=analyses,
    )


def _sourced(r: _Reader, obj: Any, key: str) -> Sourced:
    """A positive value with its unit and a non-empty source (never a number without one)."""
    m = r.table(obj, key, ("value", "unit", "source"))
    value = r.number(m, "value", key)
    if value <= 0:
        raise r.fail(f"{key}.value", f"must be > 0, got {value}")
    return Sourced(
        value, r.string(m, "unit", key, empty=False), r.string(m, "source", key, empty=False)
    )


def _analysis(
    r: _Reader,
    obj: Any,
    key: str,
    diseases: tuple[str, ...],
    outcomes: Mapping[str, Outcome],
    cell_types: Mapping[str, str],
    references: Mapping[int, Reference],
) -> Analysis:
    t = r.table(
        obj,
        key,
        ("disease", "outcome", "subgroup", "published"),
        ("arms", "timepoint_text", "quote"),
    )
    disease = r.choice(t, "disease", key, diseases)
    outcome = r.choice(t, "outcome", key, tuple(outcomes))
    subgroup = r.choice(t, "subgroup", key, (OVERALL, *cell_types))
    arms = r.strings(t, "arms", key) if "arms" in t else ()  # () = not stated in the text
    for arm in arms:
        akey = f"{key}.arms"
        ref_text, _, cell = arm.partition("-")
        if not ref_text.isdigit() or not cell:
            raise r.fail(akey, f"arm '{arm}' must be '<ref>-<cell type>', e.g. '23-MSC'")
        ref = int(ref_text)
        if ref not in references:
            raise r.fail(akey, f"unknown reference {ref} in arm '{arm}' (not in [references])")
        if cell not in references[ref].arms:
            raise r.fail(
                akey,
                f"reference {ref} has no {cell} arm (its arms: {', '.join(references[ref].arms)})",
            )
        if subgroup != OVERALL and cell != subgroup:
            raise r.fail(akey, f"arm '{arm}' is not a {subgroup} arm")
    if len(set(arms)) != len(arms):
        raise r.fail(f"{key}.arms", "an arm is listed twice")
    pkey = f"{key}.published"
    p = r.table(
        t["published"],
        pkey,
        ("md", "ci", "model"),
        ("k", "n", "heterogeneity_p", "heterogeneity_i2"),
    )
    ci = p["ci"]
    if (
        not isinstance(ci, list)
        or len(ci) != 2
        or not all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in ci)
    ):
        raise r.fail(f"{pkey}.ci", f"must be [low, high], got {ci!r}")
    md = r.number(p, "md", pkey)
    lo, hi = float(ci[0]), float(ci[1])
    if not lo <= md <= hi:
        raise r.fail(f"{pkey}.ci", f"[{lo}, {hi}] does not contain md = {md}")
    model = r.choice(p, "model", pkey, MODELS)
    k = r.integer(p, "k", pkey, minimum=1) if "k" in p else None
    if arms and k is None:
        raise r.fail(f"{pkey}.k", "missing (required when the analysis lists its arms)")
    if model == "single" and k is None:
        raise r.fail(f"{pkey}.k", "missing (a 'single' row has k = 1)")
    if k is not None and (model == "single") != (k == 1):
        raise r.fail(f"{pkey}.model", f"'{model}' with k = {k} (single <=> k = 1)")
    hp: str | None = None
    if "heterogeneity_p" in p:
        v = p["heterogeneity_p"]
        hp = str(v).strip() if not isinstance(v, bool) else ""
        try:
            lo_p, hi_p = p_interval(hp)
        except ValueError:
            raise r.fail(f"{pkey}.heterogeneity_p", f"not a p value: {v!r}") from None
        if not 0 <= lo_p < hi_p <= 1:
            raise r.fail(f"{pkey}.heterogeneity_p", f"not a p value in (0, 1]: {v!r}")
    elif model != "single" and arms:
        raise r.fail(
            f"{pkey}.heterogeneity_p",
            "missing (required unless model = 'single' or the analysis lists no arms)",
        )
    i2: float | None = None
    if "heterogeneity_i2" in p:
        i2 = r.number(p, "heterogeneity_i2", pkey)
        if not 0 <= i2 <= 100:
            raise r.fail(f"{pkey}.heterogeneity_i2", f"an I^2 in % must be in [0, 100], got {i2}")
    refs = {arm_ref(a) for a in arms}
    units = len(refs) if subgroup == OVERALL else len(arms)
    if arms and k != units:
        what = "trials (distinct references)" if subgroup == OVERALL else "arms"
        raise r.fail(f"{pkey}.k", f"k = {k} but the analysis lists {units} {what}")
    return Analysis(
        disease,
        outcome,
        subgroup,
        arms,
        str(t.get("timepoint_text", "")),
        str(t.get("quote", "")),
        Published(
            k, r.integer(p, "n", pkey, minimum=1) if "n" in p else None, md, lo, hi, model, hp, i2
        ),
    )


def _check_analyses(r: _Reader, analyses: tuple[Analysis, ...]) -> None:
    """Cross-row rules: unique rows, one overall per outcome, overall arms = union of subgroups."""
    seen: dict[str, int] = {}
    for i, a in enumerate(analyses):
        if a.key in seen:
            raise r.fail(
                f"analyses[{i}]", f"duplicate analysis {a.key} (also analyses[{seen[a.key]}])"
            )
        seen[a.key] = i
    groups = {(a.disease, a.outcome) for a in analyses}
    for d, o in sorted(groups):
        rows = [(i, a) for i, a in enumerate(analyses) if a.disease == d and a.outcome == o]
        overall = [(i, a) for i, a in rows if a.is_overall]
        if len(overall) != 1:
            i0 = rows[0][0]
            raise r.fail(f"analyses[{i0}]", f"{d}/{o} needs exactly one subgroup = '{OVERALL}' row")
        i, a = overall[0]
        subs = [s for _, s in rows if not s.is_overall]
        sub_arms = {arm for s in subs for arm in s.arms}
        listed = bool(a.arms) and all(s.arms for s in subs)
        if listed and sub_arms and sub_arms != set(a.arms):
            raise r.fail(
                f"analyses[{i}].arms",
                f"overall arms differ from the union of its subgroups' arms "
                f"({', '.join(sorted(set(a.arms) ^ sub_arms))})",
            )
