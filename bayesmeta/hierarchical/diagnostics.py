"""Sampling diagnostics after every fit, and warnings that name the problem and the remedy.

* rank-normalised split R-hat (Vehtari et al. 2021, Bayesian Analysis 16:667): warn if > 1.01;
* bulk and tail effective sample size: warn if < 100 per chain (ibid., section 4);
* divergent transitions after warm-up (Betancourt 2017, arXiv:1701.02434): warn if any;
* E-BFMI = sum_t (E_t - E_{t-1})^2 / sum_t (E_t - mean E)^2 per chain (Betancourt 2016,
  arXiv:1604.00695): warn if < 0.3;
* trajectories that hit the maximum tree depth: warn if any (efficiency, not validity).

R-hat and ESS are computed here for every scalar parameter at once (NumPy/SciPy, equal to
ArviZ's ``arviz_stats`` per variable to 1e-12); tail ESS is the smaller ESS of the indicators
of the 5 % and 95 % quantiles, as in Vehtari et al. (2021) and R's ``posterior::ess_tail``.
E-BFMI comes from ArviZ. Parameters (scalars) that are constant across draws (R-hat undefined) are
skipped.
"""

from __future__ import annotations

import math
import os
import warnings
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import arviz as az
import numpy as np
import scipy.fft
import xarray as xr
from scipy.special import ndtri

RHAT_MAX = 1.01
ESS_PER_CHAIN = 100
BFMI_MIN = 0.3
TAIL_PROBS = (0.05, 0.95)
#: doubles per block of work (1 MB), so that a block's arrays stay in the CPU cache
_CACHE_DOUBLES = 1 << 17


class SamplingWarning(UserWarning):
    """MCMC diagnostics suggest the draws do not represent the posterior well.

    A `UserWarning`, so the standard ``warnings`` filters control it.

    Examples:
        >>> import warnings
        >>> from bayesmeta.hierarchical import SamplingWarning
        >>> with warnings.catch_warnings():
        ...     warnings.simplefilter("ignore", SamplingWarning)  # silence only these
        ...     warnings.warn("R-hat 1.05 > 1.01 for mu", SamplingWarning)
        >>> issubclass(SamplingWarning, UserWarning)
        True
    """


def _stacked(ds: xr.Dataset) -> tuple[np.ndarray, list[tuple[str, int]]]:
    """Every scalar of every variable as rows of one (n, chain, draw) array, variable by
    variable in order, elements in C order; and each variable's (name, first row)."""
    rows, starts, at = [], [], 0
    for name, da in ds.data_vars.items():
        other = [d for d in da.dims if d not in ("chain", "draw")]
        arr = np.asarray(da.transpose(*other, "chain", "draw").values, dtype=float)
        rows.append(arr.reshape(-1, *arr.shape[-2:]))
        starts.append((str(name), at))
        at += rows[-1].shape[0]
    return np.concatenate(rows) if rows else np.empty((0, 1, 1)), starts


def _scalar_name(ds: xr.Dataset, starts: list[tuple[str, int]], row: int) -> str:
    """The name of row ``row`` of `_stacked`: 'name' or 'name[label, ...]'."""
    name, first = next((n, f) for n, f in reversed(starts) if f <= row)
    da = ds[name]
    other = [d for d in da.dims if d not in ("chain", "draw")]
    idx = np.unravel_index(row - first, [da.sizes[d] for d in other]) if other else ()
    labels = [str(da[d].values[i]) if d in da.coords else str(i)
              for d, i in zip(other, idx, strict=True)]  # fmt: skip
    return f"{name}[{', '.join(labels)}]" if labels else name


# Rank-normalised split R-hat and bulk / tail ESS (Vehtari, Gelman, Simpson, Carpenter &
# Buerkner 2021, Bayesian Analysis 16:667-718) for every row of an (n, chain, draw) array at
# once; each step mirrors arviz_stats.base.diagnostics so the values agree with ArviZ.


