"""The simulation-study spec (TOML), validated on load.

Layout (every key is checked; an unknown or mistyped key raises
`bayesmeta.errors.InputError` with one line naming the file and the key)::

    [study]
    name = "demo"
    seed = 20261125            # root entropy of every replicate's SeedSequence
    level = 0.95               # interval level (default 0.95)
    replicates = 400           # per scenario (classical methods)
    bayes_replicates = 100     # per scenario for the exact Bayesian methods (<= replicates)
    chunk_size = 100           # replicates per task
    methods = ["FE", "DL-Wald", "REML-HKSJ", "PM-HKSJ", "review-rule"]

    [[bayes]]                  # optional, any number: exact normal-normal posteriors
    name = "bayes-HN1"
    tau_prior = "halfnormal(1)"
    mu_prior = "normal(0, 10)"

    [truth_prior]              # optional: where a scenario says mu/tau = "prior"
    mu = "normal(0, 1)"
    tau = "halfnormal(0.5)"

    [[scenarios]]              # a grid: one scenario per (k, mu, tau)
    name = "general"
    k = [2, 3, 5]
    mu = [0.0]                 # or "prior"
    tau = [0.0, 0.5]           # or "prior"
    tau_unit = "abs"           # "abs" or "se": tau in multiples of the typical SE
    se = { dist = "uniform", low = 0.1, high = 0.5 }   # or "loguniform", or a fixed list of k
    replicates = 400           # optional overrides of [study] replicates / bayes_replicates
    bayes_replicates = 100

The typical SE (for ``tau_unit = "se"``) is the median of a fixed list, the midpoint of a
uniform and the geometric midpoint of a log-uniform range.
"""

from __future__ import annotations

import hashlib
import json
import math
import tomllib
import zlib
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bayesmeta._toml import TomlReader
from bayesmeta.errors import InputError
from bayesmeta.priors import Kind, parse_prior

#: Classical methods by spec name: (tau^2 estimator, test); "review-rule" is the Q rule.
CLASSICAL = {
    "FE": ("FE", "z"),
    "DL-Wald": ("DL", "z"),
    "REML-HKSJ": ("REML", "knha"),
    "PM-HKSJ": ("PM", "knha"),
    "review-rule": ("rule", "z"),
}
#: The review's model rule: fixed effect if the Q test's p >= RULE_ALPHA, else DL (Wald).
RULE_ALPHA = 0.10
SE_DISTS = ("uniform", "loguniform")
TAU_UNITS = ("abs", "se")
PRIOR = "prior"
#: Limits checked before anything is allocated: studies per meta-analysis, replicates per
#: scenario, and simulated studies in all (sum over scenarios of replicates x k).
MAX_K, MAX_REPLICATES, MAX_STUDY_DRAWS = 100_000, 10_000_000, 10**10


@dataclass(frozen=True)
class BayesMethod:
    """An exact normal-normal posterior method of a ``[[bayes]]`` table (canonical prior text).

    Examples:
        >>> from bayesmeta.simulate import parse_spec
        >>> spec = parse_spec({
        ...     "study": {"name": "b", "seed": 1, "replicates": 10, "methods": []},
        ...     "bayes": [{"name": "HN", "tau_prior": "halfnormal( 0.5 )",
        ...                "mu_prior": "normal(0,1)"}],
        ...     "scenarios": [{"name": "s", "k": 3, "mu": 0.0, "tau": 0.1, "se": [0.1, 0.2, 0.3]}]})
        >>> spec.bayes[0]
        BayesMethod(name='HN', tau_prior='halfnormal(0.5)', mu_prior='normal(0, 1)')
    """

    name: str
    tau_prior: str  # canonical prior text
    mu_prior: str


