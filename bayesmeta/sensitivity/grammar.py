"""Prior sweeps: one prior family with one parameter varied over a grid.

Grammar (``kind`` "tau" or "mu"; everything `bayesmeta.priors.parse_prior` reads is a
one-prior sweep)::

    family(p1, ..., a..b, ..., n=N)

exactly one numeric parameter may be a range ``a..b`` (a < b); it takes the ``N`` values
``numpy.linspace(a, b, N)`` (linear spacing, both ends included; ``n`` defaults to 10,
``1 <= n <= 1000``). Examples: ``halfnormal(0.1..2, n=20)`` (scale 0.1, 0.2, ..., 2),
``halfcauchy(0.1..2, n=20)``, ``normal(0, 1..10, n=5)`` (mu-prior sd 1, 3.25, ..., 10),
``turner(all-cause-mortality, pharm-vs-placebo)``, ``rhodes``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from bayesmeta.errors import InputError
from bayesmeta.priors import Kind, Prior, parse_prior

DEFAULT_N = 10
MAX_N = 1000
_HEAD = re.compile(r"^\s*([A-Za-z][A-Za-z0-9 _\-]*?)\s*\((.*)\)\s*$")
_RANGE = re.compile(r"^\s*([^.\s][^\s]*?)\s*\.\.\s*([^\s]+)\s*$")
_N = re.compile(r"^\s*n\s*=\s*(.*?)\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class PriorGrid:
    """The priors of one sweep; ``values`` are the swept parameter (nan if none swept).

    ``text`` is the sweep as written, ``family`` the prior family, ``priors`` the expanded
    priors in grid order and ``parameter`` the index of the swept parameter in
    ``Prior.params`` (None for a single prior).

    Examples:
        >>> from bayesmeta.sensitivity.grammar import parse_sweep
        >>> grid = parse_sweep("halfcauchy(0.5..2, n=4)", "tau")
        >>> grid.family, grid.values, grid.parameter
        ('halfcauchy', (0.5, 1.0, 1.5, 2.0), 0)
    """

    text: str
    family: str
    priors: tuple[Prior, ...]
    values: tuple[float, ...]
    parameter: int | None  # index of the swept parameter in Prior.params


def _fail(kind: Kind, text: str, reason: str) -> InputError:
    return InputError(
        f"invalid {kind} prior sweep {text!r}: {reason}; write e.g. 'halfnormal(0.1..2, n=20)'"
        if kind == "tau"
        else f"invalid {kind} prior sweep {text!r}: {reason}; write e.g. 'normal(0, 1..10, n=5)'"
    )


def _number(s: str, kind: Kind, text: str) -> float:
    try:
        v = float(s)
    except ValueError:
        raise _fail(kind, text, f"{s.strip()!r} is not a number") from None
    if not math.isfinite(v):
        raise _fail(kind, text, "range ends must be finite")
    return v


def parse_sweep(text: str | Prior, kind: Kind) -> PriorGrid:
    """Expand a sweep string (grammar in the module docstring) into its priors.

    A `Prior` or a string without a range ``a..b`` is a one-prior grid (``values`` (nan,)).
    The range takes ``numpy.linspace(a, b, n)`` values (``n`` defaults to 10), rounded to 12
    significant digits.

    Args:
        text: the sweep, e.g. ``"halfnormal(0.1..2, n=20)"``, or a `Prior`.
        kind: ``"tau"`` or ``"mu"``: which parameter the priors are for.

    Returns:
        The `PriorGrid` of the sweep.

    Raises:
        InputError: unreadable text, more than one range, lower >= upper, bad ``n``, or a
            grid value the family does not accept.

    Examples:
        >>> from bayesmeta.sensitivity.grammar import parse_sweep
        >>> [p.text for p in parse_sweep("normal(0, 1..10, n=3)", "mu").priors]
        ['normal(0, 1)', 'normal(0, 5.5)', 'normal(0, 10)']
        >>> parse_sweep("turner", "tau").values
        (nan,)
    """
    if isinstance(text, Prior):
        p = parse_prior(text, kind)
        return PriorGrid(p.text, p.family, (p,), (math.nan,), None)
    if not isinstance(text, str):
        raise _fail(kind, str(text), "a prior sweep must be text")
    if ".." not in text and not re.search(r"\bn\s*=", text):
        p = parse_prior(text, kind)
        return PriorGrid(p.text, p.family, (p,), (math.nan,), None)
    m = _HEAD.match(text)
    if not m:
        raise _fail(kind, text, "cannot read it")
    args = [a.strip() for a in m.group(2).split(",")]
    n = None
    if args and (nm := _N.match(args[-1])):
        raw = nm.group(1)
        try:
            n = int(raw)
        except ValueError:
            raise _fail(kind, text, f"n must be a whole number (got {raw!r})") from None
        if not 1 <= n <= MAX_N:
            raise _fail(kind, text, f"n must be between 1 and {MAX_N} (got {n})")
        args = args[:-1]
    if any(_N.match(a) for a in args):
        raise _fail(kind, text, "n=... must come last")
    ranged = [i for i, a in enumerate(args) if ".." in a]
    if not ranged:
        raise _fail(kind, text, "n= given but no parameter range a..b")
    if len(ranged) > 1:
        raise _fail(kind, text, "only one parameter may be a range a..b")
    j = ranged[0]
    rm = _RANGE.match(args[j])
    if not rm:
        raise _fail(kind, text, f"cannot read the range {args[j]!r} (write a..b)")
    a, b = _number(rm.group(1), kind, text), _number(rm.group(2), kind, text)
    if not a < b:
        raise _fail(kind, text, f"range {args[j]} must have lower < upper")
    # 12 significant digits: 0.1..2 gives 0.2, not 0.20000000000000001
    grid = [float(f"{v:.12g}") for v in np.linspace(a, b, DEFAULT_N if n is None else n)]
    priors = []
    for v in grid:
        one = list(args)
        one[j] = repr(v)
        try:
            priors.append(parse_prior(f"{m.group(1)}({', '.join(one)})", kind))
        except InputError as err:
            raise _fail(kind, text, f"at {v:g}: {err.message.split(';')[0]}") from None
    return PriorGrid(text.strip(), priors[0].family, tuple(priors), tuple(grid), j)


def expand(texts: str | Prior | Sequence[str | Prior], kind: Kind) -> list[PriorGrid]:
    """Parse one sweep or a list of sweeps (`parse_sweep` on each); InputError if empty.

    Examples:
        >>> from bayesmeta.sensitivity.grammar import expand
        >>> [(g.text, len(g.priors)) for g in expand(["halfnormal(1..2, n=3)", "rhodes"], "tau")]
        [('halfnormal(1..2, n=3)', 3), ('rhodes', 1)]
    """
    if isinstance(texts, (str, Prior)):
        texts = [texts]
    grids = [parse_sweep(t, kind) for t in texts]
    if not grids:
        raise InputError(f"no {kind} priors to sweep")
    return grids