def _split_chains(x: np.ndarray) -> np.ndarray:
    """(n, chain, draw) -> (n, 2 chain, draw // 2): first halves, then last halves."""
    half = x.shape[-1] // 2
    return np.concatenate((x[..., :half], x[..., -half:]), axis=1)


def _sorted_rows(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each row of (n, ...) pooled and sorted: (order, ordered), as ``np.argsort``."""
    flat = x.reshape(x.shape[0], -1)
    order = np.argsort(flat, axis=1)
    return order, np.take_along_axis(flat, order, axis=1)


def _scores(order: np.ndarray, ordered: np.ndarray) -> np.ndarray:
    """Normal scores ndtri((r - 3/8) / (N + 1/4)) of a row's values given its sort (``order``,
    ``ordered``), ties given their average rank r (Blom 1958; scipy's
    ``rankdata(method="average")``), in the row's original order, shape (n, N)."""
    n, size = ordered.shape
    starts = np.ones((n, size), dtype=bool)
    starts[:, 1:] = ordered[:, 1:] != ordered[:, :-1]  # a row's first value starts a run
    # the scores of all half-integer ranks 1, 1.5, ..., N (index: twice the rank, minus 2)
    scores = ndtri((np.arange(1, 2 * size) / 2.0 + 0.5 - 0.375) / (size + 0.25))
    z = np.empty((n, size))
    if starts.all():  # no ties: rank = position in the sorted row
        np.put_along_axis(z, order, np.broadcast_to(scores[::2], (n, size)), axis=1)
        return z
    by_rank = np.tile(scores[::2], (n, 1)).ravel()  # as if no ties, then the tied runs
    repeats = np.flatnonzero(~starts.ravel())  # values equal to the one before them
    new_run = np.ones(repeats.size, dtype=bool)
    new_run[1:] = repeats[1:] != repeats[:-1] + 1
    first = repeats[new_run] - 1  # each tied run's first position (runs never span rows)
    length = np.diff(np.append(np.flatnonzero(new_run), repeats.size)) + 1
    offset = np.arange(length.sum()) - np.repeat(np.cumsum(length) - length, length)
    by_rank[np.repeat(first, length) + offset] = np.repeat(
        scores[2 * (first % size) + length - 1], length
    )
    np.put_along_axis(z, order, by_rank.reshape(n, size), axis=1)
    return z


def _z_scale(x: np.ndarray) -> np.ndarray:
    """Normal scores of the pooled ranks of each row of (n, ...) (`_scores`), shape of x."""
    return _scores(*_sorted_rows(x)).reshape(x.shape)


def _rhat_rows(x: np.ndarray) -> np.ndarray:
    """Gelman-Rubin R-hat of each row: sqrt((B / W + d - 1) / d)."""
    d = x.shape[-1]
    between = d * np.var(np.mean(x, axis=2), axis=1, ddof=1)
    within = np.mean(np.var(x, axis=2, ddof=1), axis=1)
    return np.asarray(np.sqrt((between / within + d - 1) / d))