@dataclass(frozen=True)
class SEDist:
    """Within-study standard errors: ``dist`` in SE_DISTS with (low, high), or fixed values.

    ``typical`` (the SE that ``tau_unit = "se"`` multiplies) is the median of fixed values,
    the midpoint of a uniform and the geometric midpoint sqrt(low high) of a log-uniform.

    Examples:
        >>> from bayesmeta.simulate.spec import SEDist
        >>> se = SEDist("loguniform", 0.1, 0.4)
        >>> se.label(), round(se.typical, 4)
        ('loguniform(0.1,0.4)', 0.2)
        >>> SEDist("fixed", values=(0.1, 0.2, 0.4, 0.3)).typical
        0.25
    """

    dist: str  # "uniform" | "loguniform" | "fixed"
    low: float = math.nan
    high: float = math.nan
    values: tuple[float, ...] = ()

    @property
    def typical(self) -> float:
        if self.dist == "fixed":
            v = sorted(self.values)
            n = len(v)
            return v[n // 2] if n % 2 else 0.5 * (v[n // 2 - 1] + v[n // 2])
        if self.dist == "uniform":
            return 0.5 * (self.low + self.high)
        return math.sqrt(self.low * self.high)

    def label(self) -> str:
        if self.dist == "fixed":
            return "[" + ",".join(f"{v:g}" for v in self.values) + "]"
        return f"{self.dist}({self.low:g},{self.high:g})"


@dataclass(frozen=True)
class Scenario:
    """One cell of the grid. ``mu``/``tau`` are None when drawn from the truth prior.

    ``id`` names the cell; ``key`` (CRC-32 of the id) seeds its replicates.

    Examples:
        >>> from bayesmeta.simulate import parse_spec
        >>> spec = parse_spec({
        ...     "study": {"name": "d", "seed": 1, "replicates": 10, "methods": ["FE"]},
        ...     "scenarios": [{"name": "g", "k": [3, 5], "mu": 0.0, "tau": [0.0, 1.0],
        ...                    "tau_unit": "se",
        ...                    "se": {"dist": "uniform", "low": 0.1, "high": 0.3}}]})
        >>> sc = spec.scenarios[1]
        >>> sc.id, round(sc.tau, 4), sc.from_prior
        ('g|k=3|mu=0|tau=1se|se=uniform(0.1,0.3)', 0.2, False)
    """

    group: str
    k: int
    mu: float | None
    tau: float | None  # absolute tau (already multiplied out for tau_unit="se")
    tau_label: str  # as declared, e.g. "0.5", "0.5se" or "prior"
    se: SEDist
    replicates: int
    bayes_replicates: int

    @property
    def id(self) -> str:
        mu = PRIOR if self.mu is None else f"{self.mu:g}"
        return f"{self.group}|k={self.k}|mu={mu}|tau={self.tau_label}|se={self.se.label()}"

    @property
    def key(self) -> int:
        """A stable 32-bit key for the SeedSequence spawn key (CRC-32 of the id)."""
        return zlib.crc32(self.id.encode())

    @property
    def from_prior(self) -> bool:
        return self.mu is None and self.tau is None


@dataclass(frozen=True)
class Chunk:
    """One task: replicates ``start .. stop - 1`` of scenario ``scenario`` (its ``index``-th).

    Examples:
        >>> from bayesmeta.simulate import parse_spec
        >>> spec = parse_spec({
        ...     "study": {"name": "c", "seed": 1, "replicates": 25, "chunk_size": 10,
        ...               "methods": ["FE"]},
        ...     "scenarios": [{"name": "s", "k": 3, "mu": 0.0, "tau": 0.0, "se": [0.1, 0.2, 0.3]}]})
        >>> spec.chunks()[-1]
        Chunk(scenario=0, index=2, start=20, stop=25)
    """

    scenario: int  # index into StudySpec.scenarios
    index: int
    start: int
    stop: int


@dataclass(frozen=True)
class StudySpec:
    """A validated simulation study (module docstring), from `parse_spec` or `load_spec`.

    ``methods`` are the classical methods, ``bayes`` the exact Bayesian ones,
    ``all_methods`` both in order; ``scenarios`` is the expanded grid; ``source`` names the
    file (not part of equality or the fingerprint).

    Examples:
        >>> from bayesmeta.simulate import parse_spec
        >>> spec = parse_spec({
        ...     "study": {"name": "d", "seed": 1, "replicates": 100, "methods": ["FE", "PM-HKSJ"]},
        ...     "scenarios": [{"name": "g", "k": [3, 10], "mu": 0.0, "tau": [0.0, 0.5],
        ...                    "se": {"dist": "uniform", "low": 0.1, "high": 0.5}}]})
        >>> spec.all_methods, len(spec.scenarios), len(spec.chunks()), spec.level
        (('FE', 'PM-HKSJ'), 4, 4, 0.95)
    """

    name: str
    seed: int
    level: float
    chunk_size: int
    methods: tuple[str, ...]
    bayes: tuple[BayesMethod, ...]
    truth_mu_prior: str | None
    truth_tau_prior: str | None
    scenarios: tuple[Scenario, ...]
    source: str = field(default="<spec>", compare=False)
    #: what the effects and widths are measured in (figure axes; not in the fingerprint)
    units: str = field(default="", compare=False)

    @property
    def all_methods(self) -> tuple[str, ...]:
        return self.methods + tuple(b.name for b in self.bayes)

    def chunks(self) -> list[Chunk]:
        """Tasks: consecutive replicate ranges of ``chunk_size`` within each scenario."""
        out = []
        for i, sc in enumerate(self.scenarios):
            for j, start in enumerate(range(0, sc.replicates, self.chunk_size)):
                out.append(Chunk(i, j, start, min(start + self.chunk_size, sc.replicates)))
        return out

    def fingerprint(self) -> str:
        """SHA-256 of everything that determines the replicate results (not chunk_size)."""
        d = asdict(self)
        d.pop("source")
        d.pop("chunk_size")
        d.pop("units")
        return hashlib.sha256(json.dumps(d, sort_keys=True, default=str).encode()).hexdigest()


class _Reader(TomlReader):
    """Typed access to the simulation spec's tables (`bayesmeta._toml.TomlReader`)."""

    def integer(self, v: Any, key: str, minimum: int, maximum: int | None = None) -> int:
        if isinstance(v, bool) or not isinstance(v, int) or v < minimum:
            raise self.fail(key, f"must be an integer >= {minimum}, got {v!r}")
        if maximum is not None and v > maximum:
            raise self.fail(key, f"must be at most {maximum:,} (the limit), got {v:,}")
        return int(v)

    def number(self, v: Any, key: str, positive: bool = False) -> float:
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            raise self.fail(key, f"must be a finite number, got {v!r}")
        if positive and v <= 0:
            raise self.fail(key, f"must be > 0, got {v!r}")
        return float(v)

    def string(self, v: Any, key: str) -> str:
        if not isinstance(v, str) or not v.strip():
            raise self.fail(key, f"must be a non-empty string, got {v!r}")
        return v

    def numbers(self, v: Any, key: str, minimum: float | None = None) -> list[float]:
        vals = v if isinstance(v, list) else [v]
        if not vals:
            raise self.fail(key, "must not be empty")
        out = [self.number(x, key) for x in vals]
        if minimum is not None and min(out) < minimum:
            raise self.fail(key, f"values must be >= {minimum:g}, got {min(out):g}")
        return out

    def prior(self, v: Any, key: str, kind: Kind, proper: bool = False) -> str:
        text = self.string(v, key)
        try:
            p = parse_prior(text, kind)
        except InputError as e:
            raise self.fail(key, e.message) from None
        if proper and not p.proper:
            raise self.fail(key, f"truth prior must be proper (got {p.text})")
        return p.text


def _se(r: _Reader, v: Any, key: str) -> SEDist:
    if isinstance(v, list):
        vals = tuple(r.number(x, key, positive=True) for x in v)
        if not vals:
            raise r.fail(key, "must not be empty")
        return SEDist("fixed", values=vals)
    t = r.table(v, key, ("dist", "low", "high"))
    dist = r.string(t["dist"], f"{key}.dist")
    if dist not in SE_DISTS:
        raise r.fail(f"{key}.dist", f"unknown distribution {dist!r} (valid: {', '.join(SE_DISTS)})")
    lo = r.number(t["low"], f"{key}.low", positive=True)
    hi = r.number(t["high"], f"{key}.high", positive=True)
    if hi < lo:
        raise r.fail(f"{key}.high", f"must be >= low ({lo:g}), got {hi:g}")
    return SEDist(dist, lo, hi)


def _grid(r: _Reader, v: Any, key: str, minimum: float) -> list[float | None]:
    if v == PRIOR:
        return [None]
    return list(r.numbers(v, key, minimum))


def parse_spec(doc: Mapping[str, Any], source: str = "<spec>") -> StudySpec:
    """Validate a spec already read from TOML (a dict; layout in the module docstring).

    Defaults: level 0.95, bayes_replicates = replicates, chunk_size 100, tau_unit "abs".
    Each scenario table expands to one `Scenario` per (k, mu, tau).

    Args:
        doc: the parsed TOML document.
        source: the file name used in error messages. Default ``"<spec>"``.

    Raises:
        InputError: an unknown, missing or mistyped key, naming the key.

    Examples:
        >>> from bayesmeta.simulate import parse_spec
        >>> doc = {"study": {"name": "d", "seed": 1, "replicates": 10, "methods": ["FE"]},
        ...        "scenarios": [{"name": "g", "k": [2, 4], "mu": [0.0, 0.5], "tau": 0.0,
        ...                       "se": [0.2, 0.2]}]}
        >>> parse_spec(doc)
        Traceback (most recent call last):
        ...
        bayesmeta.errors.InputError: <spec>: key 'scenarios[0].se': a fixed SE list has 2 ...
        >>> doc["scenarios"][0]["k"] = 2
        >>> [sc.id for sc in parse_spec(doc).scenarios]
        ['g|k=2|mu=0|tau=0|se=[0.2,0.2]', 'g|k=2|mu=0.5|tau=0|se=[0.2,0.2]']
    """
    r = _Reader(source)
    r.table(doc, "", ("study", "scenarios"), ("bayes", "truth_prior"))
    st = r.table(
        doc["study"],
        "study",
        ("name", "seed", "replicates", "methods"),
        ("level", "bayes_replicates", "chunk_size", "units"),
    )
    name = r.string(st["name"], "study.name")
    units = r.string(st["units"], "study.units") if "units" in st else ""
    seed = r.integer(st["seed"], "study.seed", 0)
    reps = r.integer(st["replicates"], "study.replicates", 1, MAX_REPLICATES)
    breps = r.integer(st.get("bayes_replicates", reps), "study.bayes_replicates", 0, MAX_REPLICATES)
    chunk = r.integer(st.get("chunk_size", 100), "study.chunk_size", 1, MAX_REPLICATES)
    level = r.number(st.get("level", 0.95), "study.level")
    if not 0 < level < 1:
        raise r.fail("study.level", f"must be between 0 and 1, got {level:g}")
    if not isinstance(st["methods"], list):
        raise r.fail("study.methods", "must be a list of method names")
    methods = []
    for i, m in enumerate(st["methods"]):
        if m not in CLASSICAL:
            raise r.fail(
                f"study.methods[{i}]", f"unknown method {m!r} (valid: {', '.join(CLASSICAL)})"
            )
        methods.append(m)
    bayes: list[BayesMethod] = []
    raw_bayes = doc.get("bayes", [])
    if not isinstance(raw_bayes, list):
        raise r.fail("bayes", "must be an array of tables ([[bayes]])")
    for i, b in enumerate(raw_bayes):
        key = f"bayes[{i}]"
        t = r.table(b, key, ("name", "tau_prior", "mu_prior"))
        bname = r.string(t["name"], f"{key}.name")
        if bname in CLASSICAL or bname in [x.name for x in bayes]:
            raise r.fail(f"{key}.name", f"duplicate method name {bname!r}")
        bayes.append(
            BayesMethod(
                bname,
                r.prior(t["tau_prior"], f"{key}.tau_prior", "tau"),
                r.prior(t["mu_prior"], f"{key}.mu_prior", "mu"),
            )
        )
    if not methods and not bayes:
        raise r.fail("study.methods", "no methods: list classical methods or add [[bayes]]")
    tmu = ttau = None
    if "truth_prior" in doc:
        tp = r.table(doc["truth_prior"], "truth_prior", ("mu", "tau"))
        tmu = r.prior(tp["mu"], "truth_prior.mu", "mu", proper=True)
        ttau = r.prior(tp["tau"], "truth_prior.tau", "tau", proper=True)
    if not isinstance(doc["scenarios"], list) or not doc["scenarios"]:
        raise r.fail("scenarios", "must be a non-empty array of tables ([[scenarios]])")
    scenarios: list[Scenario] = []
    for i, s in enumerate(doc["scenarios"]):
        key = f"scenarios[{i}]"
        t = r.table(
            s, key, ("name", "k", "mu", "tau", "se"), ("tau_unit", "replicates", "bayes_replicates")
        )
        group = r.string(t["name"], f"{key}.name")
        ks = t["k"] if isinstance(t["k"], list) else [t["k"]]
        if not ks:
            raise r.fail(f"{key}.k", "must not be empty")
        ks = [r.integer(k, f"{key}.k", 2, MAX_K) for k in ks]
        mus = _grid(r, t["mu"], f"{key}.mu", -math.inf)
        taus = _grid(r, t["tau"], f"{key}.tau", 0.0)
        if (mus == [None]) != (taus == [None]):
            raise r.fail(f"{key}.tau", 'mu and tau must both be "prior" or both be numbers')
        if mus == [None] and tmu is None:
            raise r.fail(f"{key}.mu", "truth drawn from the prior needs a [truth_prior] table")
        unit = t.get("tau_unit", "abs")
        if unit not in TAU_UNITS:
            raise r.fail(f"{key}.tau_unit", f"must be one of {', '.join(TAU_UNITS)}, got {unit!r}")
        se = _se(r, t["se"], f"{key}.se")
        if se.dist == "fixed" and any(k != len(se.values) for k in ks):
            raise r.fail(f"{key}.se", f"a fixed SE list has {len(se.values)} values but k = {ks}")
        n = r.integer(t.get("replicates", reps), f"{key}.replicates", 1, MAX_REPLICATES)
        nb = r.integer(
            t.get("bayes_replicates", breps), f"{key}.bayes_replicates", 0, MAX_REPLICATES
        )
        for k in ks:
            for mu in mus:
                for tau in taus:
                    if tau is None:
                        abs_tau, label = None, PRIOR
                    elif unit == "se":
                        abs_tau, label = tau * se.typical, f"{tau:g}se"
                    else:
                        abs_tau, label = tau, f"{tau:g}"
                    sc = Scenario(group, k, mu, abs_tau, label, se, n, min(nb, n))
                    if sc.id in [x.id for x in scenarios]:
                        raise r.fail(key, f"duplicate scenario {sc.id}")
                    scenarios.append(sc)
    total = sum(sc.replicates * sc.k for sc in scenarios)
    if total > MAX_STUDY_DRAWS:
        raise r.fail(
            "scenarios",
            f"{total:,} simulated studies in all (replicates x k summed over scenarios) "
            f"exceed the limit {MAX_STUDY_DRAWS:,}",
        )
    return StudySpec(name, seed, level, chunk, tuple(methods), tuple(bayes), tmu, ttau,
                     tuple(scenarios), source, units)  # fmt: skip


def load_spec(path: str | Path) -> StudySpec:
    """Read and validate a simulation spec file (TOML; InputError naming the file and key).

    Examples:
        >>> from pathlib import Path
        >>> from bayesmeta.simulate import load_spec
        >>> _ = Path("demo.toml").write_text('''
        ... [study]
        ... name = "demo"
        ... seed = 7
        ... replicates = 100
        ... methods = ["FE", "REML-HKSJ"]
        ... [[scenarios]]
        ... name = "grid"
        ... k = [3, 10]
        ... mu = 0.0
        ... tau = [0.0, 0.5]
        ... se = { dist = "uniform", low = 0.1, high = 0.5 }
        ... ''')
        >>> spec = load_spec("demo.toml")
        >>> spec.name, spec.source, [sc.id for sc in spec.scenarios][-1]
        ('demo', 'demo.toml', 'grid|k=10|mu=0|tau=0.5|se=uniform(0.1,0.5)')
    """
    p = Path(path)
    try:
        doc = tomllib.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError("spec file not found", file=str(p)) from None
    except UnicodeDecodeError:
        raise InputError("not UTF-8 text (a TOML spec must be UTF-8)", file=str(p)) from None
    except tomllib.TOMLDecodeError as e:
        raise InputError(f"not valid TOML: {e}", file=str(p)) from None
    return parse_spec(doc, str(p))