def _mean_autocov(x: np.ndarray, chain_means: np.ndarray) -> np.ndarray:
    """Chain-averaged autocovariance (n, lag) of (n, chain, draw), lags 0..draw-1, by FFT in
    blocks of rows small enough to stay in the CPU cache (several times faster than one
    transform of every row)."""
    n, m, d = x.shape
    fft_len = scipy.fft.next_fast_len(2 * d)
    step = max(1, _CACHE_DOUBLES // (m * fft_len))
    out = np.empty((n, d))
    padded = np.zeros((min(step, n), m, fft_len))
    for i in range(0, n, step):
        block = padded[: min(step, n - i)]
        np.subtract(x[i : i + step], chain_means[i : i + step, :, None], out=block[..., :d])
        spec = scipy.fft.rfft(block, axis=2)
        power = (spec.real**2 + spec.imag**2).mean(axis=1)
        out[i : i + step] = scipy.fft.irfft(power, n=fft_len, axis=1)[:, :d]
    return out / d


def _ess_rows(x: np.ndarray) -> np.ndarray:
    """ESS of each row of (n, chain, draw): Geyer's initial positive and monotone sequences
    on the chain-averaged FFT autocovariance (Vehtari et al. 2021, section 3.2).

    The autocovariance of chain c is irfft(|rfft(x_c - mean)|^2) of the zero-padded chain;
    by linearity the chain average is one inverse transform of the averaged power spectra.
    """
    x = np.asarray(x, dtype=float)
    n, m, d = x.shape
    size = m * d
    chain_means = x.mean(axis=2)
    mean_acov = _mean_autocov(x, chain_means)  # (n, lag)
    mean_var = mean_acov[:, 0] * d / (d - 1.0)
    var_plus = mean_var * (d - 1.0) / d
    if m > 1:
        var_plus = var_plus + np.var(chain_means, axis=1, ddof=1)
    rho_all = 1.0 - (mean_var[:, None] - mean_acov) / var_plus[:, None]
    rho = np.zeros((n, d))
    rho[:, 0] = 1.0
    rho[:, 1] = rho_all[:, 1]
    even, odd = np.ones(n), rho_all[:, 1].copy()
    last = np.ones(n, dtype=int)  # the t at which each row's positive sequence stopped
    active = np.ones(n, dtype=bool)
    t = 1
    while True:
        active &= (t < d - 3) & (even + odd > 0.0)
        if not active.any():
            break
        even = np.where(active, rho_all[:, t + 1], even)
        odd = np.where(active, rho_all[:, t + 2], odd)
        keep = active & (even + odd >= 0.0)
        rho[keep, t + 1] = even[keep]
        rho[keep, t + 2] = odd[keep]
        last[active] = t + 2
        t += 2
    max_t = last - 2
    rows = np.arange(n)
    pos = even > 0.0
    rho[rows[pos], max_t[pos] + 1] = even[pos]
    t = 1
    while t <= int(max_t.max()) - 2:  # monotone: pairs never increase
        sel = (t <= max_t - 2) & (rho[:, t + 1] + rho[:, t + 2] > rho[:, t - 1] + rho[:, t])
        mid = (rho[sel, t - 1] + rho[sel, t]) / 2.0
        rho[sel, t + 1] = mid
        rho[sel, t + 2] = mid
        t += 2
    lag = np.arange(d)
    pairs = np.where(lag <= max_t[:, None], rho, 0.0).sum(axis=1)
    last_even = np.where(max_t + 1 < d, rho[rows, np.minimum(max_t + 1, d - 1)], 0.0)
    tau = -1.0 + 2.0 * pairs + last_even
    out = size / np.maximum(tau, 1.0 / np.log10(size))
    out[np.isnan(rho).any(axis=1)] = np.nan
    flat = x.reshape(n, -1)
    out[(flat.max(axis=1) - flat.min(axis=1)) < np.finfo(float).resolution] = size
    return out


def _block_statistics(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rank-normalised R-hat, bulk ESS and tail ESS of each row of (n, chain, draw).

    R-hat is the larger of the split R-hats of the normal scores of the pooled ranks (bulk)
    and of the ranks of |x - median| (folded); bulk ESS is the ESS of the bulk scores, tail
    ESS the smaller ESS of the split indicators x <= q_p, p in `TAIL_PROBS`. One sort per
    row serves all of them: the median and quantiles are read from the sorted row, and the
    folded values of the sorted row form two monotone runs, which a stable (merging) sort
    orders in linear time.
    """
    n = x.shape[0]
    split = _split_chains(x)
    order, ordered = _sorted_rows(split)
    z_bulk = _scores(order, ordered).reshape(split.shape)
    median = np.median(ordered, axis=1)
    folded = np.abs(ordered - median[:, None])
    f_order = np.argsort(folded, axis=1, kind="stable")
    z_fold = _scores(
        np.take_along_axis(order, f_order, axis=1), np.take_along_axis(folded, f_order, axis=1)
    ).reshape(split.shape)
    bulk_rhat, fold_rhat = _rhat_rows(z_bulk), _rhat_rows(z_fold)
    rhat = np.where(fold_rhat > bulk_rhat, fold_rhat, bulk_rhat)
    # the split rows hold every draw when the draw count is even (odd: the middle one is out)
    pooled = ordered if x.shape[2] % 2 == 0 else x.reshape(n, -1)
    q = np.quantile(pooled, TAIL_PROBS, axis=1)  # (2, n)
    below = [_split_chains(x <= qp[:, None, None]) for qp in q]
    ess = _ess_rows(np.concatenate([z_bulk, *below]))
    tail = np.where(ess[2 * n :] < ess[n : 2 * n], ess[2 * n :], ess[n : 2 * n])
    return rhat, ess[:n], tail


def _invalid(x: np.ndarray, min_chains: int) -> np.ndarray:
    """Rows ArviZ returns NaN for: any NaN, fewer than 4 draws or too few chains."""
    bad = np.isnan(x).any(axis=(1, 2))
    if x.shape[1] < min_chains or x.shape[2] < 4:
        bad[:] = True
    return bad


def _rank_statistics(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rank-normalised R-hat, bulk ESS and tail ESS of every row of (n, chain, draw), NaN
    where ArviZ gives NaN. Rows are independent, so blocks of them run in threads (NumPy's
    sorts and FFTs release the GIL)."""

    if x.shape[0] == 0 or x.shape[2] < 4:
        nan = np.full(x.shape[0], np.nan)
        return nan, nan.copy(), nan.copy()
    workers = min(os.cpu_count() or 1, 4, max(1, x.shape[0] // 16))
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        if workers > 1:
            with ThreadPoolExecutor(workers) as pool:
                parts = list(pool.map(_block_statistics, np.array_split(x, workers)))
        else:
            parts = [_block_statistics(x)]
    rhat, bulk, tail = (np.concatenate([p[i] for p in parts]) for i in range(3))
    rhat[_invalid(x, 2)] = np.nan
    bulk[_invalid(x, 1)] = np.nan
    tail[_invalid(x, 1)] = np.nan
    return rhat, bulk, tail


def _pick(vals: np.ndarray, worst: str) -> tuple[float, int]:
    """The worst value (``max`` or ``min``, the first in row order) and its row; -1 if none."""
    if vals.size == 0 or np.all(np.isnan(vals)):
        return math.nan, -1
    i = int(np.nanargmax(vals) if worst == "max" else np.nanargmin(vals))
    return float(vals[i]), i


class Diagnostics(dict[str, Any]):
    """The dict `diagnose` returns; it prints as one readable line.

    Examples:
        >>> from bayesmeta.hierarchical.diagnostics import Diagnostics
        >>> Diagnostics({"max_rhat": 1.00412, "divergences": 0, "chains": 4, "draws": 1000})
        R-hat max 1.004; 0 divergences; 4 chains x 1000 draws
    """

    def __repr__(self) -> str:
        from bayesmeta.summary_text import diagnostics_line

        return diagnostics_line(self)

    __str__ = __repr__


def diagnose(idata: Any) -> Diagnostics:
    """max R-hat, min bulk/tail ESS (and where), divergences, min E-BFMI, tree-depth hits.

    ``idata`` is a DataTree (or ArviZ tree) with ``posterior`` and ``sample_stats`` groups;
    constant variables are skipped. Returns a dict with ``max_rhat``, ``min_ess_bulk``,
    ``min_ess_tail``, ``divergences``, ``min_bfmi``, ``treedepth_hits``, ``chains``,
    ``draws`` and the parameters where the extremes occur (``max_rhat_param``, ...).

    Examples:
        Four chains of independent draws, one of them shifted by 3, with three divergences:

        >>> import arviz as az
        >>> import numpy as np
        >>> from bayesmeta.hierarchical import diagnose
        >>> rng = np.random.default_rng(0)
        >>> post = {"mu": rng.normal(size=(4, 200)), "tau": np.abs(rng.normal(size=(4, 200)))}
        >>> post["mu"][0] += 3.0
        >>> stats = {"diverging": np.arange(800).reshape(4, 200) < 3,
        ...          "energy": rng.normal(size=(4, 200))}
        >>> diag = diagnose(az.from_dict({"posterior": post, "sample_stats": stats}))
        >>> print(f"{diag['max_rhat']:.2f}", diag["max_rhat_param"], diag["divergences"])
        1.48 mu 3
    """
    return diagnose_groups(idata["posterior"].to_dataset(), idata["sample_stats"].to_dataset())


def diagnose_groups(posterior: xr.Dataset, sample_stats: xr.Dataset) -> Diagnostics:
    """`diagnose` of a ``posterior`` and a ``sample_stats`` Dataset (no tree needed).

    Examples:
        >>> import numpy as np
        >>> import xarray as xr
        >>> from bayesmeta.hierarchical.diagnostics import diagnose_groups
        >>> rng = np.random.default_rng(1)
        >>> post = xr.Dataset({"mu": (("chain", "draw"), rng.normal(size=(4, 500)))})
        >>> stats = xr.Dataset({"diverging": (("chain", "draw"), np.zeros((4, 500), bool))})
        >>> diag = diagnose_groups(post, stats)
        >>> bool(diag["max_rhat"] < 1.01), diag["divergences"]
        (True, 0)
    """
    post = posterior
    stats = sample_stats
    chains, draws = int(post.sizes["chain"]), int(post.sizes["draw"])
    arr, starts = _stacked(post)  # every scalar at once, not one call per variable
    flat = arr.reshape(arr.shape[0], -1)
    varying = np.flatnonzero(flat.max(axis=1) > flat.min(axis=1))  # constants: no R-hat
    rhat_v, bulk_v, tail_v = _rank_statistics(arr[varying])

    def name(i: int) -> str:
        return "" if i < 0 else _scalar_name(post, starts, int(varying[i]))

    rhat, rhat_at = _pick(rhat_v, "max")
    bulk, bulk_at = _pick(bulk_v, "min")
    tail, tail_at = _pick(tail_v, "min")
    div = int(stats["diverging"].sum()) if "diverging" in stats else 0
    depth_name = next(
        (n for n in ("maxdepth_reached", "reached_max_treedepth") if n in stats), None
    )
    depth = int(stats[depth_name].sum()) if depth_name else 0
    bfmi = math.nan
    if "energy" in stats:
        bfmi = float(az.bfmi(stats[["energy"]], group=None)["energy"].min())
    return Diagnostics(
        {
            "max_rhat": rhat,
            "min_ess_bulk": bulk,
            "min_ess_tail": tail,
            "divergences": div,
            "min_bfmi": bfmi,
            "treedepth_hits": depth,
            "chains": chains,
            "draws": draws,
            "max_rhat_param": name(rhat_at),
            "min_ess_bulk_param": name(bulk_at),
            "min_ess_tail_param": name(tail_at),
        }
    )


def diagnostic_warnings(
    diag: dict[str, Any], *, centred: bool, target_accept: float, draws: int, tune: int
) -> list[str]:
    """One message per failed check, each naming the problem and what to do.

    ``diag`` is the output of `diagnose()`; thresholds: R-hat > 1.01, bulk or tail ESS
    < 100 per chain, any divergence, E-BFMI < 0.3, any tree-depth hit. The non-centred
    form suits weakly informative studies (sei large relative to tau); the centred form
    suits precise ones (Papaspiliopoulos, Roberts & Skold 2007, Stat Sci
    22:59-73; Betancourt & Girolami 2015), so the remedy depends on the parameterisation.

    Examples:
        >>> from bayesmeta.hierarchical import diagnostic_warnings
        >>> diag = {"chains": 4, "draws": 1000, "divergences": 12, "max_rhat": 1.002,
        ...         "min_ess_bulk": 1500.0, "min_ess_tail": 1200.0, "min_bfmi": 0.8,
        ...         "treedepth_hits": 0}
        >>> msgs = diagnostic_warnings(diag, centred=True, target_accept=0.9, draws=1000,
        ...                            tune=1000)
        >>> print(msgs[0])
        12 divergent transitions after warm-up (0.3% of draws): the posterior may be biased
        (funnel between tau and the study effects); raise target_accept (now 0.9; try 0.95
        or 0.99) or use the non-centred parameterisation (centred=False)
    """
    out = []
    n = diag["chains"] * diag["draws"]
    if diag["divergences"] > 0:
        fix = f"raise target_accept (now {target_accept:g}; try 0.95 or 0.99)"
        fix += (
            " or use the non-centred parameterisation (centred=False)"
            if centred
            else (
                ", or, if the studies are precise relative to tau (sei << tau), the centred "
                "parameterisation (centred=True); or a more informative tau prior"
            )
        )
        out.append(
            f"{diag['divergences']} divergent transitions after warm-up "
            f"({100 * diag['divergences'] / n:.1f}% of draws): the posterior may be biased "
            f"(funnel between tau and the study effects); {fix}"
        )
    if diag["max_rhat"] > RHAT_MAX:
        fix = (
            "reparametrise (centred=False)"
            if centred
            else "reparametrise (centred=True if sei << tau) or check the priors"
        )
        out.append(
            f"R-hat {diag['max_rhat']:.3f} > {RHAT_MAX} for {diag['max_rhat_param']}: "
            f"the chains disagree; run longer (more draws and tune, e.g. draws="
            f"{2 * draws}, tune={2 * tune}) or {fix}"
        )
    ess_min = ESS_PER_CHAIN * diag["chains"]
    for kind in ("bulk", "tail"):
        v = diag[f"min_ess_{kind}"]
        if v < ess_min:
            out.append(
                f"{kind} ESS {v:.0f} < {ess_min} ({ESS_PER_CHAIN} per chain) for "
                f"{diag[f'min_ess_{kind}_param']}: {kind} summaries (intervals, "
                f"{'means and medians' if kind == 'bulk' else 'tail quantiles'}) are "
                f"imprecise; increase draws (e.g. draws={2 * draws})"
            )
    if diag["min_bfmi"] < BFMI_MIN:
        fix = "use the non-centred parameterisation (centred=False), " if centred else ""
        out.append(
            f"E-BFMI {diag['min_bfmi']:.2f} < {BFMI_MIN}: the sampler explores the "
            f"energy distribution poorly (heavy tails or a funnel); {fix}increase tune "
            f"(e.g. tune={2 * tune}) or use a more informative tau prior"
        )
    if diag["treedepth_hits"] > 0:
        out.append(
            f"{diag['treedepth_hits']} transitions hit the maximum tree depth: sampling "
            f"is inefficient; reparametrise or raise max_treedepth"
        )
    return out


def warn_all(messages: list[str]) -> None:
    """Issue each message as a `SamplingWarning`.

    Examples:
        >>> import warnings
        >>> from bayesmeta.hierarchical.diagnostics import SamplingWarning, warn_all
        >>> with warnings.catch_warnings(record=True) as caught:
        ...     warnings.simplefilter("always")
        ...     warn_all(["R-hat 1.05 > 1.01 for mu", "2 divergent transitions"])
        >>> [(w.category.__name__, str(w.message)) for w in caught]
        [('SamplingWarning', 'R-hat 1.05 > 1.01 for mu'),
         ('SamplingWarning', '2 divergent transitions')]
    """
    for m in messages:
        warnings.warn(m, SamplingWarning, stacklevel=3)
